"""Capturing a computation graph: what made a tensor, op by op, and the modules each op ran in.

    with graph.record():                  # note the module calls while the forward runs
        loss = model.loss(batch)
    graph.draw(loss, depth=1)             # a graphviz.Digraph (shows itself in Jupyter)
    graph.sequential_depth(loss)          # the longest chain of ops that must run in turn

``capture`` walks back from a tensor through ``creator`` and ``inputs`` (with a
stack, not recursion: an RNN unrolled over 500 steps is a chain thousands of
ops deep) into plain records: an ``OpNode`` per op, a ``LeafNode`` per tensor
no op made (parameters, inputs, constants), a ``Use`` per input of an op.
Drawing works from those records (view.py folds them by module, render.py
writes Graphviz's DOT language, frames.py animates backward).

``record()`` watches the engine through its public hooks (engine/hooks.py): each
module call runs inside a ``ModuleCall``, and each op recorded meanwhile gets its
scope, the tuple of ``ModuleCall`` it ran in, outermost first (``scope_of(fn)``).
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field

from gradzoo.engine import hooks
from gradzoo.engine.tensor import Parameter, Tensor

# The scope of every op recorded inside record(): Function -> (ModuleCall, ...), outermost
# first. Weak keys: an entry goes with its op, so a recording never keeps a graph alive.
_scopes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        self._stack: list[ModuleCall] = []  # the calls running now, outermost first

    def note_op(self, fn) -> None:
        """Told of every recorded op (hooks.op_recorded): note the module calls it runs inside."""
        _scopes[fn] = tuple(self._stack)

    def run_call(self, module, forward, /, *args, **kwargs):
        """Runs every module call (hooks.module_called) as a ModuleCall, noting its shapes."""
        parent = self._stack[-1] if self._stack else None
        call = ModuleCall(module, parent, len(self.calls), _shapes([*args, *kwargs.values()]))
        self.calls.append(call)
        self._stack.append(call)
        try:
            output = forward(*args, **kwargs)
        finally:
            self._stack.pop()
        call.outputs = _shapes([output])
        return output


@contextlib.contextmanager
def record():
    """Inside this ``with``, ops remember the module calls they ran in (for module boxes).

    >>> from gradzoo import graph
    >>> from gradzoo.engine import nn, tensor
    >>> layer = nn.Linear(2, 1)
    >>> with graph.record() as recording:
    ...     y = layer(tensor([[1.0, 2.0]]))
    >>> [call.class_name for call in graph.scope_of(y.creator)], recording.calls[0].outputs
    (['Linear'], (((1, 1), 'float32'),))
    """
    recording = Recording()
    with hooks.op_recorded(recording.note_op), hooks.module_called(recording.run_call):
        yield recording


def scope_of(fn) -> tuple:
    """The module calls op ``fn`` ran in, outermost first; () for an op made outside record()."""
    return _scopes.get(fn, ())


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
                  scope_of(fn), fn, outputs[fn]) for fn in functions]
    return Graph(ops, [leaf for leaf, _ in leaves.values()], uses, op_ids[tensor.creator],
                 module_names)


def forward_order(root) -> list:
    """The Functions ``root`` depends on, in the order they ran (each after its inputs' makers).

    The engine numbers every op as it runs (``Function.sequence``), so sorting the
    reachable ops by that number gives the order of the code, never of the memory
    layout (and with it stable node ids). They are found with a stack, not recursion.
    """
    found, stack = {root}, [root]
    while stack:
        fn = stack.pop()
        if fn.inputs is None:
            raise GraphError("this graph was freed by backward(): draw it before calling "
                             "backward(), or call backward(retain_graph=True)")
        for t in fn.inputs:
            if t.creator is not None and t.creator not in found:
                found.add(t.creator)
                stack.append(t.creator)
    return sorted(found, key=lambda fn: fn.sequence)


def _root_modules(functions) -> list:
    """The outermost modules any op ran in (normally the one model), in order of first use."""
    roots = {}
    for fn in functions:
        scope = scope_of(fn)
        if scope:
            roots.setdefault(id(scope[0].module), scope[0].module)
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
