"""Run directories seen from the command line: missing, foreign or damaged ones, and --out/--resume.

``gradzoo sample``, ``gradzoo evaluate`` and ``gradzoo train --resume`` read a
run directory back. Whatever is wrong with it (no directory, no config.json,
someone else's config.json, a truncated or mismatched weights file), the user
gets ONE line, ``Error: ...``, naming the file and the problem, exit code 2,
never a traceback. ``train --out`` never overwrites a run it was not asked to
resume.

One tiny GPT run is trained once per module; each test damages its own copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo.cli import forget_plugins, main
from tests.plugins.helpers import PLUGIN_ENV

TINY = ["gpt", "--task", "reverse", "--set", "length=2", "--set", "width=8", "--set", "heads=2",
        "--set", "layers=1"]
STEPS = 3


def gradzoo(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="gradzoo")


pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


@pytest.fixture(scope="module")
def template_run(tmp_path_factory) -> Path:
    """A finished 3-step run of a tiny GPT on 2-digit reversal (shared; never modified)."""
    out = tmp_path_factory.mktemp("template") / "run"
    with pytest.MonkeyPatch.context() as patch:
        for name in PLUGIN_ENV:
            patch.delenv(name, raising=False)
        forget_plugins()
        result = gradzoo("train", *TINY, "--steps", STEPS, "--quiet", "--out", out)
        forget_plugins()
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run_dir(template_run, tmp_path) -> Path:
    """This test's own copy of the tiny run, free to damage."""
    return Path(shutil.copytree(template_run, tmp_path / "run"))


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit 2, and the whole output is one line 'Error: ...' holding every fragment."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a crash
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.output}"
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(directory: Path) -> dict:
    """Every file under ``directory`` with its bytes and modification time."""
    return {path.relative_to(directory): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(directory.rglob("*")) if path.is_file()}


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def weights_of_a_wider_model(run: Path, tmp_path: Path) -> None:
    """Put the model.safetensors of a width-16 run (trained for as many steps) into ``run``."""
    wider = tmp_path / "wider"
    args = [a if a != "width=8" else "width=16" for a in TINY]
    assert gradzoo("train", *args, "--steps", STEPS, "--quiet", "--out", wider).exit_code == 0
    shutil.copy(wider / "model.safetensors", run / "model.safetensors")


# ---------------------------------------------------------------------- sample and evaluate

READERS = [["sample"], ["evaluate", "--batches", "1"]]


@pytest.fixture(params=READERS, ids=["sample", "evaluate"])
def read_run(request):
    """``gradzoo sample RUN`` or ``gradzoo evaluate RUN``: both open a run the same way."""
    command, *options = request.param
    return lambda path: gradzoo(command, path, *options)


def test_the_intact_run_can_be_read(read_run, run_dir):
    result = read_run(run_dir)
    assert result.exit_code == 0, result.output


def test_a_missing_run_directory(read_run, tmp_path):
    missing = tmp_path / "no_such_run"
    assert_one_line_error(read_run(missing), f"no run directory at {missing}")


def test_a_file_instead_of_a_run_directory(read_run, run_dir):
    assert_one_line_error(read_run(run_dir / "config.json"), "no run directory at")


def test_a_directory_without_config_json(read_run, tmp_path):
    (tmp_path / "notes.txt").write_text("not a run")
    assert_one_line_error(read_run(tmp_path), str(tmp_path),
                          "is not a gradzoo run directory (it has no config.json)")


@pytest.mark.parametrize("foreign", [{"name": "my-web-app", "version": 3}, [1, 2, 3], "text",
                                     {"format": "someone-else"}])
def test_a_foreign_config_json(read_run, run_dir, foreign):
    (run_dir / "config.json").write_text(json.dumps(foreign))
    assert_one_line_error(read_run(run_dir), f"{run_dir / 'config.json'}",
                          "was not written by gradzoo train")


