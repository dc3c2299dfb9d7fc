"""PostgreSQL: connection handling and batch writes (the lead's schema.py applies sql/)."""
