"""``gradzoo new-plugin``: what it refuses, and that what it writes installs, runs and passes.

The installed case uses a throw-away environment layered on this one
(tests/plugin_env.py), so the scaffolded plugin never shows up elsewhere.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo.cli import forget_plugins, main
from gradzoo.plugins import KINDS, scaffold
from gradzoo.plugins.testing import check_model
from tests.plugin_env import PluginEnvironment, expect_success
from tests.plugins.helpers import install_distribution, model_plugin

pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


def new_plugin(*args):
    """``gradzoo new-plugin ARGS``; plugins are forgotten afterwards, so the next command sees
    a plugin directory it is given."""
    result = CliRunner().invoke(main, ["new-plugin", *args])
    forget_plugins()
    return result


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", ["My-Model", "2fast", "class", "bigram!", "Bigram", "_hidden"])
def test_a_name_that_is_not_a_lowercase_identifier_is_refused(name, tmp_path):
    result = new_plugin(name, "--dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "is not a valid plugin name" in result.output
    assert "lowercase letters, digits and underscores" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, holder", [("gpt", "model 'gpt' of plugin 'gradzoo.zoo.models.gpt'"),
                                          ("copy", "task 'copy'"), ("fake_zoo", "the plugin")])
def test_a_taken_name_is_refused(name, holder, tmp_path, monkeypatch):
    install_distribution(tmp_path / "site", monkeypatch, model_plugin("other_model"),
                         entry="fake_zoo")
    result = new_plugin(name, "--dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"the name '{name}' is taken by {holder}" in result.output
    assert "choose another name" in result.output
    assert not (tmp_path / "out").exists()


def test_a_directory_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    (tmp_path / "README.md").write_text("mine", encoding="utf-8")
    result = new_plugin("bigram_two", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "already exists and is not empty; nothing was written" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine"


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "taken").write_text("a file", encoding="utf-8")
    result = new_plugin("bigram_two", "--dir", str(tmp_path / "taken"))
    assert result.exit_code == 2 and "already exists" in result.output


def test_an_empty_directory_is_used_and_the_default_is_gradzoo_name(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    assert new_plugin("bigram_two", "--dir", str(tmp_path / "empty")).exit_code == 0
    assert (tmp_path / "empty" / "gradzoo_bigram_two.py").exists()
    monkeypatch.chdir(tmp_path)
    result = new_plugin("bigram_three")
    assert result.exit_code == 0, result.output
    assert "gradzoo-bigram-three/" in result.output
    assert "pip install -e gradzoo-bigram-three" in result.output


# ---------------------------------------------------------------------- what it writes


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_a_complete_package(kind):
    files = scaffold.package_files("mymodel", kind)
    assert set(files) == {"pyproject.toml", "gradzoo_mymodel.py", "tests/test_mymodel.py",
                          "README.md", ".gitignore"}
    assert '[project.entry-points.gradzoo]\nmymodel = "gradzoo_mymodel"' in files["pyproject.toml"]
    for path in ("gradzoo_mymodel.py", "tests/test_mymodel.py"):
        compile(files[path], path, "exec")
    assert "CHANGE" in files["gradzoo_mymodel.py"] and "@hookimpl" in files["gradzoo_mymodel.py"]
    assert "conformance_cases(gradzoo_mymodel.SPEC)" in files["tests/test_mymodel.py"]
    assert f"--kind {kind}" in files["README.md"] and "$" not in files["README.md"]


@pytest.mark.parametrize("kind, task, rival", [("sequence", "copy", "gpt"),
                                               ("language", "chars", "gpt"),
                                               ("generative", "moons", "vae"),
                                               ("paired", "captions", "clip"),
                                               ("classification", "shape_classes", "cnn")])
def test_the_plugin_is_tried_on_the_task_the_registry_shows_its_kind_on(kind, task, rival):
    readme = scaffold.package_files("mymodel", kind)["README.md"]
    assert f"gradzoo compare mymodel {rival} --task {task} --steps 200" in readme
    assert f"gradzoo train mymodel --task {task} --steps 200" in scaffold.next_steps(
        "mymodel", Path("out"), kind)


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind, task", [("language", "chars"), ("generative", "moons"),
                                        ("paired", "captions"),
                                        ("classification", "shape_classes")])
def test_language_generative_paired_and_classification_plugins_pass_the_kit_train_draw_and_test(
        kind, task, tmp_path):
    """From a plugins directory, without installing: the kit, train, graph, then its own tests."""
    root = tmp_path / "plugin"
    assert new_plugin(f"my_{kind}", "--dir", str(root), "--kind", kind).exit_code == 0
    check_model(load_module(root / f"gradzoo_my_{kind}.py").SPEC)
    runner = CliRunner()
    trained = runner.invoke(main, ["--plugins-dir", str(root), "train", f"my_{kind}", "--task",
                                   task, "--steps", "5", "--quiet", "--out",
                                   str(tmp_path / "run")])
    assert trained.exit_code == 0, trained.output
    drawn = runner.invoke(main, ["--plugins-dir", str(root), "graph", f"my_{kind}", "--format",
                                 "dot", "--out", str(tmp_path / "graph")])
    assert drawn.exit_code == 0, drawn.output
    assert (tmp_path / "graph.dot").exists()
    own_tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                               cwd=root, capture_output=True, text=True, timeout=300)
    expect_success(own_tests, f"the {kind} plugin's own tests")


def test_an_installed_plugin_is_listed_trains_draws_and_passes_its_tests(tmp_path):
    """pip install -e the scaffold (in a layered environment), then use it as a user would."""
    root = tmp_path / "gradzoo-bigram-zoo"
    assert new_plugin("bigram_zoo", "--dir", str(root)).exit_code == 0
    environment = PluginEnvironment(tmp_path / "env")
    environment.install(root)
    listed = expect_success(environment.gradzoo("list"), "gradzoo list")
    assert "bigram_zoo" in listed and "bigram baseline" in listed
    expect_success(environment.gradzoo("train", "bigram_zoo", "--task", "copy", "--steps", "5",
                                       "--quiet", "--out", str(tmp_path / "run")),
                   "gradzoo train bigram_zoo --task copy")
    expect_success(environment.gradzoo("graph", "bigram_zoo", "--out", str(tmp_path / "g.svg")),
                   "gradzoo graph bigram_zoo")
    assert (tmp_path / "g.dot").exists()
    if shutil.which("dot"):
        assert (tmp_path / "g.svg").read_text(encoding="utf-8").lstrip().startswith("<")
    expect_success(environment.run_python("-m", "pytest", "-q", "-p", "no:cacheprovider",
                                          cwd=root), "the installed plugin's own tests")
