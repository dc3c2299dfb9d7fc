"""`binance-cdc status [--json]`: every service, the CDC path, the stream and the data, on one screen."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from binance_cdc.datasets import DATASETS
from binance_cdc.observe.report import CassandraSection, StatusReport
from binance_cdc.observe.status import collect_status
from binance_cdc.settings import Settings

LIVE_ROWS = 20

def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="services, connector, slot lag, topic offsets vs the stream, last "
        "micro-batch, Cassandra row counts, last extraction runs (exit 1 if a part is down)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    report = collect_status(settings)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 1 if report.errors else 0


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "K", "M"):
        if value < 1024:
            return f"{value:.0f}{unit}"
        value /= 1024
    return f"{value:.1f}G"


def _ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "?"
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    seconds = (now - when).total_seconds()
    age = f"{seconds:.0f}s" if seconds < 120 else (
        f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h")
    return f"{when.strftime('%H:%M:%S')} ({age} ago)"


def _down(error: str) -> list[str]:
    return [f"  DOWN/UNKNOWN: {error}"]


def _services(report: StatusReport) -> list[str]:
    section = report.services
    if section.error:
        return _down(section.error)
    return [f"  {s.name:<10} {s.state:<10} pid {s.pid or '-':<7} ports "
            f"{','.join(map(str, s.ports)):<15} {_size(s.rss_bytes):>5}  {s.detail}"
            for s in section.services]


def _cdc(report: StatusReport) -> list[str]:
    cdc = report.cdc
    lines = []
    if cdc.error:
        lines += _down(cdc.error)
    elif cdc.state is None:
        lines.append(f"  connector {cdc.connector}: not registered (`binance-cdc connector apply`)")
    else:
        tasks = ", ".join(f"task {t['id']} {t['state']}" for t in cdc.tasks) or "no tasks"
        lines.append(f"  connector {cdc.connector}: {cdc.state} on {cdc.worker_id} ({tasks})")
        if cdc.likely_cause:
            lines.append(f"    likely cause: {cdc.likely_cause}")
    if cdc.slot_error:
        lines.append(f"  slot {cdc.slot_name}: unknown ({cdc.slot_error})")
    elif cdc.slot is None:
        lines.append(f"  slot {cdc.slot_name}: does not exist yet")
    else:
        slot = cdc.slot
        lines.append(f"  slot {cdc.slot_name}: {'active' if slot['active'] else 'INACTIVE'}, lag "
                     f"{_size(slot['lag_bytes'])}, confirmed {slot['confirmed_flush_lsn']}, "
                     f"wal {slot['wal_status']}" + ("  WARNING: lag above threshold"
                                                    if cdc.slot_lag_warning else ""))
    if cdc.slot_risk:
        lines.append(f"  {'ERROR' if cdc.slot_lost else 'WARNING'}: {cdc.slot_risk}")
    return lines


def _topics(report: StatusReport) -> list[str]:
    section = report.topics
    if section.error:
        return _down(section.error)
    lines = []
    if section.checkpoint_batch is not None:
        state = "committed" if section.checkpoint_committed else "not yet committed"
        lines.append(f"  stream checkpoint: batch {section.checkpoint_batch} ({state})")
    else:
        lines.append(f"  stream checkpoint: {section.checkpoint_note}")
    lines.append(f"  {'topic':<34} {'end':>10} {'stream':>10} {'lag':>8}")
    for row in section.topics:
        stream = "-" if row.stream_offsets is None else f"{sum(row.stream_offsets.values()):,}"
        lag = "-" if row.lag is None else f"{row.lag:,}"
        lines.append(f"  {row.topic:<34} {sum(row.end_offsets.values()):>10,} {stream:>10} {lag:>8}")
    for row in section.topics:
        used = row.retention_used
        if row.lost:
            lines.append(f"  ERROR: {row.topic}: Kafka's retention deleted {row.lost:,} records "
                         "the stream had not applied; the stream fails rather than skip them. "
                         "Recover: TRUNCATE the table in Cassandra, `binance-cdc connector "
                         "snapshot TABLE`, and start the stream on fresh checkpoints")
        elif used is not None and used >= RETENTION_WARN_FRACTION:
            lines.append(f"  WARNING: {row.topic}: the oldest change the stream has not applied "
                         f"is {used:.0%} of the way to being deleted by retention "
                         f"({_duration(row.oldest_unapplied_ms)} of "
                         f"{_duration(row.retention_ms)}); is the stream job running?")
    if not section.topics:
        lines.append("  (no change topics yet)")
    return lines


RETENTION_WARN_FRACTION = 0.5
"""Warn once the oldest unapplied change has used this much of its topic's retention."""


