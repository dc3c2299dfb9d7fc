"""What a query table must contain, computed from replica rows with the table's own ``derive``.

``QueryTable.derive`` (binance_cdc/sink/query_tables.py) is what the stream
uses; verify calls the very same function, so the check can never drift from
the stream. Calling it on fully decoded rows would cost more than everything
else verify does per row, so :func:`plan` first finds out, by calling it on
probe values that refuse every use, which columns it actually computes with
(``trade_time`` for ``trades_by_day``). Only those are decoded into Python
values; every other column is handed over as its canonical text, which
``derive`` copies through untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from binance_cdc.errors import ConfigError
from binance_cdc.sink.query_tables import QueryTable
from binance_cdc.verify.canonical import DECODERS, Kind, canonical_value
from binance_cdc.verify.spec import TableSpec
from binance_cdc.verify.sums import Parts

log = logging.getLogger(__name__)

def _sample(kind: Kind, position: int) -> object:
    """A plausible value, a distinct object per column (so a copy is known by identity)."""
    return {
        "text": lambda: f"X{position}", "decimal": lambda: Decimal(f"1.5{position}"),
        "bigint": lambda: int(f"100000{position}"), "int": lambda: int(f"100000{position}"),
        "boolean": lambda: True,
        "timestamp": lambda: dt.datetime(2024, 5, 1, 12, 0, position, 123000, tzinfo=dt.timezone.utc),
        "date": lambda: dt.date(2024, 5, 1 + position % 28),
    }[kind]()


class _Used(Exception):
    pass


class _Probe:
    """Stands for a column's value and records the column as used on any use at all."""

    __slots__ = ("column", "used")

    def __init__(self, column: str, used: set[str]) -> None:
        self.column = column
        self.used = used

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        self.used.add(self.column)
        raise _Used(self.column)

    def __getattr__(self, name: str) -> Any:
        return self._refuse()


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__",
              "__len__", "__iter__", "__contains__", "__getitem__", "__str__", "__repr__",
              "__format__", "__bytes__", "__int__", "__float__", "__index__", "__complex__",
              "__round__", "__trunc__", "__floor__", "__ceil__", "__neg__", "__pos__", "__abs__",
              "__invert__", "__call__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
              "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__",
              "__mod__", "__rmod__", "__pow__", "__rpow__", "__and__", "__rand__", "__or__",
              "__ror__", "__xor__", "__rxor__", "__lshift__", "__rshift__", "__enter__"):
    setattr(_Probe, _name, _Probe._refuse)  # noqa: SLF001 - the class setting itself up


@dataclass(frozen=True)
class DerivePlan:
    """How to turn a replica row's canonical parts into the query table's canonical parts.

    The probe also shows which query-table columns are plain copies of a source column
    (taken from the source's canonical text, no conversion) and which ``derive``
    computes (converted from its result). ``derive`` is thus trusted to copy the same
    columns for every row, as a declarative mapping does; if one did not, the rows
    would show up as different, never hide a difference.
    """

    query: QueryTable
    source: TableSpec
    target: TableSpec
    decoded: tuple[tuple[int, Kind], ...]
    """Source columns derive computes with: (position, kind), decoded before each call."""
    copied: tuple[int | None, ...]
    """Per target column, the source position it copies, or None if derive computes it."""

    def derive(self, parts: Parts) -> Parts:
        return self.derive_all([parts])[0]

    def derive_all(self, rows: Iterable[Parts]) -> list[Parts]:
        """The query-table rows of a page of source rows, as canonical parts."""
        names, derive = self.source.columns, self.query.derive
        decoders = [(position, names[position], DECODERS[kind]) for position, kind in self.decoded]
        computed = [(i, self.target.columns[i]) for i, c in enumerate(self.copied) if c is None]
        copied = [c if c is not None else 0 for c in self.copied]
        pick = (itemgetter(*copied) if len(copied) > 1
                else (lambda parts: (parts[copied[0]],)))
        out: list[Parts] = []
        for parts in rows:
            row: dict[str, object] = dict(zip(names, parts))
            try:
                for position, name, decoder in decoders:
                    row[name] = decoder(parts[position])
            except (ValueError, OverflowError):
                # A value Python cannot hold (a year past 9999): the stream could not have
                # derived a row from it either, so none is expected.
                log.warning("%s: no %s row can be derived from %s", self.source.name,
                            self.target.name, dict(zip(names, map(bytes.decode, parts))))
                continue
            result = derive(row)
            values = list(pick(parts))
            for i, name in computed:
                values[i] = canonical_value(result[name])
            out.append(tuple(values))
        return out


def plan(query: QueryTable, source: TableSpec, target: TableSpec) -> DerivePlan:
    """Probe ``query.derive`` for the source columns it computes with."""
    decoded: set[str] = set()
    while True:  # each round decodes at least one more column, so it ends
        used: set[str] = set()
        row = {c: (_sample(k, i) if c in decoded else _Probe(c, used))
               for i, (c, k) in enumerate(zip(source.columns, source.kinds))}
        try:
            out = query.derive(row)
        except Exception as exc:  # derive is user code; any failure is a finding
            if not used:
                raise ConfigError(f"the derivation of query table {query.name} fails on a sample "
                                  f"{source.name} row: {type(exc).__name__}: {exc}") from exc
            decoded |= used
            continue
        if not used:
            break
        decoded |= used  # a use derive caught itself: decode that column too
    missing = [c for c in target.columns if c not in out]
    if missing:
        raise ConfigError(f"the derivation of query table {query.name} yields no "
                          f"{', '.join(missing)}; fix binance_cdc/sink/query_tables.py")
    return DerivePlan(query, source, target,
                      tuple((source.columns.index(c), source.kind(c)) for c in source.columns
                            if c in decoded),
                      tuple(_copied_from(out[c], row, source, target.kind(c))
                            for c in target.columns))


def _copied_from(value: object, row: dict[str, object], source: TableSpec,
                 kind: Kind) -> int | None:
    """The source position ``value`` is an unchanged copy of (same kind), or None."""
    if isinstance(value, bool):  # True is every boolean's sample: no telling whose it is
        return None
    for position, (column, source_kind) in enumerate(zip(source.columns, source.kinds)):
        if row[column] is value and source_kind == kind:
            return position
    return None
