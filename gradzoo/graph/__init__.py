"""Computation graphs: capture what made a tensor, fold it by module, draw it with Graphviz.

    from gradzoo import graph

    with graph.record():                  # note the module calls while the forward runs
        loss = model.loss(batch)
    graph.draw(loss, depth=1)             # a graphviz.Digraph (shows itself in Jupyter)
    graph.sequential_depth(loss)          # the longest chain of ops that must run in turn
    graph.walk(loss)                      # the backward pass, one Digraph per step

The package sits above the engine and watches it only through its public hooks
(gradzoo/engine/hooks.py). The steps, one file each: capture.py (tensor -> plain
records), backward.py (the gradients of a real backward), view.py and fold.py (boxes
by module, ×N repeats), render.py (DOT text), frames.py (the backward walk, animated).
"""

from gradzoo.graph.backward import Gradients, Visit, backward_visits, gradients
from gradzoo.graph.capture import (
    Graph,
    GraphError,
    LeafNode,
    ModuleCall,
    OpNode,
    Recording,
    Use,
    capture,
    forward_order,
    record,
    scope_of,
    sequential_depth,
)
from gradzoo.graph.frames import walk
from gradzoo.graph.render import draw

__all__ = [
    "record", "Recording", "ModuleCall", "scope_of", "capture", "forward_order",
    "Graph", "OpNode", "LeafNode", "Use", "GraphError", "sequential_depth",
    "backward_visits", "Visit", "gradients", "Gradients", "draw", "walk",
]
