"""The ``gradzoo`` command line: the catalogue, plugins seen from the CLI, and every usage error.

Most tests run ``gradzoo.cli.main`` in-process with click's ``CliRunner``; the
plugins are forgotten before and after each test (``forget_plugins``), so a
test's plugins and environment never reach the next one. A few tests run the
real console script in a subprocess, where it matters: which modules
``gradzoo --help`` and ``gradzoo list`` import, and what a user's terminal shows.

A usage error exits with 2 and prints ONE line, ``Error: ...``, naming what is
wrong and what is allowed, never a traceback. (Errors click itself finds, such
as an unknown ``--flag``, add click's two usage lines above that line.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo.cli import BUILTIN_COMMANDS, forget_plugins, main
from gradzoo.engine import backend
from tests.plugins.helpers import (
    BROKEN_IMPORT,
    HALF_REGISTERED,
    PLUGIN_ENV,
    command_plugin,
    install_distribution,
    model_plugin,
    task_plugin,
    write_plugin,
)

TINY_GPT = ["--set", "width=8", "--set", "heads=2", "--set", "layers=1"]
HEAVY_MODULES = ("cupy", "cupyx", "matplotlib", "graphviz")


pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


def gradzoo(*args: str):
    """Run ``gradzoo ARGS...`` in-process; the result has exit_code, stdout, stderr, output."""
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="gradzoo")


def assert_usage_error(result, *fragments: str) -> str:
    """Exit 2 with exactly one line, 'Error: ...', holding every fragment; return that line.

    A plugin's warning ('gradzoo: warning: ...') may come before it.
    """
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    lines = [line for line in result.output.strip().splitlines()
             if not line.startswith("gradzoo: warning: ")]
    assert len(lines) == 1, f"expected one line, got:\n{result.output}"
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def assert_click_usage_error(result, *fragments: str) -> None:
    """Exit 2 from click's own checks: usage lines, then an 'Error: ...' line with the fragments."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, result.output
    for fragment in fragments:
        assert fragment in error[0]


def assert_ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


# ---------------------------------------------------------------------- catalogue


def test_help_lists_every_builtin_command():
    result = assert_ok(gradzoo("--help"))
    for command in ("list", "info", "plugins", "train", "sample", "evaluate"):
        assert command in BUILTIN_COMMANDS
        assert f"  {command} " in result.output
    assert "--plugins-dir" in result.output


def test_version():
    from gradzoo import __version__

    assert __version__ in assert_ok(gradzoo("--version")).output


def test_list_shows_the_models_and_tasks_with_their_plugins():
    result = assert_ok(gradzoo("list"))
    for name in ("rnn", "lstm", "gru", "transformer", "gpt", "reverse", "copy", "chars"):
        assert f"\n{name} " in result.output
    assert "gradzoo.zoo.models.gpt" in result.output
    assert result.stderr == ""


def test_info_shows_a_models_options_with_defaults_and_allowed_values():
    result = assert_ok(gradzoo("info", "gpt"))
    assert ("model gpt (sequence,language,classification) from plugin gradzoo.zoo.models.gpt"
            in result.output)
    for option in ("layers", "heads", "width", "dropout"):
        assert f"\n{option} " in result.output
    assert "an integer from 1 to 8192" in result.output


def test_info_shows_a_task():
    result = assert_ok(gradzoo("info", "reverse"))
    assert "task reverse (sequence) from plugin gradzoo.zoo.tasks.sequence" in result.output
    assert "length" in result.output


def test_info_of_an_unknown_name_suggests_the_closest():
    assert_usage_error(gradzoo("info", "lstn"), "no model or task called 'lstn'",
                       "did you mean 'lstm'", "gradzoo list")


def test_plugins_shows_the_builtin_zoo():
    result = assert_ok(gradzoo("plugins"))
    for plugin in ("gradzoo.zoo.models.gpt", "gradzoo.zoo.tasks.sequence"):
        line = next(line for line in result.output.splitlines() if line.startswith(plugin))
        assert "built-in" in line and " ok " in line
    assert "model gpt" in result.output and "task reverse" in result.output


# ---------------------------------------------------------------------- plugins, seen from the CLI


