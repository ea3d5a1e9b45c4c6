"""Computation graphs: capture, module clusters, depth folding, ×N, backward, values, the walk.

The DOT text of a few small graphs is kept under tests/graph/golden/ and compared
exactly (node ids are stable: ops numbered in the order they ran, leaves in the
order they were first read). After a deliberate change to the drawings, rewrite
them with ``GRADZOO_UPDATE_GOLDEN=1 pytest tests/graph/test_graph.py`` and read the diff.
"""

from __future__ import annotations

import difflib
import doctest
import gc
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from gradzoo import graph
from gradzoo.engine import F, Tensor, nn, ops, tensor
from gradzoo.engine.tensor import _topological_order
from gradzoo.graph.capture import _scopes
from gradzoo.graph.render import accumulation_points
from gradzoo.graph.view import build_view
from gradzoo.lab.drawing.graphs import model_loss
from gradzoo.plugins.manager import get_registry

GOLDEN = Path(__file__).parent / "golden"
TINY_GPT = {"width": "8", "heads": "2", "layers": "2"}


# ---------------------------------------------------------------------- helpers


def named(value, name: str) -> Tensor:
    t = tensor(value, requires_grad=True)
    t.name = name
    return t


def neuron():
    """tanh(w*x + b) with the classic numbers: w = 0.5, x = 2, b = -0.3."""
    w, x, b = named(0.5, "w"), named(2.0, "x"), named(-0.3, "b")
    return (w * x + b).tanh(), (w, x, b)


def zoo_loss(model: str, task: str = "copy", **options):
    assignments = {key: str(value) for key, value in options.items()}
    return model_loss(get_registry(), model, task, assignments, seed=0, batch_size=2)[0]


class TinyRNN(nn.Module):
    """One RNN cell applied over the steps of ``xs`` (batch, steps, features), then a sum."""

    def __init__(self, features: int = 2, hidden: int = 3):
        super().__init__()
        self.cell = nn.RNNCell(features, hidden)

    def forward(self, xs):
        h = None
        for step in range(xs.shape[1]):
            h = self.cell(xs[:, step], h)
        return h


def rnn_output(steps: int, features: int = 2, hidden: int = 3):
    model = TinyRNN(features, hidden)
    xs = tensor(np.linspace(-1, 1, steps * features).reshape(1, steps, features))
    with graph.record():
        return model(xs).sum()


def clusters_of(source: str) -> dict[str, str | None]:
    """Cluster label -> the label of the cluster it sits in (None at the top), from DOT text."""
    parents, stack = {}, []
    for line in source.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            stack.append(None)
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and stack[-1] is None and "label=" in line and "->" not in line \
                and re.match(r"\s*color=", line):
            label = re.search(r'label=("([^"]*)"|(\S+))', line)
            stack[-1] = label.group(2) or label.group(3)
            parents[stack[-1]] = stack[-2] if len(stack) > 1 else None
    return parents


def labels(source: str) -> list[str]:
    return re.findall(r'\[label="([^"]*)"', source)


def check_golden(name: str, source: str) -> None:
    """``source`` must equal golden/NAME (GRADZOO_UPDATE_GOLDEN=1 rewrites the file)."""
    path = GOLDEN / name
    if os.environ.get("GRADZOO_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if source != expected:
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), source.splitlines(),
                                              f"golden/{name}", "drawn now", lineterm=""))
        pytest.fail(f"the DOT text of {name} changed:\n{diff}\n\nIf the change is meant, "
                    f"rewrite the golden files: GRADZOO_UPDATE_GOLDEN=1 pytest {__file__}")


# ---------------------------------------------------------------------- golden DOT text


def test_golden_mlp():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x, target = tensor(np.ones((2, 3))), tensor(np.zeros((2, 2)))
    with graph.record():
        loss = F.mse_loss(model(x), target)
    check_golden("mlp.gv", graph.draw(loss).source)
    check_golden("mlp_backward.gv", graph.draw(loss, backward=True).source)


def test_golden_attention_layer_at_depth_1():
    attention = nn.MultiheadAttention(8, 2)
    x = named(np.ones((1, 4, 8)), "x")
    with graph.record():
        y = attention(x, x, x, is_causal=True).sum()
    check_golden("attention_depth1.gv", graph.draw(y, depth=1).source)


def test_golden_rnn_over_3_steps():
    check_golden("rnn_3_steps.gv", graph.draw(rnn_output(3), unroll=True).source)


def test_the_same_graph_gives_the_same_text():
    assert graph.draw(rnn_output(3)).source == graph.draw(rnn_output(3)).source


# ---------------------------------------------------------------------- capture


