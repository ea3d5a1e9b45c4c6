"""Gradients for the drawings, from the engine's own backward: every step, every gradient.

``backward_visits`` runs ``Tensor.backward`` while the public hook
``hooks.backward_step`` notes each step, so a drawing (``values=True``) or the
walk's frames can never drift from what ``backward()`` really computes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradzoo.engine import backend, hooks
from gradzoo.engine.tensor import Tensor
from gradzoo.graph.capture import Graph, capture


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

    ones = backend.xp_of(tensor.data).ones_like(tensor.data)  # the seed dL/dL of a scalar loss
    try:
        with hooks.backward_step(note):
            tensor.backward(ones, retain_graph=True)
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
