"""Observing the running pipeline: one status report across every service."""
