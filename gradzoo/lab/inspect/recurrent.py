"""Inside a recurrent model for one example: states and gates over time, and how far back
the gradient reaches.

While the model reads the example, a ``hooks.module_called`` wrapper sees each call
of a recurrent cell. It notes the gates, computed again from the cell's own weights,

    LSTM:  [i f g o] = x W_ih^T + b_ih + h W_hh^T + b_hh;   i, f, o = sigmoid, g = tanh
    GRU:   [r z] = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr, ... z likewise)

and hands on the new state plus a leaf of zeros, h_t + delta_t with delta_t = 0:
the values and the graph stay those of the real unrolled model, and backward from
the loss of one late position leaves ``delta_t.grad = d(loss)/d(h_t)``, summed
over every path from step t to the loss. Its norm per step t is the
vanishing-gradient picture (for an LSTM, d(loss)/d(c_t) shows the path the
forget gate keeps open).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradzoo.engine import Tensor, backend, hooks, nn
from gradzoo.engine import functional as F

host = backend.array_module("cpu")
CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)
GATE_NAMES = {nn.LSTMCell: ("i", "f", "g", "o"), nn.GRUCell: ("r", "z")}


@dataclass
class LayerTrace:
    """One recurrent layer over one example: each array is (time, hidden), host float32."""

    name: str
    cell: str                                     # "RNNCell", "LSTMCell" or "GRUCell"
    hidden: list = field(default_factory=list)    # h_t per step
    cell_state: list = field(default_factory=list)  # c_t per step (LSTM)
    gates: dict = field(default_factory=dict)     # gate name -> values per step
    leaves: list = field(default_factory=list)    # the zero leaves added to h_t (and c_t)
    gradient_norms: list = field(default_factory=list)       # ||d loss / d h_t|| per step
    cell_gradient_norms: list = field(default_factory=list)  # ||d loss / d c_t|| (LSTM)

    def arrays(self) -> dict:
        """Name -> (time, hidden) array of everything recorded: h, c and the gates."""
        out = {"h": host.stack(self.hidden)}
        if self.cell_state:
            out["c"] = host.stack(self.cell_state)
        out.update({name: host.stack(values) for name, values in self.gates.items()})
        return out


def has_recurrence(model) -> bool:
    """True when ``model`` holds a recurrent cell."""
    return any(isinstance(m, CELLS) for _, m in model.named_modules())


def trace(model, tokens: Tensor, labels=None) -> tuple[list[LayerTrace], int]:
    """Run ``model`` on ``tokens`` (1, L); the layers' traces and the position the loss is at.

    The loss is the cross-entropy of one position: the last scored one (``labels``
    not ignored), or the last position with the model's own guess as the label.
    """
    names = {id(module): name for name, module in model.named_modules()}
    layers: dict[str, LayerTrace] = {}

    def watch(module, forward, /, *args, **kwargs):
        if not isinstance(module, CELLS):
            return forward(*args, **kwargs)
        name = names.get(id(module), type(module).__name__)
        layer = layers.setdefault(name, LayerTrace(name, type(module).__name__))
        state = args[1] if len(args) > 1 else None
        _note_gates(layer, module, args[0], state)
        out = forward(*args, **kwargs)
        return _watched(layer, out)

    was_training = model.training
    model.eval()
    with hooks.module_called(watch):
        logits = model(tokens)
    position, target = _scored_position(logits, labels)
    label = Tensor(host.asarray([target]), device=logits.device)
    loss = F.cross_entropy(logits[:, position], label)
    loss.backward()
    model.zero_grad()
    model.train(was_training)
    for layer in layers.values():
        _gradient_norms(layer)
    return list(layers.values()), position


def _scored_position(logits, labels) -> tuple[int, int]:
    """(position, label) of the last scored position, else the last one and its guess."""
    if labels is not None:
        row = backend.to_host(labels.data)[0]
        scored = host.nonzero(row >= 0)[0]
        if len(scored):
            return int(scored[-1]), int(row[scored[-1]])
    last = logits.shape[1] - 1
    return last, int(backend.to_host(logits.data[0, last]).argmax())


def _note_gates(layer: LayerTrace, cell, x: Tensor, state) -> None:
    """The gates of this step, from the cell's weights and its inputs, on the host."""
    gate_names = GATE_NAMES.get(type(cell))
    if gate_names is None:
        return
    h = state[0] if isinstance(state, tuple) else state
    size = cell.hidden_size
    x_data = backend.to_host(x.data)[0].astype("float32")
    h_data = host.zeros(size, dtype="float32") if h is None else backend.to_host(h.data)[0]
    from_x = _linear(x_data, cell.weight_ih, cell.bias_ih)
    from_h = _linear(h_data, cell.weight_hh, cell.bias_hh)
    pre = from_x + from_h
    for index, gate in enumerate(gate_names):
        values = pre[index * size:(index + 1) * size]
        values = host.tanh(values) if gate == "g" else 1.0 / (1.0 + host.exp(-values))
        layer.gates.setdefault(gate, []).append(values.astype("float32"))


def _linear(v, weight, bias):
    """v W^T + b on the host (one vector)."""
    out = backend.to_host(weight.data) @ v
    return out if bias is None else out + backend.to_host(bias.data)


def _watched(layer: LayerTrace, out):
    """The cell's output plus zero leaves, whose .grad will be d(loss)/d(output); values noted."""
    parts = out if isinstance(out, tuple) else (out,)
    xp = backend.xp_of(parts[0].data)
    leaves = tuple(Tensor(xp.zeros_like(p.data), requires_grad=True) for p in parts)
    layer.hidden.append(backend.to_host(parts[0].data)[0])
    if len(parts) > 1:
        layer.cell_state.append(backend.to_host(parts[1].data)[0])
    layer.leaves.append(leaves)
    watched = tuple(p + leaf for p, leaf in zip(parts, leaves))
    return watched if isinstance(out, tuple) else watched[0]


def _gradient_norms(layer: LayerTrace) -> None:
    """||d loss / d h_t|| (and c_t) per step; 0 after the scored position, which it cannot reach."""
    for leaves in layer.leaves:
        norms = [0.0 if leaf.grad is None else
                 float(host.sqrt((backend.to_host(leaf.grad.data).astype("float64") ** 2).sum()))
                 for leaf in leaves]
        layer.gradient_norms.append(norms[0])
        if len(norms) > 1:
            layer.cell_gradient_norms.append(norms[1])
    layer.leaves = []
