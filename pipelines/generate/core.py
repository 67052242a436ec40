"""``generate``: write a landing folder of raw exports and its ground truth.

Order of work: plan (exact counts) -> licensee population -> trace population (codes
only) -> files, streamed in chunks: licensee snapshots, trace files by request month,
seizure files by year, multiple-sales files by report month -> extra files carrying the
file-level defects -> ``_generator/defects.csv`` and ``_generator/manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate import catalog
from pipelines.generate import population as P
from pipelines.generate import text as T
from pipelines.generate.licensees import build_licensees, snapshot_bytes
from pipelines.generate.multiple_sales import DL3_HEADER, DL3Writer, build_reports
from pipelines.generate.plan import DEFAULT_SEED, DefectRates, expected_figures, make_plan
from pipelines.generate.seizures import SEIZURE_HEADER, SeizureWriter, build_seizures
from pipelines.generate.traces import TRACE_HEADER, FileStyle, TraceWriter

GENERATOR_VERSION = 1
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
        for d, c in frame.group_by("handling").len().iter_rows():
            self.handling[d] = self.handling.get(d, 0) + c

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


def _write_batched(out: Path, kind: str, header, specs, make_chunk, ledger: Ledger) -> list[dict]:
    """Write files given as (name, start, end, style) over one row range, in chunks of
    about CHUNK_ROWS rows: a big file is split over several chunks, small files share
    one. ``make_chunk(positions, segments)`` returns LF-ended CSV lines and the defect
    ledger of the chunk (column ``i`` = position)."""
    writers: dict[int, FileWriter] = {}
    metas: list[dict] = []
    batch: list[tuple[int, int, int]] = []
    size = 0

    def flush():
        nonlocal batch, size
        if not batch:
            return
        pos = np.concatenate([np.arange(a, b) for _f, a, b in batch])
        data, led = make_chunk(pos, [(specs[f][0], a, b, specs[f][3]) for f, a, b in batch])
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        start = 0
        first_i = 0
        for f, a, b in batch:
            name, _s, _e, style = specs[f]
            fw = writers.get(f)
            if fw is None:
                fw = writers[f] = FileWriter(out / kind / name, header, style)
            n = b - a
            end = int(nl[first_i + n - 1]) + 1
            part = data[start:end]
            if style.line_end != "\n":
                part = part.replace(b"\n", style.line_end.encode())
            if led is not None:
                mine = led.filter((pl.col("i") >= first_i) & (pl.col("i") < first_i + n))
                if mine.height:
                    ledger.add(kind, name, mine.with_columns((pl.col("i") - first_i + fw.rows + 1).alias("row")).drop("i"))
            fw.write_text(part, n)
            if b == specs[f][2]:
                metas.append({"kind": kind, "name": name, "role": "normal", **fw.close()})
                del writers[f]
            start = end
            first_i += n
        batch, size = [], 0

    for f, (_name, s, e, _style) in enumerate(specs):
        for a in range(s, e, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, e)
            if size + (b - a) > CHUNK_ROWS:
                flush()
            batch.append((f, a, b))
            size += b - a
    flush()
    return metas


def _month_label(month_index: int) -> str:
    return f"{1970 + month_index // 12:04d}-{month_index % 12 + 1:02d}"


def generate(
    out: Path,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    defects: DefectRates | None = None,
) -> GenerateSummary:
    """Write raw exports calibrated to GAO-16-223 under ``out`` (one folder per kind)
    and the ground truth under ``out/_generator``. Same (scale, seed, defects) give
    byte-identical files.

    ``out`` may be new, empty, or hold an earlier generator output (the files its
    manifest lists are replaced); any other file in a kind folder stops the run, so a
    landing folder with real exports is never touched."""
    started = time.perf_counter()
    rates = defects or DefectRates()
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

    # 2. Traces, one file per request month
    pop = P.build_population(seed, plan, rates)
    tw = TraceWriter(seed, rates, pop, lic)
    rows_by_kind = {k: 0 for k in KINDS}
    month = P.months_of(pop.req_day)
    trace_files = [
        (f"trace_requests_{_month_label(int(month[s]))}.csv", s, e, _style(rng_files, "trace"))
        for s, e in _runs(month)
    ]

    def write_traces(pos, segs):
        dmy = np.concatenate([np.full(b - a, st.date_format == T.DMY) for _n, a, b, st in segs])
        spanish = np.concatenate([np.full(b - a, st.spanish) for _n, a, b, st in segs])
        return tw.chunk(pos, dmy, spanish)

    files += _write_batched(out, "trace", TRACE_HEADER, trace_files, write_traces, ledger)
    rows_by_kind["trace"] = sum(f["rows"] for f in files if f["kind"] == "trace")

    # 3. Seizures, one file per year; some rows are sent a second time. Firearm ids
    #    (hence serial numbers) of the reported rifles and the seizures follow the traces.
    reports = build_reports(seed, plan, rates, pop, pop.n_firearms)
    seiz = build_seizures(seed, plan, rates, int(reports["fid"].max()) + 1)
    sw = SeizureWriter(seed, seiz, tw.cat)
    years = seiz["year"]
    dup_rows: dict[int, tuple] = {}
    pending: list[tuple] = []
    year_list = [int(y) for y in np.unique(years)]
    for yi, y in enumerate(year_list):
        idx_all = np.flatnonzero(years == y)
        name = f"southbound_seizures_{y}.csv"
        style = _style(rng_files, "seizures")
        fw = FileWriter(out / "seizures" / name, SEIZURE_HEADER, style)
        for c in range(0, len(idx_all), CHUNK_ROWS):
            idx = idx_all[c : c + CHUNK_ROWS]
            data, led = sw.chunk(idx, style, fw.rows, name, dup_rows)
            fw.write_text(data, len(idx))
            ledger.add("seizures", name, led)
        # rows sent again: at the end of their own file or of the next one
        now = [p for p in pending]
        pending = []
        for k in sorted(dup_rows):
            line, src_file, src_row, sid = dup_rows[k]
            if src_file == name and (sw.h.u(np.array([k]), "s-dup-next")[0] < 0.5 and yi + 1 < len(year_list)):
                pending.append(dup_rows[k])
            elif src_file == name:
                now.append(dup_rows[k])
        dup_rows.clear()
        recs = []
        for line, src_file, src_row, sid in now:
            fw.write_text((line + style.line_end).encode("utf-8"), 1)
            recs.append((fw.rows, sid, f"same seizure_id as {src_file} row {src_row}"))
        if recs:
            ledger.add(
                "seizures", name,
                pl.DataFrame(
                    {
                        "row": [r[0] for r in recs], "record_id": [r[1] for r in recs],
                        "defect": "duplicate_seizure", "handling": "quarantine", "detail": [r[2] for r in recs],
                    }
                ),
            )
        meta = fw.close()
        rows_by_kind["seizures"] += meta["rows"]
        files.append({"kind": "seizures", "name": name, "role": "normal", **meta})

    # 4. Multiple sales (Demand Letter 3), one file per report month
    dw = DL3Writer(tw)
    rmonth = P.months_of(reports["report_day"])
    dl3_files = [
        (f"dl3_multiple_sales_{_month_label(int(rmonth[s]))}.csv", s, e, _style(rng_files, "multiple_sales"))
        for s, e in _runs(rmonth)
    ]
    files += _write_batched(
        out, "multiple_sales", DL3_HEADER, dl3_files, lambda pos, segs: dw.chunk(reports, pos), ledger
    )
    rows_by_kind["multiple_sales"] = sum(f["rows"] for f in files if f["kind"] == "multiple_sales")
    rows_by_kind["licensees"] = sum(f["rows"] for f in files if f["kind"] == "licensees")

    # 5. File-level defects: extra files, so rejecting them loses nothing
    file_defects = _file_defects(out, files, rates, np.random.default_rng([seed, 61]))
    files.extend(file_defects)
    ledger.close()

    counts = dict(sorted(ledger.counts.items()))
    for f in file_defects:
        counts[f"file_{f['role']}"] = counts.get(f"file_{f['role']}", 0) + 1
    expected = expected_figures(scale, rates)
    manifest = {
        "generator": "tracepipe.generate",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "licensee_scale": plan.licensee_scale,
        "defect_rates": rates.to_dict(),
        "expected_figures": expected,
        "counts": {
            "rows_in_normal_files": rows_by_kind,
            "trace_requests": len(pop.req_fid),
            "trace_firearms": pop.n_firearms,
            "trace_firearms_by_group": {
                P.GROUP_NAMES[g]: int(c) for g, c in enumerate(np.bincount(pop.group, minlength=len(P.GROUP_NAMES)))
            },
            "defects": counts,
            "defects_by_handling": dict(sorted(ledger.handling.items())),
        },
        "files": files,
        "notes": {
            "roles": "normal files hold every row of the calibrated data; all other roles are extra copies or junk",
            "defects_csv": "one row per injected row-level defect; row is the 1-based data row (header excluded)",
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


def _pick_source(rng, files, kind: str, used: set) -> dict | None:
    cands = [f for f in files if f["kind"] == kind and f["role"] == "normal" and f["rows"] >= 5 and f["name"] not in used]
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


def _file_defects(out: Path, files: list[dict], rates: DefectRates, rng: np.random.Generator) -> list[dict]:
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
        src = _pick_source(rng, files, kind, used)
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
