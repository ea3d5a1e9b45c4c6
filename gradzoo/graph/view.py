"""What a drawing shows: the captured graph, with modules nested deeper than ``depth`` folded.

    depth=None   every op, inside nested clusters: model > block > attention > linear
    depth=1      the model's own ops, and one box for each module it calls
    depth=0      the whole model as one box

A module call at nesting level ``depth`` (the model's own call is level 0)
becomes one box standing for every op inside it; the calls above it become
clusters. A parameter used only inside one module's box disappears into it
(the box counts its parameters); every other leaf sits in the innermost
cluster that holds all the ops using it. Repeats are rolled up afterwards
(fold.py), unless ``unroll``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradzoo.graph.capture import Graph, LeafNode, ModuleCall


@dataclass
class ViewNode:
    """A node of the drawing: an op, a leaf, or a folded module call (a box)."""

    id: str
    kind: str                 # "op", "leaf" or "module"
    item: object              # the OpNode, LeafNode or ModuleCall it shows
    cluster: str | None       # the id of the cluster it sits in (None: the top level)
    order: int                # when it first appeared (ops in forward order)
    ops: list = field(default_factory=list)      # ids of the ops it stands for
    members: list = field(default_factory=list)  # the items it stands for once repeats fold
    repeat: int = 1           # ×N: how many repeated calls this box stands for


@dataclass
class Cluster:
    """A module call drawn open: a frame around the ops and boxes that ran inside it."""

    id: str
    call: ModuleCall
    parent: str | None
    order: int
    members: list = field(default_factory=list)  # the ModuleCalls it stands for
    repeat: int = 1


@dataclass
class ViewEdge:
    """A tensor travelling from the node that made it to a node that reads it."""

    source: str
    target: str
    tensor: str               # the id of the op or leaf that made the tensor
    shape: tuple
    needs_grad: bool
    uses: list                # the graph's Uses it stands for (several: x * x, or folded)
    count: int = 1            # how many arrows to draw: x * x reads x twice


@dataclass
class View:
    """Nodes, clusters and edges of one drawing, in a stable order."""

    graph: Graph
    depth: int | None
    nodes: dict = field(default_factory=dict)      # id -> ViewNode, in drawing order
    clusters: dict = field(default_factory=dict)   # id -> Cluster
    edges: list = field(default_factory=list)
    output: str = ""                                # the node that made the drawn tensor
    _calls: dict = field(default_factory=dict, repr=False)  # ModuleCall -> cluster/box id

    def add(self, node: ViewNode) -> ViewNode:
        self.nodes[node.id] = node
        return node

    def next_order(self) -> int:
        return len(self.nodes) + len(self.clusters)

    def ancestors(self, cluster_id: str | None) -> list[str]:
        """The clusters from the top down to ``cluster_id`` (itself included)."""
        chain = []
        while cluster_id is not None:
            chain.append(cluster_id)
            cluster_id = self.clusters[cluster_id].parent
        return chain[::-1]

    def name_of(self, call: ModuleCall) -> str:
        """A module's path ('blocks.0.attn'), or its class for the root model."""
        return self.graph.module_name(call) or call.class_name


def build_view(graph: Graph, depth: int | None = None, unroll: bool = False) -> View:
    """Fold ``graph`` for a drawing: boxes below ``depth``, then ×N repeats unless ``unroll``."""
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be 0 or more (or None for every op), got {depth}")
    view = View(graph, depth)
    shown = {}  # graph id (op or leaf) -> the view node that shows it (None: hidden in a box)
    for op in graph.ops:
        path = op.calls
        folded = depth is not None and len(path) > depth
        cluster = _cluster_for(view, path[:depth] if folded else path)
        if folded:
            node = _box_for(view, path[depth], cluster)
        else:
            node = view.add(ViewNode(op.id, "op", op, cluster, view.next_order(), members=[op]))
        node.ops.append(op.id)
        shown[op.id] = node.id
    _place_leaves(view, shown)
    _connect(view, shown)
    view.output = shown[graph.output]
    if not unroll:
        from gradzoo.graph.fold import fold_repeats

        fold_repeats(view)
    return view


def _cluster_for(view: View, path) -> str | None:
    """The cluster of the innermost call of ``path``, making the clusters along it as needed."""
    parent = None
    for call in path:
        if call not in view._calls:
            cluster = Cluster(f"c{len(view.clusters)}", call, parent, view.next_order(), [call])
            view.clusters[cluster.id] = cluster
            view._calls[call] = cluster.id
        parent = view._calls[call]
    return parent


def _box_for(view: View, call: ModuleCall, cluster: str | None) -> ViewNode:
    """The box of a folded module call, made on its first op."""
    if call not in view._calls:
        boxes = sum(1 for node in view.nodes.values() if node.kind == "module")
        node = ViewNode(f"m{boxes}", "module", call, cluster, view.next_order(), members=[call])
        view._calls[call] = view.add(node).id
    return view.nodes[view._calls[call]]


def _place_leaves(view: View, shown: dict) -> None:
    """Give each leaf a place, or hide it in the one box that uses it."""
    users = {leaf.id: [] for leaf in view.graph.leaves}
    for use in view.graph.uses:
        if use.source in users and shown[use.op] not in users[use.source]:
            users[use.source].append(shown[use.op])
    owned = {}  # id(module) -> ids of its parameters
    for leaf in view.graph.leaves:
        readers = [view.nodes[node_id] for node_id in users[leaf.id]]
        if _hidden_in_boxes(leaf, readers, owned):
            shown[leaf.id] = None
            continue
        # an input the caller passed in stays outside every module; a weight or a constant
        # sits in the innermost module that holds every op reading it
        cluster = None if leaf.kind == "input" else _common_cluster(
            view, [reader.cluster for reader in readers])
        view.add(ViewNode(leaf.id, "leaf", leaf, cluster, view.next_order(), members=[leaf]))
        shown[leaf.id] = leaf.id


def _hidden_in_boxes(leaf: LeafNode, readers: list, owned: dict) -> bool:
    """True for a box's own parameter, or a constant that only one box reads."""
    if not readers or any(reader.kind != "module" for reader in readers):
        return False
    if leaf.kind == "constant":
        return len(readers) == 1
    if leaf.kind != "parameter":
        return False  # an input that needs a gradient is always shown
    for reader in readers:
        module = reader.item.module
        if id(module) not in owned:
            owned[id(module)] = {id(p) for p in module.parameters()}
        if id(leaf.tensor) not in owned[id(module)]:
            return False
    return True


def _common_cluster(view: View, clusters: list) -> str | None:
    """The innermost cluster that holds all of ``clusters`` (None: only the top level does)."""
    if not clusters:
        return None
    common = view.ancestors(clusters[0])
    for cluster in clusters[1:]:
        chain = view.ancestors(cluster)
        size = 0
        while size < min(len(common), len(chain)) and common[size] == chain[size]:
            size += 1
        common = common[:size]
    return common[-1] if common else None


def _connect(view: View, shown: dict) -> None:
    """One edge per (maker, reader, tensor); uses inside one box disappear into it."""
    edges = {}
    for use in view.graph.uses:
        source, target = shown[use.source], shown[use.op]
        if source is None or source == target:
            continue
        key = (source, target, use.source)
        if key not in edges:
            edges[key] = ViewEdge(source, target, use.source, use.shape, use.needs_grad, [])
        edges[key].uses.append(use)
    for edge in edges.values():  # a box takes its input once, however many ops inside read it
        edge.count = len(edge.uses) if view.nodes[edge.target].kind == "op" else 1
    view.edges = list(edges.values())
