"""Computation graphs: what made a tensor, op by op, and the modules each op ran in.

    with graph.record():                  # note the module calls while the forward runs
        loss = model.loss(batch)
    graph.draw(loss, depth=1)             # a graphviz.Digraph (shows itself in Jupyter)
    graph.sequential_depth(loss)          # the longest chain of ops that must run in turn

``capture`` walks back from a tensor through ``creator`` and ``inputs`` (with a
stack, not recursion: an RNN unrolled over 500 steps is a chain thousands of
ops deep) into plain records: an ``OpNode`` per op, a ``LeafNode`` per tensor
no op made (parameters, inputs, constants), a ``Use`` per input of an op.
Drawing works from those records (graph_view.py folds them by module,
graph_render.py writes Graphviz's DOT language, graph_walk.py animates backward).

Recording costs nothing when it is off: ``Function.apply`` and ``Module.__call__``
each test an empty list. Inside ``record()``, every op gets ``fn.scope``, the
tuple of ``ModuleCall`` it ran in, outermost first.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from gradzoo.engine import backend
from gradzoo.engine import function as _function
from gradzoo.engine.nn import module as _module
from gradzoo.engine.tensor import Parameter, Tensor, _run_backward


class GraphError(RuntimeError):
    """A graph that cannot be captured (e.g. freed by ``backward()``)."""


# ---------------------------------------------------------------------- recording module calls


class ModuleCall:
    """One call of a module's ``forward``: the module, the call it ran inside, shapes in and out."""

    __slots__ = ("module", "parent", "number", "inputs", "outputs")

    def __init__(self, module, parent, number: int, inputs):
        self.module = module
        self.parent = parent        # the ModuleCall this one ran inside, or None
        self.number = number        # calls are numbered 0, 1, 2... in the order they started
        self.inputs = inputs        # ((shape, dtype), ...) of the tensors passed in
        self.outputs = ()           # ((shape, dtype), ...) of the tensors returned

    @property
    def class_name(self) -> str:
        return type(self.module).__name__

    def __repr__(self) -> str:
        return f"<ModuleCall {self.number}: {self.class_name}>"


class Recording:
    """What ``record()`` collects: every module call, in the order they started."""

    def __init__(self):
        self.calls: list[ModuleCall] = []
        self.ops = 0
        self._stack: list[ModuleCall] = []

    def stamp(self, fn) -> None:
        """Called for every recorded op: note the module calls it runs inside, and when it ran."""
        fn.scope = tuple(self._stack)
        fn.sequence_number = self.ops
        self.ops += 1

    def run_call(self, module, args, kwargs):
        """Called instead of ``module.forward``: run it as a ModuleCall, noting shapes."""
        parent = self._stack[-1] if self._stack else None
        call = ModuleCall(module, parent, len(self.calls), _shapes([*args, *kwargs.values()]))
        self.calls.append(call)
        self._stack.append(call)
        try:
            output = module.forward(*args, **kwargs)
        finally:
            self._stack.pop()
        call.outputs = _shapes([output])
        return output


@contextlib.contextmanager
def record():
    """Inside this ``with``, ops remember the module calls they ran in (for module boxes).

    >>> from gradzoo.engine import nn, tensor, graph
    >>> layer = nn.Linear(2, 1)
    >>> with graph.record() as recording:
    ...     y = layer(tensor([[1.0, 2.0]]))
    >>> [call.class_name for call in y.creator.scope], recording.calls[0].outputs
    (['Linear'], (((1, 1), 'float32'),))
    """
    recording = Recording()
    _function._recorders.append(recording.stamp)
    _module._call_recorders.append(recording.run_call)
    try:
        yield recording
    finally:
        _function._recorders.remove(recording.stamp)
        _module._call_recorders.remove(recording.run_call)


def _shapes(values) -> tuple:
    """(shape, dtype) of each tensor in ``values``, looking one level into tuples and lists."""
    found = []
    for value in values:
        items = value if isinstance(value, (tuple, list)) else (value,)
        found += [(item.shape, str(item.dtype)) for item in items if isinstance(item, Tensor)]
    return tuple(found)


# ---------------------------------------------------------------------- the captured graph


@dataclass
class OpNode:
    """One op of the graph: its name, the shape and dtype of its output, where it ran."""

    id: str                   # "op0", "op1"... numbered inputs-first, so ids are stable
    name: str                 # the Function's class name: "MatMul", "Tanh"...
    shape: tuple
    dtype: str
    calls: tuple              # the ModuleCalls it ran inside, outermost first (or ())
    function: object = field(repr=False)
    output: Tensor = field(repr=False)


@dataclass
class LeafNode:
    """A tensor no op made: a parameter (named by its module path), an input or a constant."""

    id: str                   # "t0", "t1"... in the order ops first use them
    label: str                # "blocks.0.attn.q_proj.weight", "x", "constant"...
    kind: str                 # "parameter", "input" (requires grad) or "constant"
    shape: tuple
    dtype: str
    tensor: Tensor = field(repr=False)


