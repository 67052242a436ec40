"""``generate``: write a landing folder of raw exports and its ground truth.

Order of work: plan (exact counts) -> licensee population -> trace population (codes
only) -> which rows are updated in a later file (``updates.py``) -> files, streamed in
chunks: licensee snapshots, trace files by request month, seizure files by year,
multiple-sales files by report month, each file's own rows followed by the later
versions it carries -> extra files carrying the file-level defects ->
``_generator/defects.csv`` and ``_generator/manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate import catalog
from pipelines.generate import population as P
from pipelines.generate import text as T
from pipelines.generate import updates as U
from pipelines.generate.licensees import build_licensees, snapshot_bytes
from pipelines.generate.multiple_sales import DL3_HEADER, DL3Writer, build_reports
from pipelines.generate.plan import (
    DEFAULT_SEED,
    DefectRates,
    UpdateRates,
    expected_figures,
    make_plan,
)
from pipelines.generate.seizures import SEIZURE_HEADER, SeizureWriter, build_seizures
from pipelines.generate.traces import TRACE_HEADER, FileStyle, TraceWriter

GENERATOR_VERSION = 2
CHUNK_ROWS = 200_000
KINDS = ("trace", "seizures", "licensees", "multiple_sales")
LEDGER_COLUMNS = ("kind", "file", "row", "record_id", "defect", "handling", "detail")
ENCODING_LABEL = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252"}


@dataclass
class GenerateSummary:
    """What ``generate`` wrote."""

    out: Path
    seed: int
    scale: float
    files_written: int
    rows: dict[str, int]  # data rows per kind, in the delivered (normal) files
    defects: dict[str, int]  # injected defects by kind
    seconds: float
    expected: dict = field(repr=False, default_factory=dict)


class FileWriter:
    """One delivered file: header, encoding, line ends; counts rows and hashes bytes."""

    def __init__(self, path: Path, header: tuple[str, ...], style: FileStyle):
        self.path = path
        self.style = style
        self.handle = path.open("wb")
        self.sha = hashlib.sha256()
        self.rows = 0
        self.size = 0
        if style.encoding == "utf-8-sig":
            self._write(b"\xef\xbb\xbf")
        self.write_text((",".join(header) + style.line_end).encode("utf-8"), 0)

    def _write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)

    def write_text(self, utf8: bytes, rows: int) -> None:
        if self.style.encoding == "cp1252":
            utf8 = utf8.decode("utf-8").encode("cp1252")
        self._write(utf8)
        self.rows += rows

    def close(self) -> dict:
        self.handle.close()
        return {
            "rows": self.rows,
            "bytes": self.size,
            "sha256": self.sha.hexdigest(),
            "encoding": self.style.encoding,
            "line_end": "CRLF" if self.style.line_end == "\r\n" else "LF",
            "date_format": "DD/MM/YYYY" if self.style.date_format == T.DMY else "YYYY-MM-DD",
        }


class Ledger:
    """``_generator/defects.csv``, appended chunk by chunk."""

    def __init__(self, path: Path):
        self.handle = path.open("wb")
        self.handle.write((",".join(LEDGER_COLUMNS) + "\n").encode())
        self.counts: dict[str, int] = {}
        self.handling: dict[str, int] = {}
        self.by_file: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, kind: str, file: str, frame: pl.DataFrame | None) -> None:
        if frame is None or frame.height == 0:
            return
        frame = frame.select(
            pl.lit(kind).alias("kind"),
            pl.lit(file).alias("file"),
            pl.col("row").cast(pl.Int64),
            pl.col("record_id").cast(pl.Utf8),
            pl.col("defect").cast(pl.Utf8),
            pl.col("handling").cast(pl.Utf8),
            pl.col("detail").cast(pl.Utf8),
        )
        frame.write_csv(self.handle, include_header=False, quote_style="necessary")
        for d, c in frame.group_by("defect").len().iter_rows():
            self.counts[d] = self.counts.get(d, 0) + c
        mine = self.by_file.setdefault((kind, file), {})
        for d, c in frame.group_by("handling").len().iter_rows():
            self.handling[d] = self.handling.get(d, 0) + c
            mine[d] = mine.get(d, 0) + c

    def close(self) -> None:
        self.handle.close()


def _style(rng: np.random.Generator, kind: str) -> FileStyle:
    encoding = str(rng.choice(["utf-8", "utf-8-sig", "cp1252"], p=[0.55, 0.2, 0.25]))
    line_end = "\r\n" if rng.random() < 0.45 else "\n"
    if kind == "trace" and rng.random() < 0.2:
        # an export typed in Mexico: day-first dates, Spanish firearm words
        return FileStyle(encoding, line_end, T.DMY, 0.8)
    spanish = 0.3 if (kind == "trace" and rng.random() < 0.3) else 0.0
    return FileStyle(encoding, line_end, T.ISO, spanish)


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in a sorted array."""
    bounds = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], bounds]).astype(int)
    ends = np.concatenate([bounds, [len(values)]]).astype(int)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass
