"""The command line: every command and every expected mistake, with its exit status and
its message. Mistakes get one sentence and no traceback; messages are printed once, in
plain words (no Python reprs); colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import land_sample, make_settings
from exports import trace_row, write_export
from released import demo_output, generated_release

from pipelines import cli, publish, validate
from pipelines.config import PROJECT_ROOT, NameRefused, Settings, SettingsError, safe_name

KEY = "test-key"
PLANTED_NAME = "ZZPLANTED, PERSON"
PLANTED_ADDRESS = "ZZ 12 HIDDEN LANE"


@pytest.fixture
def data(tmp_path, monkeypatch) -> Settings:
    """An empty data folder (no landing folder, no warehouse, no release) in the env."""
    root = tmp_path / "data"
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(root))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", KEY)
    for name in ("TRACEPIPE_KEEP_RELEASES", "TRACEPIPE_LOCK_WAIT_SECONDS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return make_settings(root)


@pytest.fixture
def released(built_copy, monkeypatch) -> Settings:
    """A private copy of a data folder with a published release, in the env."""
    monkeypatch.setenv("TRACEPIPE_DATA_DIR", str(built_copy.data_dir))
    monkeypatch.setenv("TRACEPIPE_PII_KEY", KEY)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return built_copy


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert_plain(out + err)
    return code, out, err


def assert_plain(said: str) -> None:
    """No traceback and no Python repr in what a command printed."""
    assert "Traceback" not in said, said
    for repr_like in ("PosixPath(", "Summary(", "{'", "<pipelines."):
        assert repr_like not in said, said


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- help ------------------------------------------------------------------------------


def _commands() -> list[str]:
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(sub.choices)


def test_every_command_has_help_with_a_description_its_defaults_and_an_example(capsys):
    commands = _commands()
    assert {"validate", "quarantine", "query", "open", "run", "airflow", "status"} <= set(commands)
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "Exit status" in top and "64" in top and "75" in top
    for command in commands:
        assert cli.main([command, "--help"]) == 0, command
        text = capsys.readouterr().out
        assert f"usage: tracepipe {command}" in text, command
        description = text.split("\n\n")[1]
        assert len(description.split()) >= 8, (command, description)
        assert "example" in text and f"tracepipe {command}" in text.split("example")[-1], command
    assert cli.main(["generate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "(default: 1.0)" in text and "(default: 2016)" in text
    assert "(default: the landing folder)" in text


def test_no_command_shows_the_commands_with_the_usage_status(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    assert "validate" in capsys.readouterr().out


# --- usage mistakes: one sentence, status 64 --------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["generate", "--scale", "-1"], "--scale: must be a number of at least 0.001"),
        (["generate", "--scale", "abc"], "--scale: must be a number of at least 0.001"),
        (["generate", "--seed", "x"], "--seed: must be a whole number"),
        (["report", "--run-id", "../../etc"], "the run id '../../etc' is not allowed"),
        (["audit", "--run-id", ".."], "the run id '..' is not allowed"),
        (["publish", "--run-id", "a/b"], "the run id 'a/b' is not allowed"),
        (["quarantine", "--export", "--name", "../out.csv"], "the file name '../out.csv'"),
        (["ui", "--port", "0"], "--port: must be a port number from 1 to 65535"),
        (["retract", "x.csv"], "the following arguments are required: --reason"),
        (["validate"], "the following arguments are required: FILE"),
        (["nosuch"], "invalid choice: 'nosuch'"),
        (["query", "select 1", "--limit", "-3"], "--limit: must be a whole number"),
    ],
)
def test_a_usage_mistake_is_one_sentence_with_status_64(data, capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_USAGE == 64
    line = one_sentence(err)
    assert says in line and "--help` shows how" in line
    assert out == ""
    assert not data.data_dir.exists()  # refused before anything was made


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("TRACEPIPE_KEEP_RELEASES", "abc", "TRACEPIPE_KEEP_RELEASES must be a whole number"),
        ("TRACEPIPE_KEEP_RELEASES", "0", "of at least 1, not '0'"),
        ("TRACEPIPE_LOCK_WAIT_SECONDS", "-5", "TRACEPIPE_LOCK_WAIT_SECONDS must be a number"),
        ("TRACEPIPE_DBT_THREADS", "two", "TRACEPIPE_DBT_THREADS must be a whole number"),
    ],
)
def test_a_bad_setting_is_one_sentence_naming_the_variable(
    data, capsys, monkeypatch, name, value, says
):
    monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "status")
    assert code == cli.EXIT_USAGE
    line = one_sentence(err)
    assert says in line and "unset it to use the default" in line


def test_settings_and_names_are_checked_where_they_are_read():
    with pytest.raises(SettingsError, match="TRACEPIPE_KEEP_RELEASES"):
        Settings.from_env({"TRACEPIPE_KEEP_RELEASES": "nan"})
    assert Settings.from_env({"TRACEPIPE_KEEP_RELEASES": " 7 "}).keep_releases == 7
    assert Settings.from_env({"TRACEPIPE_KEEP_RELEASES": ""}).keep_releases == 5
    for good in ("20261202T031554307", "manual__2026-12-02T03_06_28.475000_00_00", "a.b-c"):
        assert safe_name(good) == good
    for bad in ("..", ".", "../x", "a/b", "-rf", ".hidden", "a\nb", "", "x" * 200, "a\\b"):
        with pytest.raises(NameRefused):
            safe_name(bad)


# --- prerequisites missing: one sentence that says what to do -----------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report"], "no release has been published yet: run `tracepipe run`"),
        (["query", "select 1"], "no release has been published yet"),
        (["open"], "no release has been published yet"),
        (["audit"], "nothing has been loaded yet: land exports in"),
        (["transform"], "nothing has been loaded yet"),
        (["quarantine"], "nothing has been loaded yet"),
        (["publish"], "no audited run found: run `tracepipe audit` first"),
        (["rollback"], "there is no current release to roll back from"),
        (["ingest"], "the landing folder"),
        (["retract", "x.csv", "--reason", "wrong"], "no warehouse"),
    ],
)
def test_a_step_run_too_early_says_what_to_run_first(data, capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_FAILED
    line = one_sentence(err)
    assert line.startswith("FAILED: ") and says in line
    assert "in use" not in line  # a missing warehouse is not a busy one


def test_every_step_refusal_main_looks_up_is_an_error_class_of_its_module():
    import importlib

    from pipelines import steps

    for module, name in steps.STEP_REFUSALS:
        assert issubclass(getattr(importlib.import_module(module), name), RuntimeError)


def test_a_command_imports_no_step_it_does_not_run(data):
    # main names the steps' errors without importing their modules (pandera, GX and dbt
    # are seconds of a command's start): a refused report imports none of them.
    probe = (
        "import sys\n"
        "from pipelines import cli\n"
        "code = cli.main(['report'])\n"
        "heavy = ('pandera', 'great_expectations', 'dbt', 'pipelines.ingest', 'pipelines.audit')\n"
        "print(code, [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "TRACEPIPE_DATA_DIR": str(data.data_dir), "TRACEPIPE_PII_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == [str(cli.EXIT_FAILED), "[]"], done.stderr
    assert "FAILED: no release has been published yet" in done.stderr


def test_run_with_an_empty_landing_folder_says_to_land_exports(data, capsys):
    data.ensure_landing()
    code, out, err = run(capsys, "run")
    assert code == cli.EXIT_FAILED
    assert "ingest: no new file" in out
    assert "nothing to build: no export has been loaded; land exports in" in one_sentence(err)
    assert not (data.reports_dir).exists() or not any(data.reports_dir.iterdir())


# --- a locked warehouse --------------------------------------------------------------------


@pytest.fixture
def holder(data):
    """Another process that holds the warehouse open for writing, until it is closed."""
    data.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(data.warehouse_path)!r})\n"
        "con.execute('create schema if not exists meta')\n"
        "con.execute('create table if not exists meta.load_ledger (load_id varchar, status varchar)')\n"
        "con.execute(\"insert into meta.load_ledger values ('x', 'loaded')\")\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=30)


def test_a_locked_warehouse_says_who_holds_it_while_waiting_then_exits_busy(
    data, holder, capsys, monkeypatch
):
    monkeypatch.setenv("TRACEPIPE_LOCK_WAIT_SECONDS", "1")
    code, out, err = run(capsys, "audit")
    assert code == cli.EXIT_BUSY == 75
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0] == f"waiting for the lock held by process {holder.pid} (up to 1 s)"
    assert lines[1].startswith("FAILED: the warehouse ") and f"process {holder.pid}" in lines[1]
    assert "try again when it is done" in lines[1] and len(lines) == 2

    code, out, err = run(capsys, "status")  # status does not wait: it says so and goes on
    assert code == 0
    assert f"loads:           not shown: the warehouse {data.warehouse_path} is in use by" in out


# --- output closed early -------------------------------------------------------------------


def _cli_process(args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        **kwargs,
    )


def test_status_into_a_closed_pipe_ends_quietly(data):
    """`tracepipe status | head`: the reader is gone before the first line is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = _cli_process(
            ["status"],
            {"TRACEPIPE_DATA_DIR": str(data.data_dir), "TRACEPIPE_PII_KEY": KEY},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == ""


# --- colour ----------------------------------------------------------------------------------


def _on_a_terminal(args: list[str], env: dict) -> str:
    """The command's output as a terminal shows it (stdout and stderr on a pty)."""
    main_fd, child_fd = pty.openpty()
    proc = _cli_process(args, env, stdout=child_fd, stderr=child_fd, stdin=subprocess.DEVNULL)
    os.close(child_fd)
    chunks = []
    while True:
        ready, _, _ = select.select([main_fd], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(main_fd)
    return b"".join(chunks).decode()


def _held_run(settings: Settings) -> None:
    """The validation report of a run the audit held, as the audit writes it."""
    folder = settings.reports_dir / "held-run"
    folder.mkdir(parents=True)
    (folder / "validation.json").write_text(
        json.dumps(
            {
                "run_id": "held-run",
                "decision": "hold",
                "reasons": ["trace_requests: lineage: every request comes from a raw row"],
                "remedies": [],
            }
        )
    )


def test_held_releases_and_failures_stand_out_on_a_terminal_only(data):
    data.ensure_dirs()
    _held_run(data)
    env = {"TRACEPIPE_DATA_DIR": str(data.data_dir), "TRACEPIPE_PII_KEY": KEY}
    env.pop("NO_COLOR", None)
    shown = _on_a_terminal(["publish", "--run-id", "held-run"], {**env, "TERM": "xterm"})
    assert "\x1b[33;1mRELEASE HELD:\x1b[0m release held by the audit of run held-run" in shown
    shown = _on_a_terminal(["report"], {**env, "TERM": "xterm"})
    assert "\x1b[31;1mFAILED:\x1b[0m no release has been published yet" in shown

    plain = _on_a_terminal(["publish", "--run-id", "held-run"], {**env, "NO_COLOR": "1"})
    assert "RELEASE HELD: release held" in plain and "\x1b[" not in plain
    proc = _cli_process(
        ["publish", "--run-id", "held-run"],
        {**env, "TERM": "xterm"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_HELD
    assert err.startswith("RELEASE HELD: release held") and "\x1b[" not in out + err


# --- generate, ingest, validate, quarantine -------------------------------------------------


def test_generate_says_what_it_wrote_in_plain_words(data, capsys, tmp_path):
    out_dir = tmp_path / "sample"
    code, out, err = run(
        capsys, "generate", "--scale", "0.002", "--seed", "7", "--out", str(out_dir)
    )
    assert code == 0, err
    assert out.startswith("generated ") and f"files in {out_dir} (scale 0.002, seed 7," in out
    assert "rows: trace " in out and "planted defects" in out
    (out_dir / "trace" / "mine.csv").write_text("not the generator's\n")
    code, out, err = run(capsys, "generate", "--scale", "0.002", "--out", str(out_dir))
    assert code == cli.EXIT_FAILED
    assert "already holds files the generator did not write" in one_sentence(err)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    code, out, err = run(capsys, "generate", "--out", str(a_file))
    assert code == cli.EXIT_FAILED and "is a file, not a folder" in one_sentence(err)


def _bad_trace_file(settings: Settings) -> Path:
    rows = [
        trace_row(trace_number="T2013-0000001", purchaser_name=PLANTED_NAME),
        trace_row(
            trace_number="T2013-0000002",
            recovery_date="2013-02-30",
            purchaser_name=PLANTED_NAME,
            purchaser_address=PLANTED_ADDRESS,
        ),
        trace_row(
            trace_number="T2013-0000003",
            model='=HYPERLINK("http://x.example")',
            trace_result="FOUND_IT",
        ),
        trace_row(trace_number="T2013-0000004"),
    ]
    return write_export(settings.landing_dir / "trace" / "trace_2013_bad.csv", "trace", rows)


def test_ingest_prints_each_message_once_and_validate_predicts_it(data, capsys):
    data.ensure_landing()
    land_sample(data)
    bad = _bad_trace_file(data)
    truncated = data.landing_dir / "trace" / "trace_cut.csv"
    truncated.write_bytes(bad.read_bytes()[:-1])

    code, out, err = run(capsys, "validate", str(data.landing_dir))
    assert code == cli.EXIT_FAILED
    assert "trace/trace_2010_2012.csv: OK, every row would be loaded (15 rows)" in out
    assert "trace/trace_2013_bad.csv: QUARANTINE 2 of 4 rows would be quarantined, 2 loaded" in out
    assert (
        "trace/trace_2013_bad.csv row 2 (line 3), column recovery_date: is not a real date "
        "written YYYY-MM-DD (found '2013-02-30') [date]"
    ) in out
    assert (
        "trace/trace_2013_bad.csv row 3 (line 4), column trace_result: is not a known code" in out
    )
    assert "trace/trace_cut.csv: REJECTED the whole file: trace/trace_cut.csv is truncated" in out
    assert out.rstrip().endswith(
        "validate: 4 file(s): 2 would load whole, 1 with rows to quarantine, 1 would be "
        "rejected (nothing was loaded)"
    )
    assert not data.warehouse_path.exists()  # validate loads nothing
    assert PLANTED_NAME not in out and PLANTED_ADDRESS not in out

    code, out, err = run(capsys, "validate", "--every-row", str(bad))
    assert code == cli.EXIT_FAILED
    assert "  row 1 (line 2): would be loaded" in out
    assert "  row 2 (line 3), column recovery_date: is not a real date" in out

    code, out, err = run(capsys, "validate", str(data.landing_dir / "trace" / "trace_repeat.csv"))
    assert code == 0 and "OK, every row would be loaded (1 rows)" in out

    code, out, err = run(capsys, "ingest")
    assert code == 0, err
    said = out + err
    assert said.count("trace/trace_2013_bad.csv") >= 1
    assert said.count("loaded trace/trace_2013_bad.csv") == 1  # logged once, not reprinted
    assert said.count("rejected trace/trace_cut.csv") == 1
    assert "ingest: 4 new file(s): 3 loaded, 1 rejected" in out
    assert "2 row(s) quarantined, for example:" in out
    assert "`tracepipe quarantine` lists them all" in out
    assert PLANTED_NAME not in said and PLANTED_ADDRESS not in said
    lines = [line for line in said.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), "a line was printed twice"

    code, out, err = run(capsys, "quarantine")
    assert code == 0, err
    assert out.startswith("quarantine: 2 row(s); by kind: trace 2, seizures 0")
    assert (
        "  trace/trace_2013_bad.csv row 2 (line 3) [date]: recovery_date: is not a real date"
    ) in out
    assert "  trace/trace_2013_bad.csv row 3 (line 4) [domain]: trace_result:" in out
    code, out, err = run(capsys, "quarantine", "--kind", "seizures")
    assert code == 0 and out == "quarantine: no quarantined row of seizures\n"

    code, out, err = run(capsys, "quarantine", "--export", "--name", "for-review")
    assert code == 0, err
    written = data.data_dir / "exports" / "quarantine" / "for-review.csv"
    assert f"wrote 2 quarantined row(s) to {written}" in out
    text = written.read_text(encoding="utf-8")
    assert PLANTED_NAME not in text and PLANTED_ADDRESS not in text and "<masked>" in text
    records = list(csv.DictReader(text.splitlines()))
    assert [r["row_number"] for r in records] == ["2", "3"]
    assert records[1]["model"] == '\'=HYPERLINK("http://x.example")'  # shown as text
    assert records[0]["purchaser_name"] == "<masked>"
    assert all(not v.startswith(("=", "+", "@")) for r in records for v in r.values())


def test_validate_names_what_ingest_would_not_read(data, capsys, tmp_path):
    data.ensure_landing()
    real = write_export(tmp_path / "elsewhere" / "t.csv", "trace", [trace_row()])
    link = data.landing_dir / "trace" / "link.csv"
    os.symlink(real, link)
    code, out, err = run(capsys, "validate", str(link))
    assert code == cli.EXIT_FAILED
    assert "NOT READ" in out and "is a symbolic link, which the ingest does not follow" in out
    code, out, err = run(capsys, "validate", str(real))  # kind from its header
    assert code == 0 and out.startswith("trace/t.csv: OK")
    odd = tmp_path / "elsewhere" / "notes.csv"
    odd.write_text("a,b\n1,2\n")
    code, out, err = run(capsys, "validate", str(odd))
    assert code == cli.EXIT_FAILED and "its kind is unknown: give --kind" in out
    code, out, err = run(capsys, "validate", "--kind", "seizures", str(real))
    assert code == cli.EXIT_FAILED and "is a trace export (its header matches that contract)" in out


def _corpus_cases():
    from test_bad_inputs import CASES

    return [
        c for c in CASES if c.setup is None and c.outcome in ("loaded", "quarantined", "rejected")
    ]


@pytest.mark.parametrize("case", _corpus_cases(), ids=lambda c: c.id)
def test_validate_predicts_the_ingest_on_the_bad_input_corpus(case, tmp_path):
    """The corpus of tests/test_bad_inputs.py, where each file's ingest outcome is known:
    validate says the same (rejected or not, rows read and quarantined, rules and lines)."""
    from test_bad_inputs import CORPUS

    source = case.source or f"{case.id}.csv"
    path = tmp_path / "landing" / case.kind / (case.name or source)
    path.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / source, path)
    check = validate.check_file(path)
    expected = {"loaded": validate.LOAD, "quarantined": validate.QUARANTINE}.get(
        case.outcome, validate.REJECT
    )
    if case.outcome == "loaded" and case.counts and case.counts[2]:
        expected = validate.QUARANTINE
    assert check.outcome == expected, (check.outcome, check.reason)
    if case.outcome == "rejected":
        assert case.says in check.reason
        return
    if case.counts:
        assert (check.rows_read, check.rows_loaded, check.rows_quarantined) == case.counts
    rows: dict[int, tuple[set, int]] = {}
    for problem in check.problems:
        rules, _ = rows.setdefault(problem.row, (set(), problem.line))
        rules.add(problem.rule)
    assert tuple((",".join(sorted(r)), line) for r, line in rows.values()) == case.quarantine


# --- with a published release ---------------------------------------------------------------


def test_query_reads_the_release_and_nothing_else(released, capsys, tmp_path):
    code, out, err = run(
        capsys, "query", "select recovery_year, n_traced from origin_by_year order by 1"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["recovery_year", "n_traced"] and set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["2010", "8"] and lines[-1] == "(3 rows)"

    code, out, err = run(capsys, "query", "--csv", "select 'x' as a, '=1+1' as b")
    assert code == 0 and out == "a,b\nx,'=1+1\n"

    code, out, err = run(capsys, "query", "--limit", "2", "select * from range(5)")
    assert code == 0 and out.splitlines()[-1] == "(2 rows)"
    assert "the first 2 rows; --limit 0 shows all" in err

    target = tmp_path / "copied.csv"
    for sql in (
        "create table t as select 1",
        "select * from no_such_table",
        f"copy (select 1) to '{target}'",
        "select * from read_csv('/etc/hostname')",
        f"attach '{tmp_path / 'new.duckdb'}' as x",
    ):
        code, out, err = run(capsys, "query", sql)
        assert code == cli.EXIT_FAILED, sql
        assert one_sentence(err).startswith("FAILED: the query failed: "), sql
    assert not target.exists() and not (tmp_path / "new.duckdb").exists()


def test_open_starts_the_duckdb_shell_on_the_release(released):
    proc = _cli_process(
        ["open"],
        {"TRACEPIPE_DATA_DIR": str(released.data_dir), "TRACEPIPE_PII_KEY": KEY},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(
        "select count(*) as n from origin_by_year;\ncreate table t(i int);\n", timeout=120
    )
    assert "3" in out, (out, err)
    assert "read-only" in err.lower() or "read only" in err.lower()


def test_the_steps_one_by_one_then_rollback_and_status(released, capsys):
    before = publish.current_release(released)
    code, out, err = run(capsys, "transform")
    assert code == 0, err
    assert "dbt 1/" in err and "dbt build: " in err and "transform: slowest nodes: " in out
    done = [int(m[1]) for m in re.finditer(r"^dbt (\d+)/\d+ ", err, re.M)]
    assert done == list(range(1, len(done) + 1)) and len(done) > 20

    code, out, err = run(capsys, "audit", "--run-id", "by-hand")
    assert code == 0, err
    assert out.startswith("audit: decision PUBLISH (")
    assert "\naudit by-hand: " in err and " -> publish (" not in err  # the decision once
    assert (released.reports_dir / "by-hand" / "validation.json").exists()

    code, out, err = run(capsys, "publish")
    assert code == 0, err
    after = publish.current_release(released)
    assert after != before and out.startswith(f"published release {after}: ")
    assert "published release" not in err  # said once, by the summary

    code, out, err = run(capsys, "report")
    assert code == 0, err
    run_id = json.loads((released.current_link / "manifest.json").read_text())["run_id"]
    assert run_id == "by-hand"
    assert out == (
        f"figures of release {after}: {released.reports_dir / 'by-hand' / 'figures.html'}\n"
    )

    code, out, err = run(capsys, "rollback")
    assert code == 0 and out.startswith(f"rolled back: current release is now {before}")
    assert "rolled back" not in err
    code, out, err = run(capsys, "rollback")
    assert code == cli.EXIT_FAILED and "is the oldest kept" in one_sentence(err)

    code, out, err = run(capsys, "status")
    assert code == 0, err
    assert f"current release: {before}" in out
    assert "loads:\n  kind" in out and "  trace " in out


@pytest.mark.slow
def test_demo_without_airflow_shows_each_step_once_then_run_says_nothing_changed(
    tmp_path_factory, data, capsys
):
    # `tracepipe demo --no-airflow` into a new data folder made the session's generated
    # release (released.py); `run` goes on in a copy of it
    code, out, err = demo_output(tmp_path_factory)
    assert_plain(out + err)
    assert code == 0, err
    assert out.startswith("generated ") and "files in " in out
    assert "\ningest: " in out and " new file(s): " in out
    assert "\naudit: decision PUBLISH (" in out and "\npublished release " in out
    assert "\nfigures: " in out and "\npublished marts: " in out
    assert "dbt 1/" in err and "\naudit " in err
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), "a line was printed twice"

    shared, _outcome = generated_release(tmp_path_factory)
    shutil.copytree(shared.data_dir, data.data_dir, symlinks=True)
    code, out, err = run(capsys, "run")
    assert code == 0, err
    assert "nothing changed since release" in out and "Use --force" in out
    assert out.count("nothing changed since release") == 1 and "nothing changed" not in err