@dataclass(frozen=True)
class Use:
    """Input ``slot`` of op ``op`` reads the tensor made by ``source`` (an op or a leaf id)."""

    source: str
    op: str
    slot: int
    shape: tuple
    needs_grad: bool


@dataclass
class Graph:
    """Everything a drawing needs, in plain records; ``output`` is the id that made the tensor."""

    ops: list[OpNode]
    leaves: list[LeafNode]
    uses: list[Use]
    output: str
    module_names: dict = field(default_factory=dict, repr=False)  # id(module) -> dotted path

    def __post_init__(self):
        self._by_id = {node.id: node for node in [*self.ops, *self.leaves]}

    def node(self, node_id: str):
        """The OpNode or LeafNode with this id."""
        return self._by_id[node_id]

    def module_name(self, call: ModuleCall) -> str:
        """The module's path from the root model ('blocks.0.attn'); '' for the root itself."""
        return self.module_names.get(id(call.module), "")

    @property
    def parameter_count(self) -> int:
        """Numbers in the parameters this graph uses."""
        return sum(leaf.tensor.size for leaf in self.leaves if leaf.kind == "parameter")

    @property
    def sequential_depth(self) -> int:
        """The longest chain of ops in which each op needs the one before (0 without ops)."""
        depth = {}
        for op_uses, op in zip(_uses_by_op(self), self.ops):
            depth[op.id] = 1 + max((depth.get(use.source, 0) for use in op_uses), default=0)
        return max(depth.values(), default=0)


def _uses_by_op(graph: Graph) -> list[list[Use]]:
    """The uses of each op, in the order of ``graph.ops``."""
    position = {op.id: i for i, op in enumerate(graph.ops)}
    grouped = [[] for _ in graph.ops]
    for use in graph.uses:
        grouped[position[use.op]].append(use)
    return grouped


def capture(tensor: Tensor, model=None) -> Graph:
    """Walk back from ``tensor`` through the ops that made it into a ``Graph``.

    Parameters and modules are named by their path in ``model`` (say
    ``generator.layers.0.weight``) when it is given, else in the outermost module
    any op ran in (a model's ``loss`` that calls two sub-models has two of those).
    """
    if tensor.creator is None:
        leaf = LeafNode("t0", tensor.name or "tensor", _leaf_kind(tensor), tensor.shape,
                        str(tensor.dtype), tensor)
        return Graph([], [leaf], [], "t0")
    functions = forward_order(tensor.creator)
    op_ids = {fn: f"op{i}" for i, fn in enumerate(functions)}
    roots = ([model] if model is not None else []) + _root_modules(functions)
    parameter_names, module_names = {}, {}
    for root in roots:  # setdefault: the first root that holds a module names it
        for name, parameter in root.named_parameters():
            parameter_names.setdefault(id(parameter), name)
        for name, module in root.named_modules():
            module_names.setdefault(id(module), name)
    leaves, outputs, uses = {}, {tensor.creator: tensor}, []
    for fn in functions:
        for slot, (t, needed) in enumerate(zip(fn.inputs, fn.needs_input_grad)):
            if t.creator is not None:
                source = op_ids[t.creator]
                outputs[t.creator] = t
            else:
                source = _leaf_for(t, leaves, parameter_names).id
            uses.append(Use(source, op_ids[fn], slot, t.shape, bool(needed)))
    ops = [OpNode(op_ids[fn], fn.name, outputs[fn].shape, str(outputs[fn].dtype),
                  fn.scope or (), fn, outputs[fn]) for fn in functions]
    return Graph(ops, [leaf for leaf, _ in leaves.values()], uses, op_ids[tensor.creator],
                 module_names)


def forward_order(root) -> list:
    """The Functions ``root`` depends on, each after the ones that made its inputs.

    The order they ran in when they were recorded (``record()``); otherwise an
    iterative depth-first search that visits inputs first to last. Either way the
    order (and with it every node id) follows the code, never the memory layout.
    """
    order = _depth_first_order(root)
    numbers = [getattr(fn, "sequence_number", None) for fn in order]
    if None in numbers:
        return order
    return [fn for _, fn in sorted(zip(numbers, order), key=lambda pair: pair[0])]


