"""Generated data shared by the tests of a session (of a pytest-xdist worker):

- one release built from generated data, for the report, dictionary and query tests:
  ``tracepipe generate`` at scale 0.01 (the demo's), then ingest, transform, audit,
  publish and report, the real steps (about 30-40 s here);
- one landing of the default exports (scale 1, seed 2016), for the generator's and the
  GAO reproduction's tests (about 10 s to generate)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import make_settings

from pipelines.config import Settings

SCALE = 0.01
SEED = 2016
_built: dict = {}


def generated_release(tmp_path_factory) -> tuple[Settings, dict]:
    """(settings, outcome of steps.run_all) for a data folder holding the release."""
    if "release" not in _built:
        from pipelines import steps
        from pipelines.generate import generate

        root: Path = tmp_path_factory.mktemp("generated-release") / "data"
        settings = make_settings(root)
        settings.ensure_dirs()
        settings.ensure_landing()
        generate(out=settings.landing_dir, scale=SCALE, seed=SEED)
        outcome = steps.run_all(settings)
        assert outcome["audit"]["decision"] == "publish", outcome["audit"]["reasons"]
        _built["release"] = (settings, outcome)
    return _built["release"]


def scale_1_landing(tmp_path_factory) -> Path:
    """The default exports, generated once: read them, or copy them to change them."""
    if "scale_1" not in _built:
        from pipelines.generate import DEFAULT_SEED, generate

        out: Path = tmp_path_factory.mktemp("scale-1") / "landing"
        generate(out=out, scale=1.0, seed=DEFAULT_SEED)
        _built["scale_1"] = out
    return _built["scale_1"]


def copy_landing(landing: Path, settings: Settings) -> None:
    """Put a copy of a generated landing folder in ``settings``' landing folder."""
    shutil.copytree(landing, settings.landing_dir, dirs_exist_ok=True)
