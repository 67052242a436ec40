"""The release manifest: ``published/releases/<release_id>/manifest.json``, as one type.

The publish writes it once, beside the marts (pipelines/publish.py), and puts the same
JSON in the ``manifest`` column of the release's ``_release`` table, whose columns
pipelines/dictionary.py describes from the field notes below. The plan (is anything new
since the current release?), the command line (``status``, ``report``), the release
history, the figures report, the audit (the current release's row counts and the audit
that published it) and the partner export read it through ``Manifest``; none reads its
keys.

Each field is described once, here (``doc``). The JSON keeps the shape analysts have
read since the first release: one object whose keys are the fields, in this order, with
``withheld`` and ``data`` left out when there is nothing to say. A manifest written by an
earlier version lacks the fields added since; they read as their defaults, so old
releases stay readable and comparable. Keys this version does not know are ignored.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

FILE_NAME = "manifest.json"


class ManifestError(ValueError):
    """A manifest that is not JSON, or not a manifest's shape: says which file and key."""


def doc(text: str, **kwargs: Any) -> Any:
    """A field with its description (``metadata["doc"]``) and default."""
    return field(metadata={"doc": text}, **kwargs)


def _object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ManifestError(f"{where}: expected an object, found {type(data).__name__}")
    return data


def _known(cls: type, data: Any, where: str) -> dict[str, Any]:
    """The keys of the JSON object ``data`` that are fields of ``cls``."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in _object(data, where).items() if k in names}


def _counts(data: Any, where: str) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in _object(data, where).items()}
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"{where}: a count is not a whole number ({exc})") from exc


@dataclass(frozen=True)
class InputFile:
    """One file of the load ledger (``meta.load_ledger``) when the release was built. Every
    file ever landed is listed, whatever became of it; only those with status ``loaded``
    are in the release. Counts are null where the ledger has none (a rejected file)."""

    kind: str = doc("The export kind (its landing folder): trace, licensees, ...", default="")
    file_name: str = doc("The file's name as it landed.", default="")
    load_id: str = doc("The load's id: the first 16 hex digits of its SHA-256.", default="")
    sha256: str = doc("SHA-256 of the file's bytes: how the ingest knows a file.", default="")
    status: str = doc(
        "loaded, rejected (set aside whole), duplicate_content (bytes loaded before under "
        "another name) or retracted (taken back by an operator).",
        default="",
    )
    rows_read: int | None = doc("Rows read from the file.", default=None)
    rows_loaded: int | None = doc("Rows loaded into raw: new + changed + unchanged.", default=None)
    rows_new: int | None = doc("Rows of a key not seen before.", default=None)
    rows_changed: int | None = doc("Rows that are a new version of a known key.", default=None)
    rows_unchanged: int | None = doc(
        "Rows equal to the current version of their key.", default=None
    )
    rows_quarantined: int | None = doc("Rows put in quarantine, with a reason.", default=None)
    retracted_at: str | None = doc("When the load was retracted (ISO time), or null.", default=None)
    retraction_reason: str | None = doc("Why it was retracted, or null.", default=None)

    @classmethod
    def from_json(cls, data: Any, where: str = "inputs") -> InputFile:
        return cls(**_known(cls, data, where))


@dataclass(frozen=True)
class KindRows:
    """Rows of one export kind over its loaded files: read = new + changed + unchanged +
    quarantined, and loaded = new + changed + unchanged."""

    read: int = doc("Rows read.", default=0)
    loaded: int = doc("Rows loaded into raw.", default=0)
    new: int = doc("Rows of a key not seen before (0 in manifests before versions).", default=0)
    changed: int = doc("New versions of known keys (0 before versions).", default=0)
    unchanged: int = doc(
        "Rows equal to their key's current version (0 before versions).", default=0
    )
    quarantined: int = doc("Rows quarantined.", default=0)

    @classmethod
    def from_json(cls, data: Any, where: str = "rows_by_kind") -> KindRows:
        return cls(**_counts(_known(cls, data, where), where))


@dataclass(frozen=True)
class ValidationSummary:
    """The audit's outcome in brief (the whole of it is the report ``validation_report``)."""

    decision: str = doc("The audit's decision: publish or hold.", default="")
    n_checks: int | None = doc("Checks run.", default=None)
    n_blocking: int | None = doc("Checks that failed and block a release.", default=None)
    n_warnings: int | None = doc("Checks that failed and only warn.", default=None)
    warnings: tuple[str, ...] = doc("One line per warning.", default=())
    data_docs: str = doc(
        "Where the audit's Great Expectations Data Docs are, if built.", default=""
    )

    @classmethod
    def from_json(cls, data: Any, where: str = "validation_summary") -> ValidationSummary:
        known = _known(cls, data, where)
        known["warnings"] = tuple(str(w) for w in known.get("warnings") or ())
        known["data_docs"] = str(known.get("data_docs") or "")
        return cls(**known)


@dataclass(frozen=True)
class DataOrigin:
    """Where the release's data came from. A loaded file is generated when its SHA-256 is
    one the generator's manifest (``landing/_generator/manifest.json``) lists."""

    origin: str = doc(
        "exports (no generated file), generated (all), mixed, or none (nothing loaded).",
        default="none",
    )
    loaded_files: int = doc("Files loaded (status loaded).", default=0)
    generated_files: int = doc("Of those, files the project's generator wrote.", default=0)
    generator: dict[str, Any] | None = doc(
        "When a file is generated: the generator's name, version, seed, scale and "
        "licensee_scale, as its manifest gives them; left out otherwise.",
        default=None,
    )

    @classmethod
    def from_json(cls, data: Any, where: str = "data") -> DataOrigin:
        known = _known(cls, data, where)
        if known.get("generator") is not None:
            known["generator"] = dict(_object(known["generator"], f"{where}.generator"))
        return cls(**known)