def test_counts_of_a_neuron():
    y, _ = neuron()
    captured = graph.capture(y)
    assert [op.name for op in captured.ops] == ["Mul", "Add", "Tanh"]
    assert [leaf.label for leaf in captured.leaves] == ["w", "x", "b"]
    assert len(captured.uses) == 5 and captured.sequential_depth == 3
    source = graph.draw(y).source
    assert source.count("->") == 5 and len(labels(source)) == 6


def test_a_tensor_read_twice_by_one_op_gives_two_arrows():
    x = named(3.0, "x")
    source = graph.draw(x * x).source
    assert len(graph.capture(x * x).ops) == 1
    assert source.count("t0 -> op0") == 2


def test_ops_note_shape_dtype_and_constants():
    w = named([[1.0, 2.0]], "w")
    y = (w * 0.5).sum()
    captured = graph.capture(y)
    assert [(op.name, op.shape, op.dtype) for op in captured.ops] == [
        ("Mul", (1, 2), "float32"), ("Sum", (), "float32")]
    assert [leaf.kind for leaf in captured.leaves] == ["input", "constant"]
    assert "constant 0.5" in labels(graph.draw(y).source)


def test_parameters_are_named_by_their_module_path():
    loss = zoo_loss("transformer", width=8, heads=2, layers=1, ff=8)
    names = {leaf.label for leaf in graph.capture(loss).leaves if leaf.kind == "parameter"}
    assert "decoder.0.self_attn.q_proj.weight" in names
    assert "encoder.0.feed_forward.fc.bias" in names


def test_every_op_knows_the_module_calls_it_ran_in():
    captured = graph.capture(zoo_loss("gpt", **TINY_GPT))
    q_projection = next(op for op in captured.ops if op.name == "Linear" and op.calls
                        and captured.module_name(op.calls[-1]) == "blocks.0.attn.q_proj")
    assert [call.class_name for call in q_projection.calls] == [
        "GPT", "Block", "MultiheadAttention", "Linear"]
    assert [call.parent for call in q_projection.calls[1:]] == list(q_projection.calls[:-1])


def test_recording_stops_after_the_with_block():
    layer = nn.Linear(2, 2)
    with graph.record() as recording:
        inside = layer(tensor([[1.0, 2.0]]))
    outside = layer(tensor([[1.0, 2.0]]))
    assert graph.scope_of(inside.creator) == (recording.calls[0],)
    assert graph.scope_of(outside.creator) == ()
    assert [call.outputs for call in recording.calls] == [(((1, 2), "float32"),)]


def test_recording_writes_nothing_onto_the_engines_ops():
    layer = nn.Linear(2, 2)
    with graph.record():
        y = layer(tensor([[1.0, 2.0]])).sum()
    for op in graph.capture(y).ops:
        assert not hasattr(op.function, "scope") and not hasattr(op.function, "sequence_number")


def test_a_recorded_scope_goes_with_its_op():
    layer = nn.Linear(2, 2)
    with graph.record():
        y = layer(tensor([[1.0, 2.0]], requires_grad=True)).sum()
    recorded = len(_scopes)
    del y
    gc.collect()
    assert len(_scopes) < recorded


def test_ops_are_numbered_in_the_order_they_ran():
    a, b = named(1.0, "a"), named(2.0, "b")
    first = a.exp()     # runs first, read second
    second = b.tanh()
    captured = graph.capture(second + first)
    assert [op.name for op in captured.ops] == ["Exp", "Tanh", "Add"]


def test_a_graph_freed_by_backward_cannot_be_drawn():
    y, _ = neuron()
    y.backward()
    with pytest.raises(graph.GraphError, match="retain_graph"):
        graph.draw(y)


def test_importing_the_graph_does_not_import_graphviz():
    code = "import gradzoo.graph, sys; print('graphviz' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_docstring_examples():
    for name in ("capture", "render"):
        module = importlib.import_module(f"gradzoo.graph.{name}")
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------------- modules: clusters, depth


def test_clusters_nest_as_the_modules_do():
    parents = clusters_of(graph.draw(zoo_loss("gpt", **TINY_GPT), unroll=True).source)
    assert parents["Linear · blocks.0.attn.q_proj"] == "MultiheadAttention · blocks.0.attn"
    assert parents["MultiheadAttention · blocks.0.attn"] == "Block · blocks.0"
    assert parents["Block · blocks.0"] == "GPT"
    assert parents["GPT"] is None


