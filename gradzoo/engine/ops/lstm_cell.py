"""One LSTM time step as ONE op: the four gates in one matrix product, forward and backward.

(x, h, c) -> the next state [h' | c'], gates i, f, g, o in PyTorch's order. Inputs
x (..., I), h and c (..., H), weight_ih (4H, I), weight_hh (4H, H) and, optionally,
bias_ih and bias_hh (4H,). The output stacks h' and c' on the last axis, shape
(..., 2H) (an op has one output); ``nn.LSTMCell`` slices it.

    a = x W_ih^T + h W_hh^T + b_ih + b_hh            (all four gates at once)
    i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o)
    c' = f * c + i * g,     h' = o * tanh(c')

Backward, with dh', dc' the two halves of the output gradient:

    dc  = dc' + dh' * o * (1 - tanh^2(c'))           (c' reaches the loss two ways)
    da_i = dc * g * i (1 - i),   da_f = dc * c * f (1 - f),
    da_g = dc * i * (1 - g^2),   da_o = dh' * tanh(c') * o (1 - o)
    dL/dc = dc * f,   dL/dx = da W_ih,   dL/dh = da W_hh,
    dL/dW_ih = da^T x,   dL/dW_hh = da^T h,   dL/db_ih = dL/db_hh = sum of da over rows

``lstm_cell_composed`` is the step with the small ops, line by line as the
equations read (the version to study); fused, a step is one node of the graph
instead of about twenty, and its backward is the chain rule above written out once.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.linear import linear_composed
from gradzoo.engine.ops.shape import Concat
from gradzoo.engine.ops.unary import sigmoid_


def check_input_size(cell: str, x_shape, weight_ih_shape) -> None:
    """The input's last dimension must be the cell's input_size (weight_ih's columns)."""
    if weight_ih_shape[1] != x_shape[-1]:
        raise RuntimeError(f"{cell}: input has {x_shape[-1]} features (shape "
                           f"{tuple(x_shape)}), expected input_size={weight_ih_shape[1]}")


def lstm_cell_composed(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """The LSTM step with the small ops; returns [h' | c'] on the last axis, as the op does."""
    check_input_size("LSTMCell", x.shape, weight_ih.shape)
    H = weight_hh.shape[1]
    stacked = linear_composed(x, weight_ih, bias_ih) + linear_composed(h, weight_hh, bias_hh)
    input_gate = stacked[..., 0 * H:1 * H].sigmoid()   # i = sigmoid(W_ii x + W_hi h + b_i)
    forget_gate = stacked[..., 1 * H:2 * H].sigmoid()  # f = sigmoid(W_if x + W_hf h + b_f)
    candidate = stacked[..., 2 * H:3 * H].tanh()       # g = tanh(W_ig x + W_hg h + b_g)
    output_gate = stacked[..., 3 * H:4 * H].sigmoid()  # o = sigmoid(W_io x + W_ho h + b_o)
    c_next = forget_gate * c + input_gate * candidate  # c' = f * c + i * g
    h_next = output_gate * c_next.tanh()               # h' = o * tanh(c')
    return Concat.apply(h_next, c_next, dim=-1)


class LSTMCell(Function):
    """(x, h, c, weight_ih, weight_hh[, bias_ih, bias_hh]) -> [h' | c'] (see above)."""

    parameters = ("has_bias",)
    has_bias = False
    composed = staticmethod(lstm_cell_composed)

    def forward(self, x, h, c, weight_ih, weight_hh, *biases):
        xp = xp_of(x)
        hidden = weight_hh.shape[1]
        check_input_size("LSTMCell", x.shape, weight_ih.shape)
        self.x, self.h = x.reshape(-1, x.shape[-1]), h.reshape(-1, hidden)
        self.c = c.reshape(-1, hidden)
        # a^T = W_ih x^T + W_hh h^T, (4H, batch): BLAS is faster with the long side first
        # (for a small batch); a is its transpose, a view, so the gates below read as (batch, 4H).
        gates_t = weight_ih @ self.x.T
        gates_t += weight_hh @ self.h.T
        gates = gates_t.T
        for bias in biases:
            gates += bias
        H = hidden
        sigmoid_(xp, gates[:, :2 * H])                  # i and f
        xp.tanh(gates[:, 2 * H:3 * H], out=gates[:, 2 * H:3 * H])  # g
        sigmoid_(xp, gates[:, 3 * H:])                  # o
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        state = xp.empty((gates.shape[0], 2 * H), dtype=gates.dtype)
        c_next = state[:, H:]
        xp.multiply(f, self.c, out=c_next)
        c_next += i * g                                 # c' = f c + i g
        self.tanh_c = xp.tanh(c_next)
        xp.multiply(o, self.tanh_c, out=state[:, :H])   # h' = o tanh(c')
        self.gates = gates
        return state.reshape(x.shape[:-1] + (2 * H,))

    def backward(self, grad):
        xp, H = xp_of(grad), self.h.shape[1]
        grad = grad.reshape(-1, 2 * H)
        grad_h, grad_c = grad[:, :H], grad[:, H:]
        gates = self.gates
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        tanh_c = self.tanh_c
        d_c = grad_h * o
        d_c *= 1.0 - tanh_c * tanh_c
        d_c += grad_c                                   # dc = dc' + dh' o (1 - tanh^2 c')
        d_gates = xp.empty_like(gates)
        xp.multiply(d_c, g, out=d_gates[:, :H])
        d_gates[:, :H] *= i * (1.0 - i)                 # da_i
        xp.multiply(d_c, self.c, out=d_gates[:, H:2 * H])
        d_gates[:, H:2 * H] *= f * (1.0 - f)            # da_f
        xp.multiply(d_c, i, out=d_gates[:, 2 * H:3 * H])
        d_gates[:, 2 * H:3 * H] *= 1.0 - g * g          # da_g
        xp.multiply(grad_h, tanh_c, out=d_gates[:, 3 * H:])
        d_gates[:, 3 * H:] *= o * (1.0 - o)             # da_o
        x_in, h_in, c_in = self.inputs[:3]
        weight_ih, weight_hh = self.inputs[3].data, self.inputs[4].data
        needs = self.needs_input_grad
        grads = [
            (d_gates @ weight_ih).reshape(x_in.shape) if needs[0] else None,
            (d_gates @ weight_hh).reshape(h_in.shape) if needs[1] else None,
            (d_c * f).reshape(c_in.shape) if needs[2] else None,
            d_gates.T @ self.x if needs[3] else None,
            d_gates.T @ self.h if needs[4] else None,
        ]
        if self.has_bias:
            grad_bias = d_gates.sum(axis=0) if any(needs[5:]) else None
            grads += [grad_bias if needs[5] else None, grad_bias if needs[6] else None]
        return tuple(grads)
