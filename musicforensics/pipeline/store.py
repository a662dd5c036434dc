"""A result store: every finished file's report in one SQLite file, so big scans resume and rescans are cheap.

The store is a single SQLite file at a path the user gives (``scan --store results.sqlite``); it is
embedded (no server) and nothing is written anywhere else except SQLite's own ``-wal``/``-shm`` files
beside it, so a scan never writes into the folders it analyses unless the store path points there.

A stored result is keyed by

* ``path``: the file's real absolute path (symbolic links resolved);
* ``config_key``: :meth:`AnalysisConfig.cache_key() <musicforensics.config.AnalysisConfig.cache_key>`;
* ``analyzer``: :func:`analyzer_key`, the package version plus the name and version of every selected
  detector, so a detector update invalidates its old results;

and remembers the file's ``size``, ``mtime_ns`` and a cheap :func:`content_hash`. A file is reused
when its size and modification time are unchanged (no read at all); when they changed (or when
``verify`` asks for it), the content hash decides. A stored ``error`` result is analysed again by
default (errors can be transient: a worker lost, a network share gone); ``retry_errors=False`` keeps it.

Writes come from one writer, the parent process, one transaction per result, in WAL mode with
``synchronous=NORMAL``: killing the scan loses only the files in flight, never a committed one (a power
cut may lose the last few commits, never corrupt the file). :class:`~.store_engine.StoreEngine` wraps any
engine: it answers stored files from the store, sends only the others to the inner engine and writes each
result as it arrives.

Why one module: the SQLite schema and every query on it belong together, so a schema change is one edit
in one file; the engine that uses the store is :mod:`.store_engine`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..config import AnalysisConfig
from ..errors import StoreError
from ..results import STATUS_ERROR, TrackReport
from .registry import evidence_types, select_specs

#: Identifies a musicforensics store in its ``meta`` table.
STORE_FORMAT = "musicforensics-result-store"
#: Schema version of the tables below; bump on incompatible change (older stores are then refused).
STORE_SCHEMA = 1
#: Bytes hashed at each end of a file by :func:`content_hash` (1 MiB): covers FLAC/WAV headers, tags
#: and the first and last seconds of audio, at a cost of at most 2 MiB read per changed file.
HASH_EDGE_BYTES = 1 << 20
#: How long a writer waits for another process's lock before failing, in seconds.
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    path         TEXT NOT NULL,
    config_key   TEXT NOT NULL,
    analyzer     TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    content_hash TEXT,
    status       TEXT NOT NULL,
    findings     TEXT NOT NULL,
    report       TEXT NOT NULL,
    scan_id      INTEGER,
    stored_at    TEXT NOT NULL,
    PRIMARY KEY (path, config_key, analyzer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scans (
    id         INTEGER PRIMARY KEY,
    started    TEXT NOT NULL,
    finished   TEXT,
    state      TEXT NOT NULL,
    config_key TEXT NOT NULL,
    analyzer   TEXT NOT NULL,
    config     TEXT NOT NULL,
    engine     TEXT,
    files      INTEGER,
    reused     INTEGER,
    analysed   INTEGER
);
"""


def _damaged(path: Path, exc: Exception) -> StoreError:
    """The error for a store SQLite cannot read (a damaged page, a half-written copy, an unreadable row)."""
    return StoreError(path, f"is damaged ({exc}). Recover its intact rows into a new store with: "
                            f"sqlite3 {str(path)!r} .recover | sqlite3 recovered.sqlite (Debian package sqlite3), "
                            "then scan with --store recovered.sqlite; or move the file aside to start afresh")