@pytest.mark.parametrize("text", ["{not json", "", "\udcff"], ids=["syntax", "empty", "binary"])
def test_a_config_json_that_is_not_json(read_run, run_dir, text):
    path = run_dir / "config.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert_one_line_error(read_run(run_dir), f"{path} is not valid JSON")


@pytest.mark.parametrize("change, fragments", [
    (lambda c: c.pop("model"), ["is damaged", "'model' is missing"]),
    (lambda c: c.update(task_options=[]), ["is damaged", "'task_options' is not an object"]),
    (lambda c: c.update(training=5), ["is damaged", "'training' is not an object"]),
    (lambda c: c.update(seed="zero"), ["is damaged", "'seed' is not an integer"]),
    (lambda c: c.update(model="gtp"),
     ["unknown model 'gtp' (did you mean 'gpt'?)", "was the plugin that provided it uninstalled?"]),
    (lambda c: c.update(task="sorting"), ["unknown task 'sorting'"]),
    (lambda c: c["model_options"].update(width=-1),
     ["option 'width' of model 'gpt' must be an integer from 1 to 8192, got -1"]),
    (lambda c: c["model_options"].update(colour="red"), ["unknown option 'colour'"]),
], ids=["no-model", "bad-options", "bad-training", "bad-seed", "unknown-model", "unknown-task",
        "bad-value", "unknown-option"])
def test_a_damaged_config_json_names_the_field(read_run, run_dir, change, fragments):
    edit_json(run_dir / "config.json", change)
    assert_one_line_error(read_run(run_dir), str(run_dir / "config.json"), *fragments)


@pytest.mark.parametrize("damage, fragments", [
    (truncate, ["is not a valid safetensors file (truncated or corrupt?)"]),
    (lambda p: p.write_bytes(b""), ["is not a valid safetensors file"]),
    (lambda p: p.write_bytes(b"\x00" * 8 + b"garbage"), ["is not a valid safetensors file"]),
    (lambda p: p.unlink(), ["cannot read checkpoint", "No such file"]),
], ids=["truncated", "empty", "garbage", "missing"])
def test_a_damaged_weights_file(read_run, run_dir, damage, fragments):
    damage(run_dir / "model.safetensors")
    assert_one_line_error(read_run(run_dir), str(run_dir / "model.safetensors"), *fragments)


def test_weights_from_step_other_than_state_json(read_run, run_dir):
    edit_json(run_dir / "state.json", lambda state: state.update(step=7))
    assert_one_line_error(read_run(run_dir), str(run_dir / "model.safetensors"),
                          f"is from step {STEPS}, but state.json says step 7")


def test_weights_that_do_not_fit_the_model(read_run, run_dir, tmp_path):
    weights_of_a_wider_model(run_dir, tmp_path)
    assert_one_line_error(read_run(run_dir), str(run_dir / "model.safetensors"),
                          "does not fit the model", "shape mismatch", "more)")


@pytest.mark.parametrize("damage, fragments", [
    (lambda p: p.unlink(), ["has no checkpoint yet (state.json is missing)"]),
    (lambda p: p.write_text("{"), ["state.json is not valid JSON"]),
    (lambda p: p.write_text("{}"), ["state.json is damaged"]),
    (lambda p: p.write_text('{"step": "three"}'), ["state.json is damaged"]),
], ids=["missing", "not-json", "no-step", "bad-step"])
def test_a_damaged_state_json(read_run, run_dir, damage, fragments):
    damage(run_dir / "state.json")
    assert_one_line_error(read_run(run_dir), str(run_dir), *fragments)


# ---------------------------------------------------------------------- train --out, --resume


def test_out_that_is_not_empty_is_refused_without_resume_and_nothing_changes(run_dir):
    before = snapshot(run_dir)
    assert_one_line_error(gradzoo("train", *TINY, "--steps", 5, "--out", run_dir),
                          f"{run_dir} is not empty", "--resume", "nothing was changed")
    assert snapshot(run_dir) == before


