"""Drawing a graph: a folded graph (view.View) as a ``graphviz.Digraph``, Graphviz's DOT language.

Forward: ops are rounded boxes (name, output shape, dtype), parameters yellow
ellipses named by their module path, inputs green, constants grey, folded
modules lavender 3-D boxes (class, name, parameter count, shapes in and out),
open modules dashed frames. Backward: one node per op's backward, arrows in
the direction the gradient flows labelled with its shape (or its value),
a Σ wherever the gradients of a tensor read by several ops add up, and a
``.grad`` node for every leaf that gets one.

``draw`` runs the whole way from a tensor: capture, fold, (gradients,) render.
The graphviz package is imported here only, when something is drawn; node ids
are the capture's (``op3``, ``t0``, ``m1``), so the DOT text is the same on every run.
"""

from __future__ import annotations

import html
import textwrap

from gradzoo.engine import backend
from gradzoo.engine.tensor import Tensor
from gradzoo.graph.backward import backward_visits, gradients
from gradzoo.graph.capture import GraphError, capture
from gradzoo.graph.view import View, ViewEdge, build_view

FONT = "Helvetica"
FILL = {"op": "#dbe8f7", "module": "#e4dcf2", "parameter": "#fff2cc", "input": "#e2f0d9",
        "constant": "#eeeeee", "backward": "#f9dfd3", "sum": "#ffe08a"}
SHOWN_ELEMENTS = 6  # ``values=True`` prints tensors with at most this many elements
CAPTION_WIDTH = 72  # characters per line of a walk frame's caption


def draw(tensor: Tensor, depth: int | None = None, backward: bool = False, values: bool = False,
         unroll: bool = False, title: str | None = None, model=None):
    """The graph that made ``tensor`` as a ``graphviz.Digraph``, folded by module.

    ``depth``: modules nested deeper fold into one box (0: the whole model is one
    box; None: every op, clustered by module). Repeated identical modules fold
    into one box marked ×N unless ``unroll``. ``backward``: the gradient graph,
    one node per op's backward, gradient shapes on the edges, a Σ node where a
    tensor's gradients from several uses add up. ``values``: show the values
    (and gradients) of tensors with at most a few elements (and unroll, since
    each repeat has values of its own); the gradients come from the engine's own
    backward, run with the graph kept and every ``.grad`` put back afterwards.

    >>> from gradzoo import graph
    >>> from gradzoo.engine import tensor
    >>> w = tensor(0.5, requires_grad=True)
    >>> graph.draw((w * 2.0).tanh()).source.count("->")
    3
    """
    if backward and not tensor.requires_grad:
        raise GraphError("backward=True needs a tensor that requires grad: no gradient flows "
                         "through this one")
    graph = capture(tensor, model)
    view = build_view(graph, depth=depth, unroll=unroll or values)
    grads = gradients(graph, backward_visits(tensor, graph)) if values else None
    return render(view, backward=backward, values=values, gradients=grads, title=title)