def _duration(ms: int | None) -> str:
    if ms is None:
        return "?"
    hours = ms / 3_600_000
    return f"{hours:.1f} h" if hours >= 1 else f"{ms / 60_000:.0f} min"


def _stream(report: StatusReport) -> list[str]:
    section = report.stream
    job = [f"  job: {section.job}"] if section.job else []
    if section.error:
        return job + _down(section.error)
    if not section.batches:
        return [*job, "  no micro-batch recorded yet"]
    lines = [*job, *[f"  {b.query_name} batch {b.batch_id}: {b.records} records, {b.rows_written} "
             f"written, {b.rows_deleted} deleted, {b.dead_letters} dead letters, "
             f"{b.duration_ms} ms; finished {_ago(b.finished_at, report.collected_at)}; newest "
             f"change {_ago(b.max_source_ts, report.collected_at)}" for b in section.batches]]
    for name, mark in section.watermarks.items():
        closed = mark.replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        lines.append(f"  {name}: watermark {mark:%Y-%m-%d %H:%M:%S} UTC, last closed minute "
                     f"{closed:%H:%M} (later trades of it are no longer counted)")
    return lines


def _cassandra(report: StatusReport) -> list[str]:
    section = report.cassandra
    if section.error:
        return _down(section.error)
    lines = ["  " + "  ".join(f"{t} {_count(section, t, n)}" for t, n in section.counts.items())]
    notes = sorted(set(section.estimated.values()))
    if notes:
        lines.append("  ~ estimate (" + "; ".join(notes) + ")")
    return lines


def _count(section: CassandraSection, table: str, n: int | None) -> str:
    if n is None:
        return "not counted (count timed out, no statistics yet)"
    return f"~{n:,}" if table in section.estimated else f"{n:,}"


def _extraction(report: StatusReport) -> list[str]:
    section = report.extraction
    if section.error:
        return _down(section.error)
    runs = {r.dataset: r for r in section.runs}
    lines = [f"  {'dataset':<14} {'status':<8} {'finished':<22} {'ins':>6} {'upd':>6} {'del':>6} "
             f"{'req':>5} {'weight':>6}"]
    for name in DATASETS:
        run = runs.get(name)
        if run is None:
            lines.append(f"  {name:<14} never run")
            continue
        lines.append(f"  {name:<14} {run.status:<8} {_ago(run.finished_at, report.collected_at):<22} "
                     f"{run.rows_inserted:>6} {run.rows_updated:>6} {run.rows_deleted:>6} "
                     f"{run.requests:>5} {run.weight_used:>6}"
                     + (f"  error: {run.error}" if run.error else ""))
    if section.live:
        lines.append(f"  live trades: {'symbol':<20} {'last complete id':>16}  {'updated':<22} "
                     "known gaps")
    # Symbols with known gaps first, then the most recently updated (all of them in --json).
    shown = sorted(section.live, key=lambda p: (not p.known_gaps, -p.updated_at.timestamp()))
    for p in shown[:LIVE_ROWS]:
        gaps = ", ".join(f"{a}..{b}" for a, b in p.known_gaps[:5]) or "none"
        more = f" (+{len(p.known_gaps) - 5} more)" if len(p.known_gaps) > 5 else ""
        lines.append(f"               {p.symbol:<20} {p.last_complete_id:>16}  "
                     f"{_ago(p.updated_at, report.collected_at):<22} {gaps}{more}")
    if len(shown) > LIVE_ROWS:
        lines.append(f"               ... {len(shown) - LIVE_ROWS} more symbols (--json lists all)")
    return lines


def render(report: StatusReport) -> str:
    lines = [f"binance-cdc status at {report.collected_at.strftime('%Y-%m-%d %H:%M:%S')} UTC"]
    for title, part in (("SERVICES", _services), ("CDC", _cdc), ("TOPICS", _topics),
                        ("STREAM (last micro-batch)", _stream), ("CASSANDRA rows", _cassandra),
                        ("EXTRACTION (last run per dataset)", _extraction)):
        lines += ["", title, *part(report)]
    return "\n".join(lines)
