"""One release built from generated data, shared by the report, dictionary and query
tests of a session: ``tracepipe generate`` at scale 0.01 (the demo's), then ingest,
transform, audit, publish and report, the real steps (about 30-40 s here)."""

from __future__ import annotations

from pathlib import Path

from conftest import make_settings

from pipelines.config import Settings

SCALE = 0.01
SEED = 2016
_built: dict[str, tuple[Settings, dict]] = {}


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