class Extra:
    """Rows appended to a file after its own rows: later versions of rows first sent in
    an earlier file. ``ledger()`` gives their ground truth (record_id, defect, handling,
    detail), one row per position, in order."""

    pos: np.ndarray
    ledger: Callable[[], pl.DataFrame]


def _write_batched(
    out: Path, kind: str, header, specs, make_chunk, ledger: Ledger, extras: dict[int, Extra] | None = None
) -> list[dict]:
    """Write files given as (name, start, end, style) over one row range, in chunks of
    about CHUNK_ROWS rows: a big file is split over several chunks, small files share
    one. ``extras`` (by file index) are written after a file's own rows.
    ``make_chunk(positions, is_extra, segments)`` returns LF-ended CSV lines and the
    defect ledger of the chunk (column ``i`` = position); ``segments`` are
    (name, rows, style) in order."""
    extras = extras or {}
    writers: dict[int, FileWriter] = {}
    metas: list[dict] = []
    batch: list[tuple[int, int, int, Extra | None, bool]] = []
    size = 0

    def flush():
        nonlocal batch, size
        if not batch:
            return
        pos = np.concatenate([np.arange(a, b) if x is None else x.pos for _f, a, b, x, _l in batch])
        is_extra = np.concatenate([np.full(b - a if x is None else len(x.pos), x is not None) for _f, a, b, x, _l in batch])
        segs = [(specs[f][0], b - a if x is None else len(x.pos), specs[f][3]) for f, a, b, x, _l in batch]
        data, led = make_chunk(pos, is_extra, segs)
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        start = 0
        first_i = 0
        for (f, _a, _b, x, last), (name, n, style) in zip(batch, segs, strict=True):
            fw = writers.get(f)
            if fw is None:
                fw = writers[f] = FileWriter(out / kind / name, header, style)
            end = int(nl[first_i + n - 1]) + 1
            part = data[start:end]
            if style.line_end != "\n":
                part = part.replace(b"\n", style.line_end.encode())
            if led is not None:
                mine = led.filter((pl.col("i") >= first_i) & (pl.col("i") < first_i + n))
                if x is not None:
                    assert mine.height == 0, f"an update row carries a defect: {mine}"
                elif mine.height:
                    ledger.add(kind, name, mine.with_columns((pl.col("i") - first_i + fw.rows + 1).alias("row")).drop("i"))
            if x is not None:
                ledger.add(kind, name, x.ledger().with_columns(pl.Series("row", fw.rows + 1 + np.arange(n))))
            fw.write_text(part, n)
            if last:
                metas.append({"kind": kind, "name": name, "role": "normal", **fw.close()})
                del writers[f]
            start = end
            first_i += n
        batch, size = [], 0

    def add(piece, n):
        nonlocal size
        if size + n > CHUNK_ROWS:
            flush()
        batch.append(piece)
        size += n

    for f, (_name, s, e, _style) in enumerate(specs):
        x = extras.get(f)
        for a in range(s, e, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, e)
            add((f, a, b, None, b == e and x is None), b - a)
        if x is not None:
            add((f, 0, 0, x, True), len(x.pos))
    flush()
    return metas


def _update_ledger(upd: U.Updates, sel: np.ndarray, ids: Callable, names: list[str], starts: np.ndarray, details=None):
    """Ground truth of the update rows ``sel`` (indexes into ``upd``) appended to a file:
    the record id, the update's kind and handling, and where its earlier version is."""
    pos, kind, src = upd.pos[sel], upd.kind[sel], upd.source_file[sel]
    handling = np.array(U.UPDATE_HANDLING)[kind]
    detail = [
        U.earlier_detail(names[f], int(p - starts[f]) + 1) for f, p in zip(src.tolist(), pos.tolist(), strict=True)
    ]
    if details is not None:
        detail = [d + extra for d, extra in zip(detail, details(pos, kind), strict=True)]
    return pl.DataFrame(
        {
            "record_id": ids(pos),
            "defect": pl.Series(np.array(U.UPDATE_DEFECTS)[kind].tolist(), dtype=pl.Utf8),
            "handling": pl.Series(handling.tolist(), dtype=pl.Utf8),
            "detail": pl.Series(detail, dtype=pl.Utf8),
        }
    )