def _store_errors(method):
    """Turn the sqlite3 and JSON errors of a store operation into :class:`StoreError` naming the file."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(self.path, f"is locked by another process (waited {BUSY_TIMEOUT_S:g} s): {exc}") \
                    from None
            raise _damaged(self.path, exc) from None
        except (sqlite3.DatabaseError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise _damaged(self.path, exc) from None

    return wrapper


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def content_hash(path: str | os.PathLike, *, size: int | None = None, edge_bytes: int = HASH_EDGE_BYTES) -> str:
    """Cheap content fingerprint: BLAKE2b-128 of the size (8 bytes little-endian), the first
    ``edge_bytes`` and the last ``edge_bytes`` of the file (the whole file once when it is no longer than
    ``2 * edge_bytes``).

    It reads at most 2 MiB whatever the file length. It catches re-encodes, re-tags, truncation and
    appended data; it would miss an edit confined to the middle of a long file that also kept its size
    and modification time, which is why it is only asked when size or mtime changed (or on request).

    Returns
    -------
    str
        32 hexadecimal digits.
    """
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        n = os.fstat(fh.fileno()).st_size if size is None else size
        h.update(int(n).to_bytes(8, "little"))
        if n <= 2 * edge_bytes:
            h.update(fh.read())
        else:
            h.update(fh.read(edge_bytes))
            fh.seek(-edge_bytes, os.SEEK_END)
            h.update(fh.read(edge_bytes))
    return h.hexdigest()


def analyzer_key(config: AnalysisConfig) -> str:
    """Package version plus a short hash of the selected detectors' names and identities (version and the
    digest of every model file they read, :meth:`~musicforensics.detector.DetectorSpec.identity`), e.g.
    ``"0.1.0+3c9a61f2"``; stored results from another analyzer key are never reused. Needs no detector code
    (no numba): a rescan decides what to analyse before anything heavy loads."""
    dets = sorted((s.name, s.identity(config)) for s in select_specs(config.detectors))
    digest = hashlib.sha256(json.dumps(dets).encode()).hexdigest()[:8]
    return f"{__version__}+{digest}"


@dataclass(frozen=True)
class FileStat:
    """What the store compares before reading a file: real path, size (bytes), mtime (ns)."""

    real: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike) -> FileStat:
        st = os.stat(path)
        return cls(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@dataclass
class StoreStats:
    """How one scan through a store went: files answered from the store, analysed, hashed, and why."""

    reused: int = 0
    analysed: int = 0
    hashed: int = 0
    written: int = 0
    reasons: dict = field(default_factory=dict)

    def note(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def to_dict(self) -> dict:
        return {"reused": self.reused, "analysed": self.analysed, "hashed": self.hashed, "written": self.written,
                "reasons": dict(sorted(self.reasons.items()))}


class ResultStore:
    """One SQLite result store.

    Parameters
    ----------
    path : path-like
        The store file. Created (with its tables) when missing, unless ``create`` is False.
    create : bool
        When False, a missing file raises :class:`~musicforensics.errors.StoreError` (for ``store info``
        and ``store export``, which must never leave an empty store behind).

    Raises
    ------
    StoreError
        The path is a folder, its folder is missing, the file is not SQLite, or it is SQLite but not a
        musicforensics store (or one with a newer schema).
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(self.path, "is a folder; give a file name such as results.sqlite")
        if not self.path.exists():
            if not create:
                raise StoreError(self.path, "does not exist")
            if not self.path.parent.exists():
                raise StoreError(self.path, f"folder {str(self.path.parent)!r} does not exist")
        try:
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            if "malformed" in str(exc):
                raise _damaged(self.path, exc) from None
            raise StoreError(self.path, f"not a usable SQLite store ({exc})") from None

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None

    def _init_schema(self) -> None:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise StoreError(self.path, f"is an SQLite database but not a musicforensics store (tables {sorted(tables)!r})")
        if tables:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("format") != STORE_FORMAT:
                raise StoreError(self.path, f"format {meta.get('format')!r} is not {STORE_FORMAT!r}")
            if int(meta.get("schema", "0")) > STORE_SCHEMA:
                raise StoreError(self.path, f"schema {meta['schema']!r} is newer than this version reads "
                                            f"({STORE_SCHEMA}); upgrade musicforensics")
            return
        with self._transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript() would commit early
                db.execute(statement)
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                           [("format", STORE_FORMAT), ("schema", str(STORE_SCHEMA)), ("created", _now()),
                            ("created_by", f"musicforensics {__version__}")])

    # -- plumbing --------------------------------------------------------------------------------------

    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb):
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
            return False

    def _transaction(self):
        return self._Tx(self._db)

    def close(self) -> None:
        """Close the connection (a WAL checkpoint folds the log back into the main file)."""
        if self._db is not None:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
            self._close_quietly()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- results ---------------------------------------------------------------------------------------

    @_store_errors
    def lookup(self, path: str | os.PathLike, *, config_key: str, analyzer: str, verify: bool = False,
               retry_errors: bool = True, stats: StoreStats | None = None) -> tuple[TrackReport | None, FileStat | None, str]:
        """Find a reusable stored result for ``path``.

        Returns
        -------
        report : TrackReport or None
            The stored report (its ``path`` as it was stored) when it can be reused, else None.
        stat : FileStat or None
            The file's stat now (None when it cannot be stat'ed).
        reason : str
            ``"unchanged"``, ``"same-content"`` (size/mtime changed but the hash matches), ``"new"``,
            ``"changed"``, ``"error-retry"`` or ``"unreadable"``.
        """
        try:
            st = FileStat.of(path)
        except OSError:
            return None, None, "unreadable"
        row = self._db.execute(
            "SELECT size, mtime_ns, content_hash, status, report FROM results "
            "WHERE path=? AND config_key=? AND analyzer=?", (st.real, config_key, analyzer)).fetchone()
        if row is None:
            return None, st, "new"
        size, mtime_ns, stored_hash, status, blob = row
        if status == STATUS_ERROR and retry_errors:
            return None, st, "error-retry"
        if not verify and size == st.size and mtime_ns == st.mtime_ns and stored_hash is not None:
            return TrackReport.from_json(blob, evidence_types()), st, "unchanged"
        if stored_hash is None or size != st.size:
            return None, st, "changed"
        try:
            now_hash = content_hash(path, size=st.size)
        except OSError:
            return None, st, "unreadable"
        if stats is not None:
            stats.hashed += 1
        if now_hash != stored_hash:
            return None, st, "changed"
        if mtime_ns != st.mtime_ns:  # same bytes, new mtime (copied, touched): remember the new stat
            with self._transaction() as db:
                db.execute("UPDATE results SET mtime_ns=? WHERE path=? AND config_key=? AND analyzer=?",
                           (st.mtime_ns, st.real, config_key, analyzer))
        return TrackReport.from_json(blob, evidence_types()), st, "same-content"

    @_store_errors
    def put(self, report: TrackReport, stat: FileStat, *, config_key: str, analyzer: str,
            scan_id: int | None = None) -> bool:
        """Store ``report`` for the file ``stat`` describes (one transaction).

        The content hash is taken now; if the file's size or mtime moved since ``stat`` was taken (it
        changed during the analysis), the hash is stored as NULL, so the next scan analyses it again.
        Returns True when the result was stored with a trusted hash.
        """
        content: str | None
        try:
            now = FileStat.of(stat.real)
            content = content_hash(stat.real, size=now.size) if (now.size, now.mtime_ns) == (stat.size, stat.mtime_ns) else None
        except OSError:
            content = None
        blob = json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO results(path, config_key, analyzer, size, mtime_ns, content_hash, status, "
                "findings, report, scan_id, stored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (stat.real, config_key, analyzer, stat.size, stat.mtime_ns, content, report.status,
                 ",".join(report.findings), blob, scan_id, _now()))
        return content is not None

    @_store_errors
    def keys(self) -> list[dict]:
        """Every (config_key, analyzer) in the store with its result count and newest write, newest first."""
        rows = self._db.execute(
            "SELECT config_key, analyzer, COUNT(*), MAX(stored_at) FROM results GROUP BY config_key, analyzer "
            "ORDER BY MAX(stored_at) DESC")
        return [{"config_key": c, "analyzer": a, "results": n, "last_stored": t} for c, a, n, t in rows]

    @_store_errors
    def latest_key(self) -> tuple[str, str] | None:
        """(config_key, analyzer) of the most recent scan, else of the newest result; None when empty."""
        row = self._db.execute("SELECT config_key, analyzer FROM scans ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            keys = self.keys()
            return (keys[0]["config_key"], keys[0]["analyzer"]) if keys else None
        return row[0], row[1]

    def reports(self, *, config_key: str, analyzer: str | None = None) -> Iterator[TrackReport]:
        """Stored reports for ``config_key`` (and ``analyzer`` when given), ordered by real path."""
        sql = "SELECT report FROM results WHERE config_key=?"
        args: list = [config_key]
        if analyzer is not None:
            sql += " AND analyzer=?"
            args.append(analyzer)
        try:
            rows = self._db.execute(sql + " ORDER BY path", args).fetchall()
            reports = [TrackReport.from_json(blob, evidence_types()) for (blob,) in rows]
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise _damaged(self.path, exc) from None
        yield from reports

    @_store_errors
    def config_for(self, config_key: str) -> dict | None:
        """The configuration (as :meth:`AnalysisConfig.to_dict`) a scan with ``config_key`` used."""
        row = self._db.execute("SELECT config FROM scans WHERE config_key=? ORDER BY id DESC LIMIT 1",
                               (config_key,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- scans ------------------------------------------------------------------------------------------

    @_store_errors
    def begin_scan(self, config: AnalysisConfig, *, analyzer: str, engine: str, files: int) -> int:
        """Record the start of a scan (state ``running`` until :meth:`end_scan`); returns its id."""
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO scans(started, state, config_key, analyzer, config, engine, files) VALUES (?,?,?,?,?,?,?)",
                (_now(), "running", config.cache_key(), analyzer, json.dumps(config.to_dict()), engine, files))
            return int(cur.lastrowid)

    @_store_errors
    def end_scan(self, scan_id: int, stats: StoreStats, *, state: str = "complete") -> None:
        with self._transaction() as db:
            db.execute("UPDATE scans SET finished=?, state=?, reused=?, analysed=? WHERE id=?",
                       (_now(), state, stats.reused, stats.analysed, scan_id))

    @_store_errors
    def info(self) -> dict:
        """What is in the store: format, size on disk, results per key and status, recent scans.

        Reads every page once (SQLite's ``quick_check``), so a damaged store is reported here even where the
        summary queries would not touch the damage.
        """
        problems = [r[0] for r in self._db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise _damaged(self.path, "; ".join(problems))
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        statuses: dict = {}
        for c, a, s, n in self._db.execute(
                "SELECT config_key, analyzer, status, COUNT(*) FROM results GROUP BY config_key, analyzer, status"):
            statuses.setdefault((c, a), {})[s] = n
        keys = self.keys()
        for k in keys:
            k["statuses"] = dict(sorted(statuses.get((k["config_key"], k["analyzer"]), {}).items()))
        scans = [
            {"id": i, "started": s, "finished": f, "state": st, "config_key": c, "engine": e, "files": n,
             "reused": r, "analysed": an}
            for i, s, f, st, c, e, n, r, an in self._db.execute(
                "SELECT id, started, finished, state, config_key, engine, files, reused, analysed FROM scans "
                "ORDER BY id DESC LIMIT 10")
        ]
        disk = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return {
            "path": str(self.path), "format": meta.get("format"), "schema": int(meta.get("schema", 0)),
            "created": meta.get("created"), "created_by": meta.get("created_by"),
            "journal_mode": self._db.execute("PRAGMA journal_mode").fetchone()[0],
            "bytes": disk, "results": sum(k["results"] for k in keys), "keys": keys, "recent_scans": scans,
        }


__all__ = ["HASH_EDGE_BYTES", "STORE_FORMAT", "STORE_SCHEMA", "FileStat", "ResultStore", "StoreStats",
           "analyzer_key", "content_hash"]