def test_a_plugins_directory_adds_models_tasks_and_commands(tmp_path):
    write_plugin(tmp_path, "tiny", model_plugin("tiny", summary="the tiniest model"))
    write_plugin(tmp_path, "twin", task_plugin("twin"))
    write_plugin(tmp_path, "greeter", command_plugin("hello", says="hello from a plugin"))
    listing = assert_ok(gradzoo("--plugins-dir", tmp_path, "list")).output
    assert "the tiniest model" in listing and "\ntwin " in listing
    forget_plugins()
    assert "model tiny (sequence,language) from plugin tiny" in assert_ok(
        gradzoo("--plugins-dir", tmp_path, "info", "tiny")).output
    forget_plugins()
    table = assert_ok(gradzoo("--plugins-dir", tmp_path, "plugins")).output
    assert f"file {tmp_path / 'tiny.py'}" in table
    forget_plugins()
    assert assert_ok(gradzoo("--plugins-dir", tmp_path, "hello")).output == "hello from a plugin\n"


def test_the_plugins_directory_can_come_from_the_environment(tmp_path, monkeypatch):
    write_plugin(tmp_path, "tiny", model_plugin("tiny", summary="the tiniest model"))
    monkeypatch.setenv("GRADZOO_PLUGINS_DIR", str(tmp_path))
    assert "the tiniest model" in assert_ok(gradzoo("list")).output


def test_help_lists_plugin_commands(tmp_path, monkeypatch):
    write_plugin(tmp_path, "greeter", command_plugin("hello"))
    monkeypatch.setenv("GRADZOO_PLUGINS_DIR", str(tmp_path))
    assert "  hello " in assert_ok(gradzoo("--help")).output
    forget_plugins()
    monkeypatch.delenv("GRADZOO_PLUGINS_DIR")
    assert "  hello " in assert_ok(gradzoo("--plugins-dir", tmp_path, "--help")).output


def test_a_missing_plugins_directory_is_a_usage_error(tmp_path):
    missing = tmp_path / "nowhere"
    assert_usage_error(gradzoo("--plugins-dir", missing, "list"), str(missing), "does not exist")


def test_an_installed_package_is_found_through_its_entry_point(tmp_path, monkeypatch):
    install_distribution(tmp_path, monkeypatch, model_plugin("packaged", summary="from a wheel"),
                         dist="fake_dist", version="0.1", entry="fake_zoo")
    table = assert_ok(gradzoo("plugins")).output
    line = next(line for line in table.splitlines() if line.startswith("fake_zoo "))
    assert "package fake-dist 0.1" in line and " ok " in line and "model packaged" in line
    forget_plugins()
    listing = assert_ok(gradzoo("list")).output
    assert "\npackaged " in listing and "from a wheel" in listing


def test_a_broken_plugin_warns_once_and_every_command_still_works(tmp_path):
    write_plugin(tmp_path, "broken", BROKEN_IMPORT)
    write_plugin(tmp_path, "half", HALF_REGISTERED)
    for args in (["list"], ["info", "gpt"], ["plugins"], ["--help"]):
        forget_plugins()
        result = assert_ok(gradzoo("--plugins-dir", tmp_path, *args))
        warnings = result.stderr.strip().splitlines()
        assert len(warnings) == 2, result.stderr
        assert "plugin 'broken'" in warnings[0]
        assert "No module named 'gradzoo_test_missing_dependency'" in warnings[0]
        assert "plugin 'half'" in warnings[1] and "boom while registering" in warnings[1]
        assert "Traceback" not in result.output
        assert "half_model" not in result.stdout and "half_task" not in result.stdout
    forget_plugins()
    table = assert_ok(gradzoo("--plugins-dir", tmp_path, "plugins")).stdout
    assert "FAILED: ModuleNotFoundError: No module named 'gradzoo_test_missing_dependency'" in table
    assert "FAILED: RuntimeError: boom while registering" in table


def test_plugins_shows_a_long_error_whole(tmp_path):
    write_plugin(tmp_path, "shouty", model_plugin("Shouty"))
    result = assert_ok(gradzoo("--plugins-dir", tmp_path, "plugins"))
    assert "FAILED: SpecError" in result.stdout
    assert (f"shouty (file {tmp_path / 'shouty.py'}): SpecError: model name 'Shouty' must be "
            f"lowercase letters, digits and underscores, starting with a letter") in result.stdout


