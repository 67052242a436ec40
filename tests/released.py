"""Generated data shared by the tests of a session (built once for all pytest-xdist
workers, ``conftest.shared_once``, and only read):

- one release built from generated data, for the demo's, report, dictionary, query,
  audit and defect tests: ``tracepipe demo --no-airflow`` into a new data folder (the
  exports generated at scale 0.01, then ingest, transform, audit, publish and report,
  the real steps; about 20-30 s here), with what the command printed;
- one landing of the default exports (scale 1, seed 2016), for the generator's and the
  GAO reproduction's tests (about 10 s to generate)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import make_settings, shared_once

from pipelines.config import Settings

SCALE = 0.01  # the demo's defaults
SEED = 2016
KEY = "test-key"  # make_settings'


def _build_release(folder: Path) -> None:
    """``tracepipe demo --no-airflow`` (its defaults are SCALE and SEED) into a new data
    folder. What it printed, and the outcome of the run it made (``steps.run_all``'s,
    recorded on its way back to the command), are kept beside the folder."""
    from pipelines import cli, steps

    settings = make_settings(folder / "data")
    settings.ensure_dirs()  # the session's dbt state, as every test's data folder has
    outcomes: list[dict] = []
    run_all = steps.run_all

    def recorded(*args, **kwargs) -> dict:
        outcomes.append(run_all(*args, **kwargs))
        return outcomes[-1]

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        patch.setattr(steps, "run_all", recorded)
        patch.setenv("TRACEPIPE_DATA_DIR", str(settings.data_dir))
        patch.setenv("TRACEPIPE_PII_KEY", KEY)
        for name in ("TRACEPIPE_KEEP_RELEASES", "TRACEPIPE_LOCK_WAIT_SECONDS", "NO_COLOR"):
            patch.delenv(name, raising=False)
        code = cli.main(["demo", "--no-airflow"])
    (outcome,) = outcomes
    assert code == 0 and outcome["audit"]["decision"] == "publish", err.getvalue()[-3000:]
    (folder / "outcome.json").write_text(json.dumps(outcome), encoding="utf-8")
    demo = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
    (folder / "demo.json").write_text(json.dumps(demo), encoding="utf-8")


def _release_folder(tmp_path_factory) -> Path:
    return shared_once(tmp_path_factory, "generated-release", _build_release)


def generated_release(tmp_path_factory) -> tuple[Settings, dict]:
    """(settings, outcome of steps.run_all) for a data folder holding the release. The
    folder is every worker's: read it, never write to it."""
    folder = _release_folder(tmp_path_factory)
    outcome = json.loads((folder / "outcome.json").read_text(encoding="utf-8"))
    return make_settings(folder / "data"), outcome


def demo_output(tmp_path_factory) -> tuple[int, str, str]:
    """The exit status, standard output and standard error of the demo that made the
    generated release."""
    demo = json.loads((_release_folder(tmp_path_factory) / "demo.json").read_text("utf-8"))
    return demo["code"], demo["out"], demo["err"]


def _generate_scale_1(folder: Path) -> None:
    from pipelines.generate import DEFAULT_SEED, generate

    generate(out=folder / "landing", scale=1.0, seed=DEFAULT_SEED)


def scale_1_landing(tmp_path_factory) -> Path:
    """The default exports, generated once: read them, or copy them to change them."""
    return shared_once(tmp_path_factory, "scale-1", _generate_scale_1) / "landing"


def copy_landing(landing: Path, settings: Settings) -> None:
    """Put a copy of a generated landing folder in ``settings``' landing folder."""
    shutil.copytree(landing, settings.landing_dir, dirs_exist_ok=True)
