"""Rolling up repeats: identical module calls side by side become one box or cluster, ×N.

Two kinds of repeat are found among the calls directly inside one cluster (or
at the top), innermost clusters first:

* one module called again and again: an RNN cell over the time steps, the
  embedding read at every step (``RNNCell ×64``);
* a chain of distinct but identical modules, each feeding the next: the
  blocks of a GPT (``Block ×12``).

Calls are compared by a signature (class, output shapes, and the ops, boxes
and edges inside), so only calls that look the same inside fold. Folding keeps
the first call and maps every node of the others onto its counterpart at the
same position, so their edges meet on one picture; an edge from one repeat to
the next becomes a loop: the recurrence you can see.
"""

from __future__ import annotations

from gradzoo.graph.view import View


def fold_repeats(view: View) -> None:
    """Roll up repeated calls in ``view``, in place."""
    folder = _Folder(view)
    for container in folder.containers_inside_out():
        for group in folder.repeat_groups(container):
            folder.merge(group)
    folder.rewire()


class _Folder:
    """The bookkeeping of one fold: which node now stands for which, and who holds what."""

    def __init__(self, view: View):
        self.view = view
        self.alias = {}  # id of a folded-away node (or op inside a box) -> the id standing for it
        self.nodes_in = {None: []}      # cluster id -> ids of the op and box nodes directly in it
        self.leaves_in = {None: []}     # cluster id -> ids of the leaves directly in it
        self.clusters_in = {None: []}   # cluster id -> ids of its sub-clusters
        for cluster in view.clusters.values():
            self.nodes_in[cluster.id], self.leaves_in[cluster.id] = [], []
            self.clusters_in[cluster.id] = []
            self.clusters_in[cluster.parent].append(cluster.id)
        for node in view.nodes.values():
            (self.leaves_in if node.kind == "leaf" else self.nodes_in)[node.cluster].append(node.id)
        self.edges_into, self.edges_from = {}, {}
        for edge in view.edges:
            self.edges_into.setdefault(edge.target, []).append(edge)
            self.edges_from.setdefault(edge.source, []).append(edge)

    def find(self, node_id: str) -> str:
        """The id that stands for ``node_id`` now."""
        while node_id in self.alias:
            node_id = self.alias[node_id]
        return node_id

    # ------------------------------------------------------------------ what is where

    def containers_inside_out(self) -> list:
        """Every cluster, deepest first, then the top level (None)."""
        clusters = self.view.clusters
        depth = {cid: len(self.view.ancestors(cid)) for cid in clusters}
        return sorted(clusters, key=lambda cid: (-depth[cid], clusters[cid].order)) + [None]

    def items_in(self, container) -> list[str]:
        """The module calls directly in ``container``: its boxes and its sub-clusters, in order."""
        boxes = [n for n in self.nodes_in[container]
                 if n in self.view.nodes and self.view.nodes[n].kind == "module"]
        clusters = [c for c in self.clusters_in[container] if c in self.view.clusters]
        return sorted(boxes + clusters, key=self._order)

    def _order(self, item: str) -> int:
        return (self.view.clusters[item] if item in self.view.clusters else
                self.view.nodes[item]).order

    def _call(self, item: str):
        """The ModuleCall a box or a cluster shows."""
        if item in self.view.nodes:
            return self.view.nodes[item].item
        return self.view.clusters[item].call

    def inside(self, item: str) -> tuple[list[str], list[str]]:
        """The op and box nodes of ``item``, and its clusters, in a fixed (pre-)order."""
        if item in self.view.nodes:
            return [item], []
        nodes, clusters, stack = [], [], [item]
        while stack:
            cluster = stack.pop()
            clusters.append(cluster)
            nodes += [n for n in self.nodes_in[cluster] if n in self.view.nodes]
            stack += reversed([c for c in self.clusters_in[cluster] if c in self.view.clusters])
        return nodes, clusters

    # ------------------------------------------------------------------ which calls repeat

    def signature(self, item: str) -> tuple:
        """What must match for two calls to fold: class, output shapes, and what is inside."""
        nodes, clusters = self.inside(item)
        call = self._call(item)
        local = {node_id: i for i, node_id in enumerate(nodes)}
        parts = tuple(self._node_signature(node_id) for node_id in nodes)
        tree = tuple((self.view.clusters[c].call.class_name, self.view.clusters[c].repeat,
                      len([n for n in self.nodes_in[c] if n in self.view.nodes]),
                      len([k for k in self.clusters_in[c] if k in self.view.clusters]))
                     for c in clusters)
        wires = sorted({(local[self.find(edge.source)], i, edge.count)
                        for node_id, i in local.items() for edge in self.edges_into.get(node_id, ())
                        if self.find(edge.source) in local})
        return (call.class_name, call.outputs, parts, tree, tuple(wires))

    def _node_signature(self, node_id: str) -> tuple:
        node = self.view.nodes[node_id]
        if node.kind == "op":
            return ("op", node.item.name, node.item.shape, node.item.dtype)
        ops = tuple((self.view.graph.node(op).name, self.view.graph.node(op).shape)
                    for op in node.ops)
        return ("module", node.item.class_name, node.item.outputs, node.repeat, ops)

    def repeat_groups(self, container) -> list[list[str]]:
        """Groups of calls in ``container`` that fold: the same module again, or a chain."""
        items = self.items_in(container)
        signatures = {item: self.signature(item) for item in items}
        by_module = {}
        for item in items:
            key = (id(self._call(item).module), signatures[item])
            by_module.setdefault(key, []).append(item)
        again = [group for group in by_module.values() if len(group) > 1]
        grouped = {item for group in again for item in group}
        chains = []
        for item in items:
            if item in grouped:
                continue
            chain = next((c for c in chains if signatures[c[-1]] == signatures[item]
                          and self.feeds(c[-1], item)), None)
            if chain is None:
                chains.append([item])
            else:
                chain.append(item)
        chains = [chain for chain in chains if len(chain) > 1]
        group_of = {item: i for i, group in enumerate(again + chains) for item in group}
        return [group for group in again if self._folds_cleanly(group, container, group_of)] \
            + chains

    def feeds(self, first: str, second: str) -> bool:
        """True when an output of call ``first`` is an input of call ``second``."""
        sources = set(self.inside(first)[0])
        return any(self.find(edge.source) in sources for node_id in self.inside(second)[0]
                   for edge in self.edges_into.get(node_id, ()))

    def _folds_cleanly(self, group: list[str], container, group_of: dict) -> bool:
        """One module called again folds if each call feeds the next (a recurrence), or if all
        calls feed the same places (an embedding read at every step of a folded RNN); calls
        that feed different places (the encoder's and the decoder's embedding) stay apart."""
        if all(self.feeds(a, b) for a, b in zip(group, group[1:])):
            return True
        places = [self._destinations(item, container, group_of) for item in group]
        return all(place == places[0] for place in places[1:])

    def _destinations(self, item: str, container, group_of: dict) -> set:
        """Where an item's outputs go, seen from ``container``: items (or their groups) there."""
        nodes = set(self.inside(item)[0])
        found = set()
        for edge in (edge for node_id in nodes for edge in self.edges_from.get(node_id, ())):
            if self.find(edge.target) not in nodes:
                place = self._item_holding(self.find(edge.target), container)
                found.add(group_of.get(place, place))
        return found

    def _item_holding(self, node_id: str, container) -> str:
        """The node itself, or the cluster directly inside ``container`` that holds it."""
        chain = self.view.ancestors(self.view.nodes[node_id].cluster)
        if container is None:
            return chain[0] if chain else node_id
        if container in chain and chain[-1] != container:
            return chain[chain.index(container) + 1]
        return node_id

    # ------------------------------------------------------------------ folding

    def merge(self, group: list[str]) -> None:
        """Fold every call of ``group`` onto the first: nodes onto nodes, clusters onto clusters."""
        first = group[0]
        first_nodes, first_clusters = self.inside(first)
        first_leaves = self._leaf_roles(first_nodes, first_clusters)
        for other in group[1:]:
            nodes, clusters = self.inside(other)
            cluster_map = dict(zip(clusters, first_clusters))
            for role, leaf in self._leaf_roles(nodes, clusters).items():
                self._fold_leaf(leaf, first_leaves.get(role), cluster_map)
            for node_id, kept in zip(nodes, first_nodes):
                self._fold_node(node_id, kept)
            for cluster_id, kept in cluster_map.items():
                self.view.clusters[kept].members += self.view.clusters.pop(cluster_id).members
        if first in self.view.clusters:
            self.view.clusters[first].repeat = len(group)
        else:
            self.view.nodes[first].repeat = len(group)

    def _leaf_roles(self, nodes: list[str], clusters: list[str]) -> dict:
        """Leaves inside a call, keyed by their first reader's position in it and the slot."""
        leaves = {leaf for cluster in clusters for leaf in self.leaves_in[cluster]
                  if leaf in self.view.nodes}
        roles = {}
        for i, node_id in enumerate(nodes):
            for edge in self.edges_into.get(node_id, ()):
                leaf = self.find(edge.source)
                if leaf in leaves:
                    leaves.discard(leaf)
                    roles[(i, edge.uses[0].slot)] = leaf
        roles.update({leaf: leaf for leaf in sorted(leaves)})  # read by no op inside: keep apart
        return roles

    def _fold_leaf(self, leaf: str, kept: str | None, cluster_map: dict) -> None:
        """Fold a repeat's leaf onto its counterpart, or move it into the kept cluster."""
        if kept is None:
            node = self.view.nodes[leaf]
            node.cluster = cluster_map.get(node.cluster, node.cluster)
            self.leaves_in[node.cluster].append(leaf)
            return
        self._fold_node(leaf, kept)

    def _fold_node(self, node_id: str, kept: str) -> None:
        node = self.view.nodes.pop(node_id)
        self.view.nodes[kept].members += node.members
        self.alias[node_id] = kept
        for op_id, kept_op in zip(node.ops, self.view.nodes[kept].ops):
            self.alias[op_id] = kept_op  # the ops inside a box: their outputs travel on edges
        self.edges_into.setdefault(kept, []).extend(self.edges_into.pop(node_id, []))
        self.edges_from.setdefault(kept, []).extend(self.edges_from.pop(node_id, []))

    def rewire(self) -> None:
        """Point every edge at the nodes that stand for its ends; merge edges that now coincide."""
        merged = {}
        for edge in self.view.edges:
            source, target, tensor = (self.find(edge.source), self.find(edge.target),
                                      self.find(edge.tensor))
            key = (source, target, tensor)
            if key in merged:
                merged[key].count = max(merged[key].count, edge.count)
                merged[key].uses += edge.uses
                continue
            edge.source, edge.target, edge.tensor = source, target, tensor
            edge.uses = list(edge.uses)
            merged[key] = edge
        self.view.edges = list(merged.values())
        self.view.output = self.find(self.view.output)
