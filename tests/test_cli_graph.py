"""``gradzoo graph``: a model's loss or an expression drawn to files; usage errors exit 2.

Without Graphviz's ``dot`` program (simulated by hiding it from ``shutil.which``)
the command still writes the DOT source, says how to install ``dot``, and exits 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo.cli import main
from gradzoo.lab.drawing import graphs

TINY_GPT = ["--set", "width=8", "--set", "heads=2", "--set", "layers=2"]
NEURON = ["--expr", "tanh(w*x + b)", "--set", "w=0.5", "--set", "x=2", "--set", "b=-0.3"]
HAS_DOT = shutil.which("dot") is not None


pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


@pytest.fixture
def no_dot(monkeypatch):
    """A machine without Graphviz's dot program."""
    monkeypatch.setattr(graphs.shutil, "which", lambda name, *args, **kwargs: None)


def gradzoo(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="gradzoo")


def assert_ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def assert_usage_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in line, line
    return line


# ---------------------------------------------------------------------- drawing a model


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_a_model_at_depth_1_becomes_an_svg_and_its_dot_source(tmp_path):
    out = tmp_path / "gpt.svg"
    output = assert_ok(gradzoo("graph", "gpt", *TINY_GPT, "--depth", "1", "--out", out))
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "Block ×2" in (tmp_path / "gpt.dot").read_text()
    assert "wrote" in output and "sequential depth" in output


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_the_format_can_come_from_the_suffix_or_the_option(tmp_path):
    assert_ok(gradzoo("graph", "rnn", "--set", "hidden=4", "--set", "length=2",
                      "--out", tmp_path / "rnn.png"))
    assert (tmp_path / "rnn.png").read_bytes().startswith(b"\x89PNG")
    assert_ok(gradzoo("graph", "rnn", "--set", "hidden=4", "--set", "length=2",
                      "--format", "pdf", "--out", tmp_path / "rnn"))
    assert (tmp_path / "rnn.pdf").read_bytes().startswith(b"%PDF")


