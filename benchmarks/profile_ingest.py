"""The ingest once more, for where its time goes (``./dev bench --profile``): under
cProfile (the Python functions), and with every DuckDB statement timed by its text
(literals and numbers as ``?``), because cProfile sees all of DuckDB's work as one
function, ``execute``.

    python benchmarks/profile_ingest.py PSTATS_FILE STATEMENTS_JSON

runs ``tracepipe ingest`` on the landing folder of ``TRACEPIPE_DATA_DIR``. Its timings are
not the benchmark's: the profiler slows the Python side.
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from pipelines import cli
from pipelines import ingest as ingest_module

SHOWN = 100  # characters of a statement's text


def statement_key(sql: str) -> str:
    """A statement's text with its literals and numbers as ``?``, spaces collapsed."""
    text = re.sub(r"'(?:[^']|'')*'", "?", str(sql))
    text = re.sub(r"\b\d+\b", "?", text)
    return re.sub(r"\s+", " ", text).strip()[:SHOWN]


class TimedConnection:
    """A DuckDB connection whose ``execute`` adds its time to ``seconds[statement_key]``,
    as do the connections it makes (``cursor``). The ingest commits in a thread of its own
    while it reads the next file, so the times of all statements add up to more than the
    ingest's wall time."""

    def __init__(self, con, seconds: dict[str, float], calls: dict[str, int], lock=None):
        self._con, self._seconds, self._calls = con, seconds, calls
        self._lock = lock or threading.Lock()

    def execute(self, sql, *args):
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args)
        finally:
            key = statement_key(sql)
            with self._lock:
                self._seconds[key] += time.perf_counter() - started
                self._calls[key] += 1

    def cursor(self):
        return TimedConnection(self._con.cursor(), self._seconds, self._calls, self._lock)

    def __getattr__(self, name):
        return getattr(self._con, name)


def main(argv: list[str]) -> int:
    pstats_file, statements_file = (Path(a) for a in argv)
    seconds: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    connect = ingest_module.connect

    @contextlib.contextmanager
    def timed_connect(*args, **kwargs):
        with connect(*args, **kwargs) as con:
            yield TimedConnection(con, seconds, calls)

    ingest_module.connect = timed_connect
    profiler = cProfile.Profile()
    status = profiler.runcall(cli.main, ["ingest"])
    profiler.dump_stats(str(pstats_file))
    rows = [
        {"statement": k, "calls": calls[k], "seconds": round(v, 2)}
        for k, v in sorted(seconds.items(), key=lambda kv: kv[1], reverse=True)
    ]
    statements_file.write_text(json.dumps(rows, indent=1) + "\n")
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