def render(view: View, backward: bool = False, values: bool = False, gradients=None,
           title: str | None = None, frame=None):
    """The Digraph of ``view``; ``frame`` (frames.Frame) colours one step of the walk."""
    import graphviz

    dot = graphviz.Digraph("gradzoo", graph_attr={
        "rankdir": "TB", "fontname": FONT, "fontsize": "12", "labelloc": "b",
        "label": _caption(view, title, frame), "nodesep": "0.25", "ranksep": "0.35"},
        node_attr={"fontname": FONT, "fontsize": "10", "shape": "box",
                   "style": "rounded,filled", "margin": "0.08,0.04"},
        edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.7"})
    drawer = _Drawer(view, backward, values, gradients, frame)
    drawer.emit_container(dot, None)
    drawer.emit_edges(dot)
    return dot


def summary(view: View) -> str:
    """'31 ops · 1,234 parameters · sequential depth 12': the line under every picture."""
    graph = view.graph
    return (f"{_count(len(graph.ops), 'op')} · {_count(graph.parameter_count, 'parameter')} · "
            f"sequential depth {graph.sequential_depth:,}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _caption(view: View, title: str | None, frame) -> str:
    """The text under the picture: the title, a walk step's caption, the summary line."""
    lines = [title] if title else []
    if frame is not None:
        lines += textwrap.wrap(frame.caption, CAPTION_WIDTH)
    lines.append(summary(view))
    if frame is None or not frame.widest:
        return "\\n".join(_escape(line) for line in lines)
    # A walk: an invisible copy of the widest caption line of all frames gives every
    # frame the same width, so the picture does not shift from one frame to the next.
    spacer = f'<font color="transparent">{html.escape(frame.widest)}</font>'
    return "<" + "<br/>".join([*(html.escape(line) for line in lines), spacer]) + ">"


class _Drawer:
    """Emits the nodes (cluster by cluster) and the edges of one picture."""

    def __init__(self, view: View, backward: bool, values: bool, gradients, frame):
        self.view, self.backward, self.values = view, backward, values
        self.gradients, self.frame = gradients, frame
        self.nodes_in, self.clusters_in = {None: []}, {None: []}
        for cluster in view.clusters.values():
            self.nodes_in[cluster.id], self.clusters_in[cluster.id] = [], []
            self.clusters_in[cluster.parent].append(cluster.id)
        for node in view.nodes.values():
            if not (backward and node.kind == "leaf" and node.item.kind == "constant"):
                self.nodes_in[node.cluster].append(node)
        self.sums = accumulation_points(view) if backward else {}
        for (source, tensor) in self.sums:
            self.nodes_in[view.nodes[source].cluster].append(("sum", source, tensor))
        self.call_numbers = _call_numbers(view)

    # ------------------------------------------------------------------ nodes

    def emit_container(self, target, cluster_id) -> None:
        """The nodes directly in a cluster (or at the top), then each sub-cluster inside it."""
        if cluster_id is None and self.backward:
            target.node("start", _escape(self._start_label()), shape="box", style="rounded,dashed")
        for node in self.nodes_in[cluster_id]:
            if isinstance(node, tuple):
                self._emit_sum(target, node[1], node[2])
            else:
                target.node(node.id, _escape(self._label(node)), **self._node_style(node))
        for sub in self.clusters_in[cluster_id]:
            with target.subgraph(name=f"cluster_{sub}") as frame:
                frame.attr(label=_escape(self._cluster_label(sub)), style="rounded,dashed",
                           color="#9a8fb5", fontcolor="#5b4f7a", fontsize="10",
                           labelloc="t", labeljust="l")
                self.emit_container(frame, sub)

    def _label(self, node) -> str:
        if node.kind == "module":
            return self._module_label(node)
        if node.kind == "leaf":
            return self._leaf_label(node)
        op = node.item
        lines = [op.name + ("Backward" if self.backward else ""),
                 f"{shape_text(op.shape)} {op.dtype}"]
        return "\n".join(lines + self._value_lines(op.id, op.output))

    def _leaf_label(self, node) -> str:
        leaf = node.item
        name = _common_name([member.label for member in node.members])
        if self.backward:
            lines = [f"{name}.grad", shape_text(leaf.shape)]
        elif leaf.kind == "constant" and leaf.tensor.size <= SHOWN_ELEMENTS:
            lines = [f"{name} {values_text(leaf.tensor.data)}"]
        elif leaf.kind == "constant":
            lines = [_constant_name(leaf.tensor.data, name),
                     f"{shape_text(leaf.shape)} {leaf.dtype}"]
        else:
            lines = [name, f"{shape_text(leaf.shape)} {leaf.dtype}"]
        if leaf.kind == "constant":
            return "\n".join(lines)
        return "\n".join(lines + self._value_lines(leaf.id, leaf.tensor))

    def _value_lines(self, node_id: str, tensor) -> list[str]:
        """'data ...' (forward only) and 'grad ...' lines, for tensors small enough to print."""
        if not self.values or self.frame is not None:
            return []  # a walk frame shows values on the arrows, as they are sent
        lines = []
        if not self.backward and is_small(tensor.data):
            lines.append(f"data {values_text(tensor.data)}")
        grad = self.gradients.of_node.get(node_id) if self.gradients is not None else None
        if is_small(grad):
            lines.append(f"grad {values_text(grad)}")
        return lines

    def _module_label(self, node) -> str:
        call = node.item
        heading = call.class_name + (f" ×{node.repeat}" if node.repeat > 1 else "")
        lines = [heading + (" backward" if self.backward else "")]
        name = _common_name([self.view.name_of(member) for member in node.members])
        if name != call.class_name:
            lines.append(name + self.call_numbers.get(node.id, ""))
        count = sum(p.size for p in call.module.parameters())
        distinct = len({id(member.module) for member in node.members}) > 1
        lines.append(_count(count, "parameter") + (" each" if distinct else ""))
        widest = max(node.members, key=lambda member: len(member.inputs))
        lines.append("in " + _shapes(widest.inputs))
        lines.append("out " + _shapes(call.outputs))
        return "\n".join(lines)

    def _cluster_label(self, cluster_id: str) -> str:
        cluster = self.view.clusters[cluster_id]
        heading = cluster.call.class_name + (f" ×{cluster.repeat}" if cluster.repeat > 1 else "")
        name = _common_name([self.view.name_of(member) for member in cluster.members])
        if name == cluster.call.class_name:
            return heading
        return f"{heading} · {name}{self.call_numbers.get(cluster_id, '')}"

    def _node_style(self, node) -> dict:
        if node.kind == "leaf":
            style = {"shape": "ellipse", "style": "filled", "fillcolor": FILL[node.item.kind]}
        elif node.kind == "module":
            style = {"shape": "box3d", "style": "filled", "fillcolor": FILL["module"]}
        else:
            style = {"fillcolor": FILL["backward" if self.backward else "op"]}
        if node.id == self.view.output and not self.backward:
            style["penwidth"] = "2"
        if self.frame is not None:
            style.update(self.frame.node_style(node.id))
        return style

    def _start_label(self) -> str:
        shape = self._tensor_shape(self.view.graph.output)
        return "start: ∂L/∂L = 1" if shape == () else f"start: ones {shape_text(shape)}"

    def _emit_sum(self, target, source: str, tensor: str) -> None:
        uses = self.sums[(source, tensor)]
        style = {"shape": "doublecircle", "style": "filled", "fillcolor": FILL["sum"],
                 "width": "0.3", "margin": "0", "tooltip": f"the gradients of {uses} uses add up"}
        if self.frame is not None:
            style.update(self.frame.node_style(_sum_id(tensor)))
        target.node(_sum_id(tensor), "Σ", **style)

    # ------------------------------------------------------------------ edges

    def emit_edges(self, dot) -> None:
        if self.backward:
            shape = self._tensor_shape(self.view.graph.output)
            label = "1" if self.values and shape == () else shape_text(shape)
            dot.edge("start", self.view.output, label, **self._edge_style(("start",)))
            for edge in self.view.edges:
                if edge.needs_grad:
                    self._emit_gradient(dot, edge)
            for (source, tensor) in self.sums:
                grad = self.gradients.of_node.get(tensor) if self.gradients else None
                label = self._grad_text(grad, self._tensor_shape(tensor))
                dot.edge(_sum_id(tensor), source, label, **self._edge_style(("sum", tensor)))
            return
        for edge in self.view.edges:
            for _ in range(edge.count):
                dot.edge(edge.source, edge.target)

    def _emit_gradient(self, dot, edge: ViewEdge) -> None:
        """The gradient of ``edge``'s tensor flows back: from its reader to its maker (or Σ)."""
        into = _sum_id(edge.tensor) if (edge.source, edge.tensor) in self.sums else edge.source
        uses = edge.uses if self.view.nodes[edge.target].kind == "op" else edge.uses[:1]
        for use in uses[:edge.count]:
            grad = self.gradients.of_use.get((use.op, use.slot)) if self.gradients else None
            dot.edge(edge.target, into, self._grad_text(grad, edge.shape),
                     **self._edge_style(("use", edge.source, edge.target, edge.tensor, use.slot)))

    def _grad_text(self, grad, shape) -> str:
        """The gradient on an arrow: its value when asked for and small, else its shape."""
        return values_text(grad) if self.values and is_small(grad) else shape_text(shape)

    def _tensor_shape(self, tensor: str) -> tuple:
        return self.view.graph.node(tensor).shape

    def _edge_style(self, key) -> dict:
        return self.frame.edge_style(key) if self.frame is not None else {}


def _call_numbers(view: View) -> dict:
    """' (call 2 of 3)' for each box or cluster of a module drawn more than once (unrolled)."""
    drawn = {}
    for item_id, call in [*((c.id, c.call) for c in view.clusters.values()),
                          *((n.id, n.item) for n in view.nodes.values() if n.kind == "module")]:
        drawn.setdefault(id(call.module), []).append((call.number, item_id))
    numbers = {}
    for calls in drawn.values():
        for position, (_, item_id) in enumerate(sorted(calls), start=1):
            if len(calls) > 1:
                numbers[item_id] = f" (call {position} of {len(calls)})"
    return numbers


def accumulation_points(view: View) -> dict:
    """(maker, tensor) -> number of uses, for tensors whose gradients come from two uses or more."""
    uses = {}
    for edge in view.edges:
        if edge.needs_grad:
            key = (edge.source, edge.tensor)
            uses[key] = uses.get(key, 0) + edge.count
    return {key: count for key, count in uses.items() if count >= 2}


def _sum_id(tensor: str) -> str:
    return f"sum_{tensor}"


# ---------------------------------------------------------------------- text


def _escape(text: str) -> str:
    """A label for DOT: quotes and backslashes escaped, line breaks as ``\\n``."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def shape_text(shape) -> str:
    """'(2, 16, 64)' as Python writes the shape; 'scalar' for ()."""
    return "scalar" if tuple(shape) == () else str(tuple(int(size) for size in shape))


def _shapes(shapes) -> str:
    return ", ".join(shape_text(shape) for shape, _ in shapes) or "-"


def is_small(array) -> bool:
    return array is not None and array.size <= SHOWN_ELEMENTS


def values_text(array) -> str | None:
    """'0.7071' or '[1, 2.5]' for a small array; None for a big one."""
    if not is_small(array):
        return None
    return _number_list(backend.to_host(array).tolist())


def _number_list(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_number_list(v) for v in value) + "]"
    return format(value, ".4g") if isinstance(value, float) else str(value)


def _constant_name(array, name: str) -> str:
    """'zeros' or 'ones' for a constant that is all 0 or all 1 (an RNN's first state), else name."""
    if name != "constant":
        return name
    host = backend.to_host(array)
    for value, word in ((0, "zeros"), (1, "ones")):
        if (host == value).all():
            return word
    return name


def _common_name(names: list[str]) -> str:
    """One name for folded repeats: 'blocks.*.ln_1.weight' for blocks.0..., blocks.1..."""
    if len(set(names)) == 1:
        return names[0]
    split = [name.split(".") for name in names]
    if len({len(parts) for parts in split}) != 1:
        return names[0] + " …"
    return ".".join(parts[0] if len(set(parts)) == 1 else "*" for parts in zip(*split))
