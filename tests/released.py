"""Generated data shared by the tests of a session (built once for all pytest-xdist
workers, ``conftest.shared_once``, and only read):

- one release built from generated data, for the report, dictionary, query, audit and
  defect tests: ``tracepipe generate`` at scale 0.01 (the demo's), then ingest,
  transform, audit, publish and report, the real steps (about 20-30 s here);
- one landing of the default exports (scale 1, seed 2016), for the generator's and the
  GAO reproduction's tests (about 10 s to generate)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import make_settings, shared_once

from pipelines.config import Settings

SCALE = 0.01
SEED = 2016


def _build_release(folder: Path) -> None:
    from pipelines import steps
    from pipelines.generate import generate

    settings = make_settings(folder / "data")
    settings.ensure_dirs()
    settings.ensure_landing()
    generate(out=settings.landing_dir, scale=SCALE, seed=SEED)
    outcome = steps.run_all(settings)
    assert outcome["audit"]["decision"] == "publish", outcome["audit"]["reasons"]
    (folder / "outcome.json").write_text(json.dumps(outcome), encoding="utf-8")


def generated_release(tmp_path_factory) -> tuple[Settings, dict]:
    """(settings, outcome of steps.run_all) for a data folder holding the release. The
    folder is every worker's: read it, never write to it."""
    folder = shared_once(tmp_path_factory, "generated-release", _build_release)
    outcome = json.loads((folder / "outcome.json").read_text(encoding="utf-8"))
    return make_settings(folder / "data"), outcome


def _generate_scale_1(folder: Path) -> None:
    from pipelines.generate import DEFAULT_SEED, generate

    generate(out=folder / "landing", scale=1.0, seed=DEFAULT_SEED)


def scale_1_landing(tmp_path_factory) -> Path:
    """The default exports, generated once: read them, or copy them to change them."""
    return shared_once(tmp_path_factory, "scale-1", _generate_scale_1) / "landing"


def copy_landing(landing: Path, settings: Settings) -> None:
    """Put a copy of a generated landing folder in ``settings``' landing folder."""
    shutil.copytree(landing, settings.landing_dir, dirs_exist_ok=True)
