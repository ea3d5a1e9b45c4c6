"""The backward pass as frames: one picture per step of the engine's walk, in the engine's order.

Backpropagation is the chain rule applied in reverse topological order. The
frames show why the order matters: an op's backward runs only once every op
that read its output has sent its gradient back (Σ nodes collect them), so
when it runs, the gradient it multiplies by the local derivative is complete.

    frame 0       the walk starts at the output with ∂L/∂L = 1
    frame k       the k-th op the engine visits (orange), the gradients it sends on
                  (orange arrows); visited ops are grey, ops holding part of their
                  gradient yellow, leaves that received a gradient green
    last frame    every leaf's ``.grad`` is filled

The visits are recorded from the engine's own backward (``Tensor.backward``, watched
through ``hooks.backward_step``), so the frames cannot drift from what ``backward()`` does.
Every frame has the same nodes and labels (only colours change), so Graphviz
lays them all out alike and the frames can be played as an animation.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from gradzoo.graph.backward import backward_visits, gradients
from gradzoo.graph.capture import capture
from gradzoo.graph.render import (
    CAPTION_WIDTH,
    accumulation_points,
    is_small,
    render,
    shape_text,
    values_text,
)
from gradzoo.graph.view import build_view

NODE_STYLES = {
    "current": {"fillcolor": "#ff9f43", "penwidth": "3"},
    "done": {"fillcolor": "#e6e6e6", "fontcolor": "#777777", "color": "#999999"},
    "waiting": {"fillcolor": "#fff3b0", "penwidth": "2"},
    "received": {"fillcolor": "#b7e1a1", "penwidth": "2"},
}
EDGE_STYLES = {
    "later": {"color": "#c8c8c8", "fontcolor": "transparent"},
    "passing": {"color": "#e8590c", "fontcolor": "#e8590c", "penwidth": "2.5"},
    "passed": {"color": "#333333"},
}


@dataclass
class Frame:
    """The state of the walk at one step: a caption, and a state per node and per arrow."""

    caption: str
    nodes: dict = field(default_factory=dict)   # node id -> "current", "done", "waiting"...
    edges: dict = field(default_factory=dict)   # edge key (render.py) -> "passing"...
    widest: str = ""                            # the widest caption line of the whole walk

    def node_style(self, node_id: str) -> dict:
        return dict(NODE_STYLES.get(self.nodes.get(node_id), {}))

    def edge_style(self, key) -> dict:
        return dict(EDGE_STYLES[self.edges.get(key, "later")])


def walk(tensor, values: bool = True, title: str | None = None, model=None) -> list:
    """The backward pass from ``tensor`` as ``graphviz.Digraph`` frames, one per op.

    The frames follow the engine's order; every op is shown, none folded.
    """
    graph = capture(tensor, model)
    if not graph.ops or not tensor.requires_grad:
        raise ValueError("nothing to walk: no op that needs a gradient made this tensor")
    view = build_view(graph, depth=None, unroll=True)
    visits = backward_visits(tensor, graph)
    grads = gradients(graph, visits)
    return [render(view, backward=True, values=values, gradients=grads, title=title, frame=frame)
            for frame in walk_states(view, visits)]


def walk_states(view, visits) -> list[Frame]:
    """A Frame before the walk, one per visit (in the order given), and one at the end."""
    sums = accumulation_points(view)
    reads = _reads_by_op(view)
    state, passed = {view.output: "waiting"}, {("start",): "passed"}
    arrived = {}  # tensor id -> how many of its uses have sent their gradient
    frames = [Frame("start: backward() seeds the output with ∂L/∂L = 1 "
                    "(a tensor of ones when the output is not a scalar)",
                    dict(state), {("start",): "passing"})]
    for number, visit in enumerate(visits, start=1):
        passing = {}
        if (visit.op, visit.op) in sums:  # the gradients collected for its output are handed over
            passing[("sum", visit.op)] = "passing"
            state[f"sum_{visit.op}"] = "done"
        state[visit.op] = "current"
        sent = []
        for edge, use in reads.get(visit.op, ()):
            grad = visit.input_grads[use.slot]
            if grad is None:
                continue
            passing[("use", edge.source, edge.target, edge.tensor, use.slot)] = "passing"
            leaf = view.nodes[edge.source].kind == "leaf"
            if (edge.source, edge.tensor) in sums:
                state[f"sum_{edge.tensor}"] = "waiting"
                arrived[edge.tensor] = arrived.get(edge.tensor, 0) + 1
                if leaf and arrived[edge.tensor] == sums[(edge.source, edge.tensor)]:
                    passing[("sum", edge.tensor)] = "passing"  # a leaf's last gradient: its sum
                    state[f"sum_{edge.tensor}"] = "done"
                    state[edge.source] = "received"
            elif leaf:
                state[edge.source] = "received"
            if not leaf:
                state[edge.source] = "waiting"
            sent.append((view.nodes[edge.source], grad))
        frames.append(Frame(_caption(number, len(visits), view.nodes[visit.op], visit, sent),
                            dict(state), {**passed, **passing}))
        passed.update({key: "passed" for key in passing})
        state[visit.op] = "done"
    frames.append(Frame("done: every op was visited once, each after all the ops that read its "
                        "output; every leaf's .grad now holds ∂L/∂leaf", dict(state), dict(passed)))
    lines = [line for frame in frames for line in textwrap.wrap(frame.caption, CAPTION_WIDTH)]
    widest = max(lines, key=len)
    for frame in frames:
        frame.widest = widest
    return frames


def _reads_by_op(view) -> dict:
    """op id -> [(edge, use)] for each input slot of the op that needs a gradient, slot order."""
    reads = {}
    for edge in view.edges:
        if edge.needs_grad:
            for use in edge.uses:
                reads.setdefault(use.op, []).append((edge, use))
    return {op: sorted(pairs, key=lambda pair: pair[1].slot) for op, pairs in reads.items()}


def _caption(number: int, total: int, node, visit, sent) -> str:
    """'step 2 of 3: AddBackward. Every op that read its output has sent its gradient...'."""
    targets = ", ".join(f"{_gradient_text(g)} to {_name(target)}" for target, g in sent)
    targets = targets or "nothing (no input needs a gradient)"
    return (f"step {number} of {total}: {node.item.name}Backward. Every op that read its output "
            f"has sent its gradient ({_gradient_text(visit.grad)}); by the chain rule it sends "
            f"{targets}")


def _gradient_text(grad) -> str:
    """A gradient's value when it is small, else its shape."""
    return values_text(grad) if is_small(grad) else shape_text(grad.shape)


def _name(node) -> str:
    return node.item.label if node.kind == "leaf" else node.item.name