def test_training_works_beside_a_broken_plugin(tmp_path):
    write_plugin(tmp_path / "plugins", "broken", BROKEN_IMPORT)
    result = assert_ok(gradzoo("--plugins-dir", tmp_path / "plugins", "train", "gpt", "--task",
                               "reverse", "--set", "length=2", *TINY_GPT, "--steps", "2",
                               "--quiet", "--out", tmp_path / "run"))
    assert "finished 2 steps" in result.stdout
    assert result.stderr.count("plugin 'broken'") == 1


def test_a_half_registered_name_is_unknown_afterwards(tmp_path):
    write_plugin(tmp_path, "half", HALF_REGISTERED)
    assert_usage_error(gradzoo("--plugins-dir", tmp_path, "info", "half_model"),
                       "no model or task called 'half_model'")


def test_a_duplicate_name_warns_naming_both_plugins_and_the_first_keeps_it(tmp_path):
    write_plugin(tmp_path, "copycat", model_plugin("gpt", summary="an impostor"))
    result = assert_ok(gradzoo("--plugins-dir", tmp_path, "info", "gpt"))
    assert "from plugin gradzoo.zoo.models.gpt" in result.stdout
    assert "an impostor" not in result.stdout
    assert result.stderr.count("\n") == 1
    assert "model 'gpt'" in result.stderr
    assert "'copycat'" in result.stderr and "'gradzoo.zoo.models.gpt'" in result.stderr


@pytest.mark.parametrize("command", ["list", "train"])
def test_a_plugin_command_never_replaces_a_builtin_one(tmp_path, command):
    write_plugin(tmp_path, "hijack", command_plugin(command, says="HIJACKED"))
    result = gradzoo("--plugins-dir", tmp_path, command, "--help")
    assert_ok(result)
    assert "HIJACKED" not in result.stdout
    assert main.commands[command].callback.__module__ == "gradzoo.cli"
    assert f"command '{command}' from plugin 'hijack'" in result.stderr


def test_strict_mode_makes_a_broken_plugin_an_error(tmp_path, monkeypatch):
    write_plugin(tmp_path, "broken", BROKEN_IMPORT)
    monkeypatch.setenv("GRADZOO_STRICT_PLUGINS", "1")
    assert_usage_error(gradzoo("--plugins-dir", tmp_path, "list"), "plugin 'broken'",
                       "gradzoo_test_missing_dependency", "GRADZOO_STRICT_PLUGINS")


def test_strict_mode_makes_a_duplicate_name_an_error(tmp_path, monkeypatch):
    write_plugin(tmp_path, "copycat", model_plugin("gpt"))
    monkeypatch.setenv("GRADZOO_STRICT_PLUGINS", "1")
    assert_usage_error(gradzoo("--plugins-dir", tmp_path, "list"), "model 'gpt'", "'copycat'",
                       "'gradzoo.zoo.models.gpt'")


def test_load_plugins_picks_which_plugins_load(tmp_path, monkeypatch):
    write_plugin(tmp_path, "alpha", model_plugin("alpha_model"))
    write_plugin(tmp_path, "beta", model_plugin("beta_model"))
    monkeypatch.setenv("GRADZOO_LOAD_PLUGINS", "beta")
    listing = assert_ok(gradzoo("--plugins-dir", tmp_path, "list")).stdout
    assert "beta_model" in listing and "alpha_model" not in listing
    forget_plugins()
    monkeypatch.setenv("GRADZOO_LOAD_PLUGINS", "")
    listing = assert_ok(gradzoo("--plugins-dir", tmp_path, "list")).stdout
    assert "beta_model" not in listing and "alpha_model" not in listing and "\ngpt " in listing


def test_trace_prints_the_hook_calls_on_stderr(tmp_path, monkeypatch):
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    monkeypatch.setenv("GRADZOO_TRACE_PLUGINS", "1")
    result = assert_ok(gradzoo("--plugins-dir", tmp_path, "list"))
    assert "gradzoo: trace: calling register_models on tiny" in result.stderr
    assert "gradzoo: trace: calling register_commands" in result.stderr
    assert "trace" not in result.stdout


# ---------------------------------------------------------------------- train: usage errors