def _month_label(month_index: int) -> str:
    return f"{1970 + month_index // 12:04d}-{month_index % 12 + 1:02d}"


def generate(
    out: Path,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    defects: DefectRates | None = None,
    updates: UpdateRates | None = None,
) -> GenerateSummary:
    """Write raw exports calibrated to GAO-16-223 under ``out`` (one folder per kind)
    and the ground truth under ``out/_generator``. Same (scale, seed, defects, updates)
    give byte-identical files. ``updates`` sets how many rows are sent again in a later
    file as a new version of their record (default ``UpdateRates()``;
    ``UpdateRates.none()`` for none); the current versions are the calibrated data.

    ``out`` may be new, empty, or hold an earlier generator output (the files its
    manifest lists are replaced); any other file in a kind folder stops the run, so a
    landing folder with real exports is never touched."""
    started = time.perf_counter()
    rates = defects or DefectRates()
    urates = updates or UpdateRates()
    out = Path(out)
    plan = make_plan(scale, rates)
    _prepare(out)
    files: list[dict] = []
    ledger = Ledger(out / "_generator" / "defects.csv")
    rng_files = np.random.default_rng([seed, 51])

    # 1. Licensees
    lic = build_licensees(seed, plan.licensee_scale, plan.licensees_nationwide, plan.licensees_border)
    for i, (mmyy, style, suffix) in enumerate(catalog.SNAPSHOTS):
        data, rows = snapshot_bytes(lic, i, seed)
        name = f"{mmyy}-ffl-list{suffix}.txt"
        (out / "licensees" / name).write_bytes(data)
        files.append(
            {
                "kind": "licensees", "name": name, "role": "normal", "rows": rows, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "encoding": "ascii", "line_end": "CRLF",
                "header": "title_case" if style == "title" else "upper_case",
                "snapshot_month": f"20{mmyy[2:]}-{mmyy[:2]}",
            }
        )

    # 2. Traces, one file per request month; updated requests are written as an earlier
    #    version in their own file and again, calibrated, after a later file's own rows
    pop = P.build_population(seed, plan, rates)
    tw = TraceWriter(seed, rates, pop, lic)
    rows_by_kind = {k: 0 for k in KINDS}
    month = P.months_of(pop.req_day)
    trace_files = [
        (f"trace_requests_{_month_label(int(month[s]))}.csv", s, e, _style(rng_files, "trace"))
        for s, e in _runs(month)
    ]
    del month
    t_starts = np.array([s for _n, s, _e, _st in trace_files], dtype=np.int64)
    t_names = [n for n, *_ in trace_files]
    t_spanish = np.array([st.spanish for *_, st in trace_files])
    t_upd = U.choose_trace_updates(seed, urates, rates, pop, t_starts)
    superseded = {("trace", t_names[f]) for f in t_upd.source_files()}

    def write_traces(pos, is_extra, segs):
        dmy = np.concatenate([np.full(n, st.date_format == T.DMY) for _n, n, st in segs])
        spanish = np.concatenate([np.full(n, st.spanish) for _n, n, st in segs])
        variant = t_upd.first_variant(pos)
        if is_extra.any():
            # a later version is the calibrated row: typed as in its own file, dates in
            # the style of the file that carries it
            spanish[is_extra] = t_spanish[np.searchsorted(t_starts, pos[is_extra], side="right") - 1]
            variant[is_extra] = U.V_FINAL
        return tw.chunk(pos, dmy, spanish, variant)

    def trace_ids(pos):
        return T.concat("T", T.zfill(pop.tn_year[pos], 4), "-", T.zfill(pop.tn_seq[pos], 7))

    def trace_details(pos, kind):
        fields = np.array(U.TRACE_FIELDS)[tw.corrected_fields(pos)]
        return [f" ({f} corrected)" if k == U.U_CORRECTED else "" for f, k in zip(fields, kind.tolist(), strict=True)]

    t_extras = {
        f: Extra(t_upd.pos[sel], lambda sel=sel: _update_ledger(t_upd, sel, trace_ids, t_names, t_starts, trace_details))
        for f, sel in t_upd.by_target()
    }
    files += _write_batched(out, "trace", TRACE_HEADER, trace_files, write_traces, ledger, t_extras)
    rows_by_kind["trace"] = sum(f["rows"] for f in files if f["kind"] == "trace")

    # 3. Seizures, one file per year; some rows are sent a second time, in the same file
    #    (a duplicate key) or the next one (unchanged), and some are corrected in the
    #    next one. Firearm ids (hence serial numbers) of the reported rifles and the
    #    seizures follow the traces.
    reports = build_reports(seed, plan, rates, pop, pop.n_firearms)
    seiz = build_seizures(seed, plan, rates, int(reports["fid"].max()) + 1)
    seiz["fix"] = U.choose_seizure_corrections(seed, urates, seiz)
    sw = SeizureWriter(seed, seiz, tw.cat)
    years = seiz["year"]
    dup_rows: dict[int, tuple] = {}
    fix_rows: dict[int, tuple] = {}
    pending: list[tuple] = []
    year_list = [int(y) for y in np.unique(years)]
    for yi, y in enumerate(year_list):
        idx_all = np.flatnonzero(years == y)
        name = f"southbound_seizures_{y}.csv"
        style = _style(rng_files, "seizures")
        fw = FileWriter(out / "seizures" / name, SEIZURE_HEADER, style)
        for c in range(0, len(idx_all), CHUNK_ROWS):
            idx = idx_all[c : c + CHUNK_ROWS]
            data, led = sw.chunk(idx, style, fw.rows, name, dup_rows, fix_rows)
            fw.write_text(data, len(idx))
            ledger.add("seizures", name, led)
        # rows of the previous file sent again or corrected, then rows of this file sent
        # twice (at the end of their own file, or of the next one)
        now = [p for p in pending]
        pending = []
        for k in sorted(dup_rows):
            line, src_file, src_row, sid = dup_rows[k]
            if sw.h.u(np.array([k]), "s-dup-next")[0] < 0.5 and yi + 1 < len(year_list):
                pending.append((k, line, src_file, src_row, sid, "duplicate_seizure", "unchanged", ""))
            else:
                now.append((k, line, src_file, src_row, sid, "duplicate_seizure", "quarantine", ""))
        for k in sorted(fix_rows):
            line, src_file, src_row, sid, fld = fix_rows[k]
            pending.append((k, line, src_file, src_row, sid, "corrected_row", "version_changed", f" ({fld} corrected)"))
        pending.sort(key=lambda t: t[0])
        dup_rows.clear()
        fix_rows.clear()
        recs = []
        for _k, line, src_file, src_row, sid, defect, handling, extra in now:
            fw.write_text((line + style.line_end).encode("utf-8"), 1)
            if handling == "quarantine":
                detail = f"same seizure_id as {src_file} row {src_row}"
            else:
                detail = U.earlier_detail(src_file, src_row) + extra
            recs.append((fw.rows, sid, defect, handling, detail))
        if recs:
            ledger.add(
                "seizures", name,
                pl.DataFrame(
                    {
                        "row": [r[0] for r in recs], "record_id": [r[1] for r in recs],
                        "defect": [r[2] for r in recs], "handling": [r[3] for r in recs],
                        "detail": [r[4] for r in recs],
                    }
                ),
            )
        meta = fw.close()
        rows_by_kind["seizures"] += meta["rows"]
        files.append({"kind": "seizures", "name": name, "role": "normal", **meta})
    assert not pending, "seizure rows left for a file after the last one"

    # 4. Multiple sales (Demand Letter 3), one file per report month; some rows are sent
    #    again unchanged in a later month's file
    dw = DL3Writer(tw)
    rmonth = P.months_of(reports["report_day"])
    dl3_files = [
        (f"dl3_multiple_sales_{_month_label(int(rmonth[s]))}.csv", s, e, _style(rng_files, "multiple_sales"))
        for s, e in _runs(rmonth)
    ]
    d_starts = np.array([s for _n, s, _e, _st in dl3_files], dtype=np.int64)
    d_names = [n for n, *_ in dl3_files]
    d_upd = U.choose_dl3_resends(seed, urates, reports, d_starts)
    superseded |= {("multiple_sales", d_names[f]) for f in d_upd.source_files()}

    def dl3_ids(pos):
        return T.concat("DL3-", T.zfill(reports["ryear"][pos], 4), "-", T.zfill(reports["rid"][pos], 6))

    d_extras = {
        f: Extra(d_upd.pos[sel], lambda sel=sel: _update_ledger(d_upd, sel, dl3_ids, d_names, d_starts))
        for f, sel in d_upd.by_target()
    }
    files += _write_batched(
        out, "multiple_sales", DL3_HEADER, dl3_files, lambda pos, _x, _segs: dw.chunk(reports, pos), ledger, d_extras
    )
    rows_by_kind["multiple_sales"] = sum(f["rows"] for f in files if f["kind"] == "multiple_sales")
    rows_by_kind["licensees"] = sum(f["rows"] for f in files if f["kind"] == "licensees")

    # 5. File-level defects: extra files, so rejecting them loses nothing
    file_defects = _file_defects(out, files, rates, np.random.default_rng([seed, 61]), superseded)
    files.extend(file_defects)
    ledger.close()
    _expect_ingest(files, ledger)

    counts = dict(sorted(ledger.counts.items()))
    for f in file_defects:
        counts[f"file_{f['role']}"] = counts.get(f"file_{f['role']}", 0) + 1
    expected = expected_figures(scale, rates)
    expected_ingest = {}
    for f in files:
        if "expected_ingest" in f:
            tot = expected_ingest.setdefault(f["kind"], dict.fromkeys(f["expected_ingest"], 0))
            for k, v in f["expected_ingest"].items():
                tot[k] += v
    manifest = {
        "generator": "tracepipe.generate",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "licensee_scale": plan.licensee_scale,
        "defect_rates": rates.to_dict(),
        "update_rates": urates.to_dict(),
        "expected_figures": expected,
        "counts": {
            "rows_in_normal_files": rows_by_kind,
            "trace_requests": len(pop.req_fid),
            "trace_firearms": pop.n_firearms,
            "trace_firearms_by_group": {
                P.GROUP_NAMES[g]: int(c) for g, c in enumerate(np.bincount(pop.group, minlength=len(P.GROUP_NAMES)))
            },
            "update_rows": {
                kind: sum(
                    n for (k, _f), h in ledger.by_file.items() if k == kind
                    for hd, n in h.items() if hd in U.UPDATE_HANDLING
                )
                for kind in ("trace", "seizures", "multiple_sales")
            },
            "defects": counts,
            "defects_by_handling": dict(sorted(ledger.handling.items())),
            "expected_ingest": expected_ingest,
        },
        "files": files,
        "notes": {
            "roles": "normal files hold every row of the calibrated data; all other roles are extra copies or junk",
            "defects_csv": "one row per injected row-level defect; row is the 1-based data row (header excluded)",
            "updates": (
                "a later row for a key first sent in an earlier file is a new version (handling version_new, "
                "version_changed) or identical to the current version (unchanged); the current version of "
                "every key is the calibrated data"
            ),
            "expected_ingest": (
                "per file, what the ingest reports when the landing folder is loaded in file-name order: "
                "rows_read = rows_loaded + rows_quarantined, rows_loaded = rows_new + rows_changed + rows_unchanged"
            ),
        },
    }
    (out / "_generator" / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    n_files = sum(1 for _ in files) + 2
    return GenerateSummary(
        out=out,
        seed=seed,
        scale=scale,
        files_written=n_files,
        rows=rows_by_kind,
        defects=counts,
        seconds=round(time.perf_counter() - started, 3),
        expected=expected,
    )


FILE_HANDLING = {
    "normal": "load",
    "resent_same_bytes": "ignore_same_bytes",
    "resent_new_bytes": "unchanged",
    "truncated": "reject",
    "empty": "reject",
    "wrong_kind": "reject",
    "bad_header": "reject",
    "bad_encoding": "reject",
}


def _expect_ingest(files: list[dict], ledger: Ledger) -> None:
    """Give every file its ``handling`` and every loadable file of a keyed kind
    (trace, seizures, multiple sales) the row counts its ingest must report."""
    by_name = {}
    for f in files:
        f["handling"] = FILE_HANDLING[f["role"]]
        if f["kind"] == "licensees" or f["role"] != "normal":
            continue
        h = ledger.by_file.get((f["kind"], f["name"]), {})
        quarantined = h.get("quarantine", 0)
        changed = h.get("version_new", 0) + h.get("version_changed", 0)
        unchanged = h.get("unchanged", 0)
        f["expected_ingest"] = {
            "rows_read": f["rows"],
            "rows_loaded": f["rows"] - quarantined,
            "rows_quarantined": quarantined,
            "rows_new": f["rows"] - quarantined - changed - unchanged,
            "rows_changed": changed,
            "rows_unchanged": unchanged,
        }
        by_name[(f["kind"], f["name"])] = f
    for f in files:
        if f["role"] == "resent_new_bytes":
            # the same rows as its source, loaded right after it: every row that is not
            # quarantined is identical to the current version of its key
            src = by_name[(f["kind"], f["source"])]["expected_ingest"]
            q = src["rows_quarantined"]
            f["expected_ingest"] = {
                "rows_read": src["rows_read"], "rows_loaded": src["rows_read"] - q, "rows_quarantined": q,
                "rows_new": 0, "rows_changed": 0, "rows_unchanged": src["rows_read"] - q,
            }


def _prepare(out: Path) -> None:
    manifest = out / "_generator" / "manifest.json"
    ours: set[tuple[str, str]] = set()
    if manifest.exists():
        try:
            ours = {(f["kind"], f["name"]) for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]}
        except (ValueError, KeyError) as exc:
            raise FileExistsError(f"{manifest} cannot be read ({exc}); remove it or choose another folder") from exc
    foreign = []
    for kind in KINDS:
        folder = out / kind
        if folder.is_dir():
            foreign += [f"{kind}/{p.name}" for p in sorted(folder.iterdir()) if (kind, p.name) not in ours]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileExistsError(
            f"{out} already holds files the generator did not write ({shown}); nothing was "
            "written. Generate into an empty folder, or move those files away first."
        )
    for kind, name in ours:
        path = out / kind / name
        if path.is_file():
            path.unlink()
    for kind in (*KINDS, "_generator"):
        (out / kind).mkdir(parents=True, exist_ok=True)