def test_format_dot_writes_only_the_dot_file(tmp_path):
    assert_ok(gradzoo("graph", "transformer", "--set", "width=8", "--set", "heads=2",
                      "--set", "ff=8", "--set", "layers=1", "--depth", "2", "--backward",
                      "--format", "dot", "--out", tmp_path / "t.dot"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.dot"]
    assert "Backward" in (tmp_path / "t.dot").read_text()


def test_the_default_task_and_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_ok(gradzoo("graph", "lstm", "--set", "hidden=4", "--format", "dot"))
    assert (tmp_path / "lstm-copy-graph.dot").exists()


def test_without_dot_the_dot_source_is_written_and_how_to_install_dot_is_said(tmp_path, no_dot):
    out = tmp_path / "gpt.svg"
    output = assert_ok(gradzoo("graph", "gpt", *TINY_GPT, "--out", out))
    assert not out.exists() and (tmp_path / "gpt.dot").read_text().startswith("digraph")
    assert "apt-get install graphviz" in output and f"dot -Tsvg {tmp_path / 'gpt.dot'}" in output


@pytest.mark.parametrize("args, fragments", [
    (["nosuchmodel"], ["nosuchmodel"]),
    (["gpt", "--task", "nosuchtask"], ["nosuchtask"]),
    (["gpt", "--set", "nope=1"], ["nope", "options"]),
    (["gpt", "--set", "layers=0"], ["layers"]),
    ([], ["MODEL", "--expr"]),
    (["gpt", *NEURON], ["not both"]),
    (["--task", "copy", *NEURON], ["--task"]),
    (["gpt", "--walk", "--depth", "1"], ["--walk", "--depth"]),
    (["gpt", "--out", "g.svg", "--format", "png"], [".svg", "png"]),
])
def test_usage_errors_exit_2_naming_the_problem(tmp_path, args, fragments):
    assert_usage_error(gradzoo("graph", *args, "--out", tmp_path / "x")
                       if "--out" not in args else gradzoo("graph", *args), *fragments)


def test_an_unknown_flag_is_a_usage_error():
    assert gradzoo("graph", "gpt", "--colour", "red").exit_code == 2


# ---------------------------------------------------------------------- expressions


def test_an_expression_with_values_draws_the_hand_worked_picture(tmp_path):
    assert_ok(gradzoo("graph", *NEURON, "--values", "--format", "dot", "--out", tmp_path / "n"))
    source = (tmp_path / "n.dot").read_text()
    assert "w\\nscalar float32\\ndata 0.5\\ngrad 1.269" in source
    assert "3 ops · 0 parameters · sequential depth 3" in source


def test_an_expression_of_small_tensors(tmp_path):
    assert_ok(gradzoo("graph", "--expr", "sum(relu(W @ x + b))", "--set", "W=[[1,2],[3,-4]]",
                      "--set", "x=[1,1]", "--set", "b=[0,0.5]", "--backward", "--values",
                      "--format", "dot", "--out", tmp_path / "e.dot"))
    assert "W.grad\\n(2, 2)\\ngrad [[1, 1], [0, 0]]" in (tmp_path / "e.dot").read_text()


@pytest.mark.parametrize("expression, fragment", [
    ("__import__('os').system('echo hi')", "__import__"),
    ("w.__class__", "not allowed"),
    ("open('x')", "open"),
    ("w if w else w", "not allowed"),
    ("[w for w in w]", "not allowed"),
    ("w // 2", "operator"),
    ("'text' + w", "not a number"),
    ("tanh(w", "not a formula"),
])
def test_an_expression_may_use_only_what_is_allowed(expression, fragment):
    line = assert_usage_error(gradzoo("graph", "--expr", expression, "--set", "w=1"), fragment)
    assert "tanh" in line or "formula" in line or "number" in line


@pytest.mark.parametrize("sets, fragments", [
    (["w=0.5", "x=2"], ["no value for b", "--set b=VALUE"]),
    (["w=0.5", "x=2", "b=1", "c=3"], ["no name 'c'"]),
    (["w=0.5", "x=2", "b=__import__('os')"], ["b=", "number"]),
    (["w=0.5", "x=[1, [2]]", "b=1"], ["x="]),
    (["w", "x=1", "b=1"], ["key=value"]),
    (["w=[1, 2]", "x=[1, 2, 3]", "b=1"], ["cannot compute", "broadcast"]),  # a RuntimeError
])
def test_values_of_names_are_checked(sets, fragments):
    args = [arg for pair in sets for arg in ("--set", pair)]
    assert_usage_error(gradzoo("graph", "--expr", "tanh(w*x + b)", *args), *fragments)


# ---------------------------------------------------------------------- the walk


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_the_walk_writes_numbered_frames_and_an_animation(tmp_path):
    output = assert_ok(gradzoo("graph", *NEURON, "--walk", "--out", tmp_path / "walk"))
    names = sorted(p.name for p in (tmp_path / "walk").iterdir())
    assert names[:2] == ["frame-00.dot", "frame-00.png"] and "frame-04.png" in names
    assert "walk.gif" in names and "engine's order" in output


def test_the_walk_without_dot_writes_dot_frames(tmp_path, no_dot):
    output = assert_ok(gradzoo("graph", *NEURON, "--walk", "--out", tmp_path / "walk"))
    assert sorted(p.name for p in (tmp_path / "walk").iterdir()) == [
        f"frame-0{i}.dot" for i in range(5)]
    assert "graphviz" in output.lower() and "install" in output


def test_a_walk_of_too_many_ops_is_refused(tmp_path):
    assert_usage_error(gradzoo("graph", "gpt", "--set", "layers=4", "--walk", "--out",
                               tmp_path / "w"),
                       "one frame per op", "--expr")


def test_frames_of_a_tiny_model_walk(tmp_path):
    assert_ok(gradzoo("graph", "rnn", "--set", "hidden=2", "--set", "length=1", "--walk",
                      "--format", "dot", "--out", tmp_path / "w"))
    frames = sorted(Path(tmp_path / "w").glob("frame-*.dot"))
    assert len(frames) > 5 and "step 1 of" in frames[1].read_text()