def _depth_first_order(root) -> list:
    """Inputs before the ops that read them, by a depth-first search with a stack."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            order.append(fn)
            continue
        if fn in seen:
            continue
        if fn.inputs is None:
            raise GraphError("this graph was freed by backward(): draw it before calling "
                             "backward(), or call backward(retain_graph=True)")
        seen.add(fn)
        stack.append((fn, True))
        for t in reversed(fn.inputs):
            if t.creator is not None and t.creator not in seen:
                stack.append((t.creator, False))
    return order


def _root_modules(functions) -> list:
    """The outermost modules any op ran in (normally the one model), in order of first use."""
    roots = {}
    for fn in functions:
        if fn.scope:
            roots.setdefault(id(fn.scope[0].module), fn.scope[0].module)
    return list(roots.values())


def _leaf_kind(t: Tensor) -> str:
    if isinstance(t, Parameter):
        return "parameter"
    return "input" if t.requires_grad else "constant"


def _leaf_for(t: Tensor, leaves: dict, parameter_names: dict) -> LeafNode:
    """The LeafNode of tensor ``t``, made on its first use (``leaves``: id -> (node, tensor))."""
    if id(t) not in leaves:
        kind = _leaf_kind(t)
        label = parameter_names.get(id(t)) or t.name or kind
        node = LeafNode(f"t{len(leaves)}", label, kind, t.shape, str(t.dtype), t)
        leaves[id(t)] = (node, t)  # the tensor is kept, so its id() stays unique
    return leaves[id(t)][0]


def sequential_depth(tensor: Tensor) -> int:
    """The longest chain of dependent ops that made ``tensor``: steps that cannot run in parallel.

    An RNN's grows with the sequence length (each step waits for the last); a
    transformer's does not (every position is computed by the same few matrix products).

    >>> from gradzoo.engine import tensor
    >>> x = tensor(1.0, requires_grad=True)
    >>> sequential_depth((x * 2).tanh() + x)
    3
    """
    return capture(tensor).sequential_depth


# ---------------------------------------------------------------------- gradients, from backward


@dataclass
class Visit:
    """One step of the engine's backward walk: the op, the gradient of its output, what it sent."""

    op: str                    # the OpNode id
    grad: object               # d(loss)/d(output), summed over every use (a backend array)
    input_grads: tuple         # d(loss)/d(input) for each input slot (None where not needed)


def backward_visits(tensor: Tensor, graph: Graph | None = None) -> list[Visit]:
    """Run the engine's own backward from ``tensor`` and note each step, in the order it ran.

    The graph is kept (``retain_graph``) and every leaf's ``.grad`` is put back
    as it was, so drawing never changes what a later ``backward()`` computes.
    """
    graph = graph or capture(tensor)
    if tensor.creator is None or not tensor.requires_grad:
        return []
    op_ids = {op.function: op.id for op in graph.ops}
    saved = [(leaf.tensor, leaf.tensor.grad) for leaf in graph.leaves]
    for leaf in graph.leaves:  # backward adds into .grad in place: start from empty ones
        leaf.tensor.grad = None
    visits = []

    def note(fn, out_grad, input_grads):
        visits.append(Visit(op_ids[fn], out_grad, tuple(input_grads)))

    seed = backend.xp_of(tensor.data).ones_like(tensor.data)  # as backward() starts: ones
    try:
        _run_backward(tensor.creator, seed, retain_graph=True, on_visit=note)
    finally:
        for leaf_tensor, grad in saved:
            leaf_tensor.grad = grad
    return visits


@dataclass
class Gradients:
    """Gradients found by one backward walk, keyed by graph ids (for ``values=True`` drawings)."""

    of_node: dict              # op or leaf id -> d(loss)/d(its tensor), summed over uses
    of_use: dict               # (op id, slot) -> the gradient that op sent to that input


def gradients(graph: Graph, visits: list[Visit]) -> Gradients:
    """Every gradient of a backward walk: of each op's output, of each leaf, sent along each use."""
    of_node, of_use = {}, {}
    for visit in visits:
        of_node[visit.op] = visit.grad
        for slot, grad in enumerate(visit.input_grads):
            if grad is not None:
                of_use[(visit.op, slot)] = grad
    leaf_ids = {leaf.id for leaf in graph.leaves}
    for use in graph.uses:
        if use.source in leaf_ids and (use.op, use.slot) in of_use:
            grad = of_use[(use.op, use.slot)]
            of_node[use.source] = grad if use.source not in of_node else of_node[use.source] + grad
    return Gradients(of_node, of_use)


# ---------------------------------------------------------------------- drawing


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

    >>> from gradzoo.engine import tensor, graph
    >>> w = tensor(0.5, requires_grad=True)
    >>> graph.draw((w * 2.0).tanh()).source.count("->")
    3
    """
    from gradzoo.engine import graph_render, graph_view

    if backward and not tensor.requires_grad:
        raise GraphError("backward=True needs a tensor that requires grad: no gradient flows "
                         "through this one")
    graph = capture(tensor, model)
    view = graph_view.build_view(graph, depth=depth, unroll=unroll or values)
    grads = gradients(graph, backward_visits(tensor, graph)) if values else None
    return graph_render.render(view, backward=backward, values=values, gradients=grads,
                               title=title)


def walk(tensor: Tensor, values: bool = True, title: str | None = None, model=None) -> list:
    """The backward pass as frames (``graphviz.Digraph``), one per op, in the engine's order."""
    from gradzoo.engine import graph_walk

    return graph_walk.frames(tensor, values=values, title=title, model=model)