@dataclass(frozen=True)
class Manifest:
    """What a release holds and what it was built from. The caller of the publish gives
    the audited part (``run_id`` to ``rows_by_stage``); the publish adds the rest."""

    run_id: str = doc("The pipeline run that built and audited it.", default="")
    inputs_fingerprint: str = doc(
        "SHA-256 over the live and retracted loads, the code and rules, and the purchaser "
        "key's id: equal fingerprints, equal releases (the plan builds no new release when "
        "it is the current one's). Empty in manifests before it.",
        default="",
    )
    purchaser_key_id: str = doc(
        "The public id of the key purchasers are hashed with; none without a key (the "
        "marts with a purchaser's hash are then withheld). Empty in manifests before it.",
        default="",
    )
    validation_report: str = doc("Path of the audit's validation.json.", default="")
    validation_summary: ValidationSummary = doc(
        "The audit's outcome in brief.", default_factory=ValidationSummary
    )
    inputs: tuple[InputFile, ...] = doc(
        "Every file of the load ledger, with its SHA-256 and row counts.", default=()
    )
    rows_by_kind: dict[str, KindRows] = doc(
        "Rows per export kind, over its loaded files.", default_factory=dict
    )
    rows_by_stage: dict[str, dict[str, int]] = doc(
        "Rows per stage: read, loaded and quarantined by kind, then staging, intermediate "
        "and marts by model. Empty in manifests before it.",
        default_factory=dict,
    )
    validation: str = doc(
        "The audit's decision: publish (a held release is never published).", default=""
    )
    previous_release: str | None = doc(
        "The release that was current when it was published (null for the first).",
        default=None,
    )
    release_id: str = doc("The release's id (its folder under published/releases/).", default="")
    sequence: int = doc(
        "Its place in publish order (1 for the first ever published here); 0 in manifests "
        "before it.",
        default=0,
    )
    published_at: str = doc("When it was published (local time; ISO 8601 in the JSON).", default="")
    code_version: str = doc("git describe of the code that built it.", default="")
    data: DataOrigin | None = doc(
        "Where the data came from; left out when no inputs were recorded.", default=None
    )
    withheld: dict[str, str] = doc(
        "Marts left out of the release, each with the reason; left out when none is.",
        default_factory=dict,
    )
    marts: dict[str, int] = doc("Every published mart with its row count.", default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str = FILE_NAME) -> Manifest:
        """The manifest of a JSON object; missing keys take their defaults."""
        known = _known(cls, data, where)
        try:
            if "validation_summary" in known:
                known["validation_summary"] = ValidationSummary.from_json(
                    known["validation_summary"] or {}, f"{where}: validation_summary"
                )
            known["inputs"] = tuple(
                InputFile.from_json(item, f"{where}: inputs[{i}]")
                for i, item in enumerate(known.get("inputs") or ())
            )
            known["rows_by_kind"] = {
                kind: KindRows.from_json(counts, f"{where}: rows_by_kind.{kind}")
                for kind, counts in _object(known.get("rows_by_kind") or {}, where).items()
            }
            known["rows_by_stage"] = {
                stage: _counts(counts, f"{where}: rows_by_stage.{stage}")
                for stage, counts in _object(known.get("rows_by_stage") or {}, where).items()
            }
            if known.get("data") is not None:
                known["data"] = DataOrigin.from_json(known["data"], f"{where}: data")
            known["withheld"] = {
                str(k): str(v) for k, v in _object(known.get("withheld") or {}, where).items()
            }
            known["marts"] = _counts(known.get("marts") or {}, f"{where}: marts")
            known["sequence"] = int(known.get("sequence") or 0)
        except ManifestError:
            raise
        except (AttributeError, TypeError, ValueError) as exc:
            raise ManifestError(f"{where}: not a release manifest ({exc})") from exc
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``manifest.json`` (and of ``_release.manifest``)."""
        out = dataclasses.asdict(self)
        out["inputs"] = list(out["inputs"])  # JSON has lists, not tuples
        out["validation_summary"]["warnings"] = list(self.validation_summary.warnings)
        if self.data is None:
            del out["data"]
        elif self.data.generator is None:
            del out["data"]["generator"]
        if not self.withheld:
            del out["withheld"]
        return out

    @classmethod
    def read(cls, release_dir: Path) -> Manifest:
        """The manifest of the release folder ``release_dir``. Raises OSError when there is
        none, ``ManifestError`` when it is not a manifest."""
        path = Path(release_dir) / FILE_NAME
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ManifestError(f"{path}: not JSON ({exc})") from exc
        return cls.from_json(data, str(path))

    def write(self, release_dir: Path) -> Path:
        """Write ``release_dir/manifest.json`` whole or not at all (a temporary file,
        flushed, renamed over it); returns its path."""
        path = Path(release_dir) / FILE_NAME
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                json.dump(self.to_json(), handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


def field_doc(name: str, cls: type = Manifest) -> str:
    """The description of a field of ``cls``: the one place it is written."""
    for f in fields(cls):
        if f.name == name:
            return f.metadata["doc"]
    raise KeyError(f"{cls.__name__} has no field {name}")