def test_depth_0_shows_the_model_as_one_box():
    loss = zoo_loss("gpt", **TINY_GPT)
    view = build_view(graph.capture(loss), depth=0)
    assert sorted(node.kind for node in view.nodes.values()) == ["module", "op"]
    box = next(node for node in view.nodes.values() if node.kind == "module")
    assert box.item.class_name == "GPT" and len(box.ops) == len(graph.capture(loss).ops) - 1
    label = next(text for text in labels(graph.draw(loss, depth=0).source) if "GPT" in text)
    parameters = sum(p.size for p in box.item.module.parameters())
    assert f"{parameters:,} parameters" in label and "in (2, 16)" in label
    assert "out (2, 16, 11)" in label


def test_depth_1_boxes_each_module_the_model_calls():
    source = graph.draw(zoo_loss("gpt", **TINY_GPT), depth=1).source
    boxes = [text.split("\\n")[0] for text in labels(source) if "parameters" in text]
    assert boxes == ["Embedding", "Embedding", "Block ×2", "LayerNorm", "Linear"]
    assert clusters_of(source) == {"GPT": None}


def test_deeper_depth_opens_more_modules():
    loss = zoo_loss("gpt", **TINY_GPT)
    sizes = [len(build_view(graph.capture(loss), depth, unroll=True).nodes)
             for depth in (0, 1, 2, 3, None)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


# ---------------------------------------------------------------------- ×N


def test_twelve_gpt_blocks_fold_into_one_box():
    source = graph.draw(zoo_loss("gpt", width=8, heads=2, layers=12), depth=1).source
    assert "Block ×12" in source and "blocks.*" in source
    assert "12 parameters each" not in source  # "each" follows the count of one block
    assert re.search(r"[\d,]+ parameters each", source)


def test_an_rnn_cell_over_64_steps_folds_into_one_box():
    loss = zoo_loss("rnn", "copy", hidden=4, length=32)  # source SEP target: 64 steps
    folded = graph.draw(loss, depth=1).source
    assert "RNNCell ×64" in folded and "Embedding ×64" in folded
    assert re.search(r"(m\d+) -> \1\b", folded), "the recurrence shows as a loop"
    unrolled = graph.draw(loss, depth=1, unroll=True).source
    assert "×" not in unrolled and unrolled.count('"RNNCell') == 64


def test_every_op_view_folds_repeated_clusters_too():
    source = graph.draw(rnn_output(5)).source
    assert "RNNCell ×5 · cell" in clusters_of(source)
    assert len(labels(source)) < len(labels(graph.draw(rnn_output(5), unroll=True).source))


def test_one_module_feeding_different_places_is_not_folded():
    """The transformer reads source and target with the same embedding: two boxes, not ×2."""
    source = graph.draw(zoo_loss("transformer", width=8, heads=2, layers=2, ff=8), depth=1).source
    boxes = [text.split("\\n")[0] for text in labels(source) if "parameters" in text]
    assert boxes.count("Embedding") == 2
    assert "EncoderLayer ×2" in boxes and "DecoderLayer ×2" in boxes


# ---------------------------------------------------------------------- backward


def test_backward_has_one_node_per_op_and_gradient_shapes_on_the_arrows():
    y, _ = neuron()
    source = graph.draw(y, backward=True).source
    assert {"MulBackward", "AddBackward", "TanhBackward"} <= {
        text.split("\\n")[0] for text in labels(source)}
    assert {"w.grad\\nscalar", "x.grad\\nscalar", "b.grad\\nscalar"} <= set(labels(source))
    assert "op2 -> op1 [label=scalar]" in source and "sum_" not in source


def test_backward_marks_where_gradients_add_up():
    x = named(3.0, "x")
    source = graph.draw(x * x + x, backward=True).source
    assert source.count("-> sum_t0") == 3 and "sum_t0 -> t0" in source


def test_backward_of_a_residual_stream_sums_at_each_branch():
    loss = zoo_loss("gpt", width=8, heads=2, layers=1)
    view = build_view(graph.capture(loss), unroll=True)
    sums = accumulation_points(view)
    branched = {view.nodes[source].item.name for source, _ in sums if source.startswith("op")}
    assert "Add" in branched       # the residual stream x feeds LayerNorm and the next Add
    assert "LayerNorm" in branched  # LN_1(x) is read as query, key and value
    source = graph.draw(loss, backward=True).source
    assert source.count("Σ") == len(accumulation_points(
        build_view(graph.capture(loss)))) > 0


def test_backward_with_only_constants_drawn_leaves_them_out():
    w = named([1.0, 2.0], "w")
    source = graph.draw((w * 3.0).sum(), backward=True).source
    assert "constant" not in source and "w.grad" in source


# ---------------------------------------------------------------------- values


def test_values_show_the_hand_worked_backprop_picture():
    y, (w, x, b) = neuron()
    source = graph.draw(y, values=True).source
    assert "w\\nscalar float32\\ndata 0.5\\ngrad 1.269" in source
    assert "Tanh\\nscalar float32\\ndata 0.6044\\ngrad 1" in source
    assert w.grad is None  # drawing does not touch .grad ...
    y.backward()            # ... nor keep backward from running afterwards
    assert f"{w.grad.item():.4g}" == "1.269" and f"{b.grad.item():.4g}" == "0.6347"


def test_values_of_big_tensors_are_left_out():
    w = named(np.ones((4, 4)), "w")
    v = named([1.0, 2.0], "v")
    source = graph.draw((w.sum() * v).sum(), values=True).source
    assert "data [1, 2]" in source and "data [[1" not in source


def test_backward_values_on_the_arrows():
    y, _ = neuron()
    source = graph.draw(y, backward=True, values=True).source
    assert "op1 -> t2 [label=0.6347]" in source and "start -> op2 [label=1]" in source


# ---------------------------------------------------------------------- the walk


def test_the_walk_follows_the_engines_order(monkeypatch):
    """Every op's backward is logged during a real loss.backward(): the walk has that order."""
    visited = []
    for name in ops.__all__:
        op_class = getattr(ops, name)
        if not isinstance(op_class, type):  # a composed teaching version, not an op
            continue
        original = op_class.backward

        def logged(self, grad, original=original):
            visited.append(self)
            return original(self, grad)
        monkeypatch.setattr(op_class, "backward", logged)
    loss = zoo_loss("gru", hidden=4, length=2)
    walk = graph.backward_visits(loss)
    visited.clear()
    loss.backward(retain_graph=True)
    op_ids = {op.function: op.id for op in graph.capture(loss).ops}
    assert [visit.op for visit in walk] == [op_ids[fn] for fn in visited]
    assert [op_ids[fn] for fn in _topological_order(loss.creator)] == [v.op for v in walk]


def test_walk_frames_highlight_each_visit_in_turn():
    y, _ = neuron()
    visits = graph.backward_visits(y)
    frames = graph.walk(y)
    assert len(frames) == len(visits) + 2
    for frame, visit in zip(frames[1:-1], visits):
        current = re.findall(r"(\w+) \[label=[^\]]*penwidth=3", frame.source)
        assert current == [visit.op]
    assert "step 1 of 3: TanhBackward" in frames[1].source
    positions = {frame.source.count("->") for frame in frames}
    assert len(positions) == 1, "every frame has the same arrows (a stable layout)"


def test_walk_needs_a_graph():
    with pytest.raises(ValueError, match="nothing to walk"):
        graph.walk(named(1.0, "w"))


# ---------------------------------------------------------------------- sequential depth


@pytest.mark.parametrize("model, options", [("rnn", {"hidden": 4}),
                                            ("gpt", {"width": 8, "heads": 2, "layers": 1})])
def test_sequential_depth_grows_with_length_only_for_the_rnn(model, options):
    depths = [graph.sequential_depth(zoo_loss(model, "copy", length=length, **options))
              for length in (4, 8, 16)]
    if model == "rnn":
        assert depths[2] - depths[1] == 2 * (depths[1] - depths[0]) > 0, depths
    else:
        assert depths[0] == depths[1] == depths[2], depths


def test_a_500_step_rnn_is_captured_and_drawn_without_recursion():
    y = rnn_output(500, features=2, hidden=2)
    captured = graph.capture(y)
    # per step: Linear (input), Linear (hidden), Add, Tanh; three of them one after another
    assert len(captured.ops) >= 2000 and graph.sequential_depth(y) >= 1500
    assert "RNNCell ×500" in graph.draw(y, depth=1).source
    assert "RNNCell ×500" in graph.draw(y).source


# ---------------------------------------------------------------------- rendering


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")
def test_a_4_layer_gpt_renders_to_valid_svg():
    loss = zoo_loss("gpt", width=16, heads=2, layers=4)
    svg = graph.draw(loss, unroll=True).pipe(format="svg")
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg") and svg.count(b'class="node"') > 150


def test_values_and_the_walk_on_every_device(device):
    """Values come to the host for printing; a GPU array is never handed to NumPy by accident."""
    y, (w, _, _) = neuron()
    assert w.device == device
    assert "grad 1.269" in graph.draw(y, values=True).source
    frames = graph.walk(y)
    assert "0.6347 to b" in frames[2].source
    lstm = nn.LSTMCell(2, 8, device=device)  # its zero states: 8 numbers, drawn as "zeros"
    with graph.record():
        h, c = lstm(tensor([[1.0, 2.0]], device=device))
    assert "zeros" in graph.draw((h + c).sum()).source