# --- file-level defects --------------------------------------------------------------------


def _decode(data: bytes, encoding: str) -> str:
    if encoding == "utf-8-sig":
        return data[3:].decode("utf-8")
    return data.decode("cp1252" if encoding == "cp1252" else encoding)


def _pick_source(rng, files, kind: str, used: set, avoid: set = frozenset()) -> dict | None:
    cands = [
        f for f in files
        if f["kind"] == kind and f["role"] == "normal" and f["rows"] >= 5 and f["name"] not in used
        and (kind, f["name"]) not in avoid
    ]
    if not cands:
        return None
    cands.sort(key=lambda f: (f["rows"], f["name"]))
    f = cands[int(rng.integers(0, min(len(cands), 12)))]
    used.add(f["name"])
    return f


def _record(out: Path, kind: str, name: str, data: bytes, role: str, **extra) -> dict:
    path = out / kind / name
    path.write_bytes(data)
    return {"kind": kind, "name": name, "role": role, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), **extra}


def _file_defects(
    out: Path, files: list[dict], rates: DefectRates, rng: np.random.Generator, superseded: set = frozenset()
) -> list[dict]:
    """Extra files. A file re-sent with new bytes is copied from a file none of whose rows
    has a later version (``superseded``), so each of its rows equals the current version
    of its key whatever the order in which the files are loaded."""
    made: list[dict] = []
    used: set = set()
    cycle = ("trace", "multiple_sales", "seizures", "trace")

    for i in range(rates.resent_same_bytes):
        if i == 1:
            # a licensee snapshot sent again under ATF's other file name, same bytes
            src = next((f for f in files if f["kind"] == "licensees" and f["name"].endswith("-complete.txt")), None)
            if src:
                data = (out / "licensees" / src["name"]).read_bytes()
                name = src["name"].replace("-complete.txt", ".txt")
                made.append(_record(out, "licensees", name, data, "resent_same_bytes", source=src["name"], rows=src["rows"]))
                continue
        kind = cycle[i % len(cycle)]
        src = _pick_source(rng, files, kind, used)
        if src:
            data = (out / kind / src["name"]).read_bytes()
            made.append(_record(out, kind, src["name"].replace(".csv", "_resent.csv"), data, "resent_same_bytes", source=src["name"], rows=src["rows"]))

    for i in range(rates.resent_new_bytes):
        kind = cycle[(i + 0) % len(cycle)] if i % 2 == 0 else "multiple_sales"
        src = _pick_source(rng, files, kind, used, superseded)
        if not src:
            continue
        text = _decode((out / kind / src["name"]).read_bytes(), src["encoding"])
        if src["line_end"] == "CRLF":
            text, line_end = text.replace("\r\n", "\n"), "LF"
        else:
            text, line_end = text.replace("\n", "\r\n"), "CRLF"
        enc = "utf-8" if src["encoding"] != "utf-8" else "utf-8-sig"
        data = (b"\xef\xbb\xbf" if enc == "utf-8-sig" else b"") + text.encode("utf-8")
        made.append(
            _record(out, kind, src["name"].replace(".csv", "_v2.csv"), data, "resent_new_bytes",
                    source=src["name"], rows=src["rows"], encoding=enc, line_end=line_end,
                    date_format=src.get("date_format"))
        )

    for _ in range(rates.truncated):
        src = _pick_source(rng, files, "trace", used)
        if not src:
            continue
        data = (out / "trace" / src["name"]).read_bytes()
        nl = b"\r\n" if src["line_end"] == "CRLF" else b"\n"
        lines = data.split(nl)
        keep = max(2, int(len(lines) * 0.6))
        cut_line = lines[keep]
        partial = cut_line[: max(1, len(cut_line) * 2 // 5)]
        cut = nl.join(lines[:keep]) + nl + partial
        made.append(
            _record(out, "trace", src["name"].replace(".csv", "_part.csv"), cut, "truncated",
                    source=src["name"], rows_complete=keep - 1, cut_at_byte=len(cut),
                    encoding=src["encoding"], line_end=src["line_end"], date_format=src.get("date_format"))
        )

    for i in range(rates.empty):
        kind = ("trace", "seizures", "multiple_sales")[i % 3]
        src = _pick_source(rng, files, kind, used)
        name = src["name"].replace(".csv", "_b.csv") if src else f"{kind}_empty.csv"
        made.append(_record(out, kind, name, b"", "empty"))

    for i in range(rates.wrong_kind):
        src_kind, dst_kind = (("seizures", "trace"), ("trace", "multiple_sales"))[i % 2]
        src = _pick_source(rng, files, src_kind, used)
        if src:
            # other line ends than the original, so that the copy is not byte-identical
            # to a file already delivered (a loader may skip known bytes before reading)
            text = _decode((out / src_kind / src["name"]).read_bytes(), src["encoding"])
            if src["line_end"] == "CRLF":
                text, line_end = text.replace("\r\n", "\n"), "LF"
            else:
                text, line_end = text.replace("\n", "\r\n"), "CRLF"
            made.append(
                _record(out, dst_kind, src["name"], text.encode("utf-8"), "wrong_kind",
                        source=f"{src_kind}/{src['name']}", actual_kind=src_kind, rows=src["rows"],
                        encoding="utf-8", line_end=line_end)
            )

    for i in range(rates.bad_header):
        kind = ("trace", "seizures")[i % 2]
        src = _pick_source(rng, files, kind, used)
        if not src:
            continue
        data = (out / kind / src["name"]).read_bytes()
        bom = data.startswith(b"\xef\xbb\xbf")
        body = data[3:] if bom else data
        nl = b"\r\n" if src["line_end"] == "CRLF" else b"\n"
        header, rest = body.split(nl, 1)
        if i % 2 == 0:
            new, how = rest, "header line missing"
            name = src["name"].replace(".csv", "_noheader.csv")
        else:
            new = header.replace(b"serial_number", b"serial_no").replace(b"seizure_date", b"date") + nl + rest
            how = "columns renamed (serial_no, date)"
            name = src["name"].replace(".csv", "_fixed.csv")
        made.append(_record(out, kind, name, (b"\xef\xbb\xbf" if bom else b"") + new, "bad_header", source=src["name"], rows=src["rows"], detail=how))

    for _ in range(rates.bad_encoding):
        src = _pick_source(rng, files, "multiple_sales", used)
        if not src:
            continue
        text = _decode((out / "multiple_sales" / src["name"]).read_bytes(), src["encoding"])
        made.append(
            _record(out, "multiple_sales", src["name"].replace(".csv", "_utf16.csv"), text.encode("utf-16"),
                    "bad_encoding", source=src["name"], rows=src["rows"], encoding="utf-16")
        )
    return made