def test_out_holding_any_file_is_refused(tmp_path):
    (tmp_path / "thesis.txt").write_text("my thesis")
    assert_one_line_error(gradzoo("train", *TINY, "--out", tmp_path), "is not empty")
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.txt"]


def test_an_empty_out_directory_is_used(tmp_path):
    result = gradzoo("train", *TINY, "--steps", 1, "--quiet", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "config.json").exists()


def test_out_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "a_file").write_text("")
    result = gradzoo("train", *TINY, "--out", tmp_path / "a_file")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'--out'" in result.output and "is a file" in result.output


def test_resume_needs_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(gradzoo("train", *TINY[:3], "--resume"),
                          "--resume needs --out RUN_DIR")
    assert list(tmp_path.iterdir()) == []


def test_resume_continues_a_run_to_more_steps(run_dir):
    result = gradzoo("train", *TINY[:3], "--resume", "--out", run_dir, "--steps", STEPS + 2,
                     "--quiet")
    assert result.exit_code == 0, result.output
    assert f"resuming gpt on reverse at step {STEPS} of {STEPS + 2}" in result.output
    assert json.loads((run_dir / "state.json").read_text())["step"] == STEPS + 2
    assert json.loads((run_dir / "config.json").read_text())["training"]["steps"] == STEPS + 2


@pytest.mark.parametrize("args, fragments", [
    (["rnn", "--task", "reverse"], ["holds a run of gpt on reverse, not rnn on reverse"]),
    (["gpt", "--task", "copy"], ["holds a run of gpt on reverse, not gpt on copy"]),
    (TINY, ["--resume continues a run with its own options; drop --set"]),
], ids=["other-model", "other-task", "with-set"])
def test_resume_refuses_a_different_run(run_dir, args, fragments):
    before = snapshot(run_dir)
    assert_one_line_error(gradzoo("train", *args, "--resume", "--out", run_dir), *fragments)
    assert snapshot(run_dir) == before


def test_resume_of_a_missing_or_foreign_directory(tmp_path):
    missing = tmp_path / "no_such_run"
    assert_one_line_error(gradzoo("train", *TINY[:3], "--resume", "--out", missing),
                          f"no run directory at {missing}")
    assert not missing.exists()
    assert_one_line_error(gradzoo("train", *TINY[:3], "--resume", "--out", tmp_path),
                          "is not a gradzoo run directory")


@pytest.mark.parametrize("file, damage, fragments", [
    ("model.safetensors", truncate, ["model.safetensors is not a valid safetensors file"]),
    ("optimizer.safetensors", truncate, ["optimizer.safetensors is not a valid safetensors file"]),
    ("state.json", lambda p: edit_json(p, lambda s: s.update(step=7)),
     [f"is from step {STEPS}, but state.json says step 7"]),
    ("state.json", lambda p: p.unlink(), ["has no checkpoint to resume from"]),
    ("state.json", lambda p: edit_json(p, lambda s: s.pop("rng")),
     ["state.json is damaged", "random-generator state"]),
    ("config.json", lambda p: p.write_text("[]"), ["was not written by gradzoo train"]),
], ids=["truncated-model", "truncated-optimizer", "step-mismatch", "no-state", "no-rng",
        "foreign-config"])
def test_resume_from_a_damaged_checkpoint(run_dir, file, damage, fragments):
    damage(run_dir / file)
    before = snapshot(run_dir)
    assert_one_line_error(gradzoo("train", *TINY[:3], "--resume", "--out", run_dir, "--steps", 5),
                          *fragments)
    assert snapshot(run_dir) == before


def test_resume_with_weights_that_do_not_fit(run_dir, tmp_path):
    weights_of_a_wider_model(run_dir, tmp_path)
    assert_one_line_error(gradzoo("train", *TINY[:3], "--resume", "--out", run_dir, "--steps", 5),
                          "model.safetensors does not fit the model", "shape mismatch")