@pytest.mark.parametrize("args, fragments", [
    (["gtp", "--task", "reverse"],
     ["unknown model 'gtp'", "did you mean 'gpt'",
      "known models: bert, clip, cnn, diffusion, flow, gan, gpt, gru, lstm, mlp, rnn"]),
    (["gpt", "--task", "revrese"],
     ["unknown task 'revrese'", "did you mean 'reverse'", "known tasks:"]),
    (["transformer", "--task", "chars"],
     ["model 'transformer' runs sequence tasks", "task 'chars' is a language task"]),
    (["gpt", "--task", "reverse", "--set", "widht=8"],
     ["--set widht", "has an option 'widht'", "did you mean 'width'", "options: dropout, heads"]),
    (["gpt", "--task", "reverse", "--set", "width=wide"],
     ["option 'width' of model 'gpt' must be an integer from 1 to 8192, got 'wide'"]),
    (["gpt", "--task", "reverse", "--set", "width=0"],
     ["option 'width' of model 'gpt' must be an integer from 1 to 8192, got '0'"]),
    (["gpt", "--task", "reverse", "--set", "width=8.5"],
     ["option 'width' of model 'gpt' must be an integer"]),
    (["gpt", "--task", "reverse", "--set", "dropout=2"],
     ["option 'dropout' of model 'gpt' must be a number from 0.0 to 0.9, got '2'"]),
    (["gpt", "--task", "reverse", "--set", "length=999"],
     ["option 'length' of task 'reverse' must be an integer from 1 to 256, got '999'"]),
    (["gpt", "--task", "reverse", "--set", "model.length=3"],
     ["unknown option 'length' for model 'gpt'", "its options: layers, heads, width, dropout"]),
    (["gpt", "--task", "reverse", "--set", "width"], ["--set 'width'", "expected key=value"]),
    (["gpt", "--task", "reverse", "--set", "width=8", "--set", "heads=3"],
     ["model 'gpt' cannot be built with these options", "divisible by num_heads=3"]),
    (["gpt", "--task", "chars", "--set", "path=/no/such/file.txt"],
     ["option 'path' of task 'chars'", "/no/such/file.txt"]),
    (["gpt", "--task", "reverse", "--set", "optim.width=3"],
     ["prefix must be 'model.' or 'task.'", "'optim.'"]),
])
def test_train_usage_errors_name_the_problem_and_what_is_allowed(tmp_path, args, fragments):
    out = tmp_path / "run"
    assert_usage_error(gradzoo("train", *args, "--out", out), *fragments)
    assert not out.exists()  # nothing was written


def test_an_option_both_model_and_task_have_needs_a_prefix(tmp_path):
    write_plugin(tmp_path / "plugins", "twin", task_plugin("twin", option="width"))
    assert_usage_error(
        gradzoo("--plugins-dir", tmp_path / "plugins", "train", "gpt", "--task", "twin",
                "--set", "width=8", "--out", tmp_path / "run"),
        "--set width", "both model 'gpt' and task 'twin' have an option 'width'",
        "model.width=", "task.width=")


def test_set_reaches_model_and_task_options(tmp_path):
    write_plugin(tmp_path / "plugins", "twin", task_plugin("twin", option="width"))
    out = tmp_path / "run"
    assert_ok(gradzoo("--plugins-dir", tmp_path / "plugins", "train", "gpt", "--task", "twin",
                      "--set", "model.width=8", "--set", "task.width=3", "--set", "heads=2",
                      "--set", "layers=1", "--steps", "2", "--quiet", "--out", out))
    config = json.loads((out / "config.json").read_text())
    assert config["model_options"] == {"width": 8, "heads": 2, "layers": 1, "dropout": 0.0}
    assert config["task_options"] == {"width": 3}
    assert config["plugin"] == "gradzoo.zoo.models.gpt"


@pytest.mark.parametrize("args, fragments", [
    (["gpt", "--task", "reverse", "--bogus"], ["No such option", "--bogus"]),
    (["gpt", "--task", "reverse", "--steps", "0"], ["'--steps'", "0", "1<=x"]),
    (["gpt", "--task", "reverse", "--steps", "many"],
     ["'--steps'", "'many' is not a valid integer"]),
    (["gpt", "--task", "reverse", "--lr", "0"], ["'--lr'", "x>0"]),
    (["gpt", "--task", "reverse", "--device", "tpu"], ["'--device'", "'tpu'", "'cpu'", "'gpu'"]),
    (["gpt"], ["Missing option '--task'"]),
])
def test_train_options_are_checked_by_type_and_range(tmp_path, args, fragments):
    assert_click_usage_error(gradzoo("train", *args, "--out", tmp_path / "run"), *fragments)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU")
