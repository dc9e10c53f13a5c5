"""The tables as the models define them, and the ``COPY`` loader that writes rows into them: rows become COPY
text in this (Python) thread while a writer thread feeds the last batch to PostgreSQL, so generating and
loading overlap. Everything here knows tables and text, nothing about the stories told in them."""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import psycopg

from grc.auditlog.service import entity_name
from grc.db import UTCDateTime
from grc.models import Base

BATCH_BYTES = 48 << 20  # COPY text handed to the writer thread at a time


@dataclass(frozen=True)
class Table:
    """What the writer needs of a table: its columns, and how the app's audit trail records a new row of it."""

    name: str
    columns: tuple[str, ...]
    entity: str | None  # the audit events' entity_type; None when the app does not audit the table
    # How a new row's event differs from the row: timestamps and version are filled in at INSERT, after the
    # app records the row, so it records them as null; secrets are recorded as "[set]", never with their value.
    recorded_as: dict[str, Any]


def _tables() -> dict[str, Table]:
    """Read from the models, so a new column is written (as null unless a story sets it) without touching this."""
    mapped = {mapper.local_table.name: mapper for mapper in Base.registry.mappers}
    tables = {}
    for table in Base.metadata.sorted_tables:
        mapper = mapped.get(table.name)
        audited = mapper is not None and getattr(mapper.class_, "__audit__", True)
        version = {mapper.version_id_col.name} if mapper is not None and mapper.version_id_col is not None else set()
        unset = version | {c.name for c in table.columns if c.default is not None and isinstance(c.type, UTCDateTime)}
        secret = {c.name for c in table.columns if c.info.get("audit") == "redact"}
        tables[table.name] = Table(
            name=table.name,
            columns=tuple(column.name for column in table.columns),
            entity=entity_name(mapper.class_) if audited else None,
            recorded_as={**dict.fromkeys(unset), **dict.fromkeys(secret, "[set]")},
        )
    return tables


TABLES = _tables()
LOAD_ORDER = tuple(TABLES)  # metadata.sorted_tables: every referenced row is copied before the rows naming it
LOADED = tuple(name for name in LOAD_ORDER if name != "schemes")  # the shipped catalogue is there already
NULL = "\\N"
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_ENCODE = c_make_encoder(None, None, encode_basestring, None, ":", ",", True, False, False)


def to_json(value: Any) -> str:
    """JSON text for COPY (``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``), through the
    C encoder directly: a third of the cost of ``dumps``."""
    return "".join(_ENCODE(value, 0))


def escape(text: str) -> str:
    """COPY text escaping; most values need none, and looking is far cheaper than ``translate``."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(COPY_ESCAPES)
    return text


def cell(value: Any) -> str:
    """One value in COPY text format; rows carry plain values (ids, dates and times already as text)."""
    if value is None:
        return NULL
    if type(value) is str:
        return escape(value)
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is int:
        return str(value)
    if not value:
        return "[]" if type(value) is list else "{}"
    return escape(to_json(value))


@dataclass
class TableStats:
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0  # in COPY
    build_seconds: float = 0.0  # building its indexes and checking its constraints afterwards


class Loader:
    """COPY text buffered per table; full batches go to a writer thread, so Python builds the next batch while
    PostgreSQL checks and indexes the last one. Within a batch, tables are copied in foreign-key order."""

    def __init__(self, conn: psycopg.Connection[Any], batch_bytes: int = BATCH_BYTES) -> None:
        self._conn = conn
        self._batch_bytes = batch_bytes
        self._lines: dict[str, list[str]] = {}
        self._size = 0
        self.stats: dict[str, TableStats] = {name: TableStats() for name in LOAD_ORDER}
        self._batches: queue.Queue[dict[str, list[str]] | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._writer = threading.Thread(target=self._write_batches, name="copy-writer", daemon=True)
        self._writer.start()

    def insert(self, table: str, row: dict[str, Any]) -> None:
        self.add(table, "\t".join(map(cell, map(row.get, TABLES[table].columns))))

    def add(self, table: str, line: str) -> None:
        """One row already in COPY text format."""
        lines = self._lines.get(table)
        if lines is None:
            lines = self._lines[table] = []
        lines.append(line)
        self._size += len(line)

    def checkpoint(self) -> None:
        """Hand the batch over once it is full. Called between actions only, never inside one: an action's rows
        may reference each other in any order, and a batch is copied table by table in foreign-key order."""
        if self._size >= self._batch_bytes:
            self.flush()

    def flush(self) -> None:
        self._raise_failure()
        if self._lines:
            self._batches.put(self._lines)
            self._lines, self._size = {}, 0

    def close(self) -> None:
        """Write what is buffered and wait for the writer; raise what it raised."""
        try:
            self.flush()
        finally:
            self._batches.put(None)
            self._writer.join()
        self._raise_failure()

    def abandon(self) -> None:
        """Stop the writer without writing what is left (the transaction is being rolled back)."""
        self._lines = {}
        self._failure = self._failure or RuntimeError("abandoned")
        self._batches.put(None)
        self._writer.join()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"COPY failed: {self._failure}") from self._failure

    def _write_batches(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._failure is None:
                try:
                    self._write(batch)
                except BaseException as exc:  # noqa: BLE001 - handed to the producing thread
                    self._failure = exc

    def _write(self, batch: dict[str, list[str]]) -> None:
        for name in LOAD_ORDER:
            lines = batch.get(name)
            if not lines:
                continue
            data = ("\n".join(lines) + "\n").encode()
            start = time.perf_counter()
            columns = ", ".join(TABLES[name].columns)
            with self._conn.cursor().copy(f"COPY {name} ({columns}) FROM STDIN (FREEZE)") as copy:
                copy.write(data)
            stats = self.stats[name]
            stats.rows += len(lines)
            stats.bytes += len(data)
            stats.seconds += time.perf_counter() - start
