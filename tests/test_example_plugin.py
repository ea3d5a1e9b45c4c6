"""The example plugin (examples/gradzoo-tcn) installs, compares with a built-in model, passes
its own tests.

It is pip-installed (editable, offline) into a throw-away environment layered on
this one (tests/plugin_env.py), so nothing is left installed afterwards.
"""

from __future__ import annotations

import json

import pytest

from tests.plugin_env import ROOT, PluginEnvironment, expect_success

EXAMPLES = sorted(path for path in (ROOT / "examples").iterdir() if (path / "pyproject.toml")
                  .exists())
TCN = ROOT / "examples" / "gradzoo-tcn"


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """A layered environment with every example plugin installed."""
    environment = PluginEnvironment(tmp_path_factory.mktemp("examples") / "env")
    for example in EXAMPLES:
        environment.install(example)
    return environment


def test_there_is_an_example_plugin():
    assert TCN in EXAMPLES


def test_the_example_is_listed_as_a_plugin(environment):
    listed = expect_success(environment.gradzoo("list"), "gradzoo list")
    assert "tcn" in listed and "dilated causal convolutions" in listed
    plugins = expect_success(environment.gradzoo("plugins"), "gradzoo plugins")
    assert "package gradzoo-tcn 0.1.0" in plugins and "FAILED" not in plugins


def test_compare_runs_the_example_beside_a_builtin_model(environment, tmp_path):
    out = tmp_path / "compare"
    expect_success(environment.gradzoo("compare", "tcn", "gpt", "--task", "copy", "--steps", "5",
                                       "--set", "width=16", "--set", "layers=1",
                                       "--set", "length=3", "--out", str(out)),
                   "gradzoo compare tcn gpt")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    text = json.dumps(results)
    assert '"tcn"' in text and '"gpt"' in text
    assert (out / "report.html").exists()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_example_passes_its_own_tests(environment, example):
    expect_success(environment.run_python("-m", "pytest", "-q", "-p", "no:cacheprovider",
                                          cwd=example), f"the tests of {example.name}")