def test_asking_for_a_gpu_where_there_is_none_is_a_usage_error(tmp_path):
    assert_usage_error(gradzoo("train", "gpt", "--task", "reverse", "--device", "gpu",
                               "--out", tmp_path / "run"), "device 'gpu'")


# ---------------------------------------------------------------------- train, sample, evaluate


def test_a_tiny_run_trains_samples_and_evaluates(tmp_path):
    out = tmp_path / "run"
    result = assert_ok(gradzoo("train", "gpt", "--task", "reverse", "--set", "length=2", *TINY_GPT,
                               "--steps", "3", "--quiet", "--out", out))
    assert "finished 3 steps" in result.stdout and str(out) in result.stdout
    assert {p.name for p in out.iterdir()} >= {"config.json", "metrics.jsonl", "model.safetensors",
                                               "optimizer.safetensors", "state.json"}
    sampled = assert_ok(gradzoo("sample", out, "--n", "3")).stdout.splitlines()
    assert len(sampled) == 4 and sampled[-1].endswith("of 3 right")
    evaluated = assert_ok(gradzoo("evaluate", out, "--batches", "1")).stdout
    assert evaluated.startswith("gpt on reverse:") and "exact_match" in evaluated


# ---------------------------------------------------------------------- real processes


def gradzoo_script() -> Path:
    script = Path(sys.executable).parent / "gradzoo"
    if not script.exists():
        pytest.skip(f"no gradzoo console script beside {sys.executable}")
    return script


def clean_environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV}
    env.update(extra)
    return env


# Runs the CLI in-process and reports every heavy module that was imported OR only
# looked for (a meta-path hook sees the attempt even where CuPy is not installed).
IMPORT_PROBE = """
import json, sys
HEAVY = {heavy!r}
looked_for = set()

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            looked_for.add(name)
        return None

sys.meta_path.insert(0, Watch())
sys.argv = ["gradzoo", *sys.argv[1:]]
from gradzoo.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({{"code": code, "loaded": loaded, "looked_for": sorted(looked_for)}}),
      file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["list"]])
def test_help_and_list_import_no_cupy_matplotlib_or_graphviz(args):
    probe = IMPORT_PROBE.format(heavy=set(HEAVY_MODULES))
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                          env=clean_environment(), timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stderr
    assert report["loaded"] == [] and report["looked_for"] == [], report


@pytest.mark.parametrize("args", [["--help"], ["list"]])
def test_the_console_script_imports_no_heavy_module(args):
    done = subprocess.run([str(gradzoo_script()), *args], capture_output=True, text=True,
                          env=clean_environment(PYTHONPROFILEIMPORTTIME="1"), timeout=120)
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "gradzoo.cli" in imported  # the profile is there
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY_MODULES)
    assert heavy == []


def test_the_console_script_reports_a_broken_plugin_in_one_line(tmp_path):
    write_plugin(tmp_path, "broken", BROKEN_IMPORT)
    done = subprocess.run([str(gradzoo_script()), "list"], capture_output=True, text=True,
                          env=clean_environment(GRADZOO_PLUGINS_DIR=str(tmp_path)), timeout=120)
    assert done.returncode == 0
    assert "\ngpt " in done.stdout
    [warning] = done.stderr.strip().splitlines()
    assert warning.startswith("gradzoo: warning: plugin 'broken'")
    assert str(tmp_path / "broken.py") in warning
    assert "ModuleNotFoundError: No module named 'gradzoo_test_missing_dependency'" in warning


def test_the_console_script_exits_2_with_one_line_for_an_unknown_model(tmp_path):
    done = subprocess.run([str(gradzoo_script()), "train", "gtp", "--task", "reverse"],
                          capture_output=True, text=True, env=clean_environment(), cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    [error] = done.stderr.strip().splitlines()
    assert error.startswith("Error: unknown model 'gtp' (did you mean 'gpt'?); known models: ")
    assert not (tmp_path / "runs").exists()
