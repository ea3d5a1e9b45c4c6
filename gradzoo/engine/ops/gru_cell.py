"""One GRU time step as ONE op: gates from two matrix products, forward and backward.

(x, h) -> h', gates r, z, n in PyTorch's order. Inputs x (..., I), h (..., H),
weight_ih (3H, I), weight_hh (3H, H) and, optionally, bias_ih and bias_hh (3H,).

    a = x W_ih^T + b_ih,   b = h W_hh^T + b_hh       (two products, all gates each)
    r = sigmoid(a_r + b_r),   z = sigmoid(a_z + b_z)
    n = tanh(a_n + r * b_n),  h' = (1 - z) * n + z * h

Backward, with dh' the output gradient:

    dn = dh' (1 - z) (1 - n^2)     (the gradient reaching a_n + r b_n)
    da_r = db_r = dn * b_n * r (1 - r),   da_z = db_z = dh' (h - n) z (1 - z)
    da_n = dn,   db_n = dn * r
    dL/dx = da W_ih,   dL/dh = db W_hh + dh' z,
    dL/dW_ih = da^T x,  dL/dW_hh = db^T h,  dL/db_ih = sum of da,  dL/db_hh = sum of db

``gru_cell_composed`` is the step with the small ops, as the equations read.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.linear import linear_composed
from gradzoo.engine.ops.lstm_cell import check_input_size
from gradzoo.engine.ops.unary import sigmoid_


def gru_cell_composed(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """The GRU step with the small ops; returns h'."""
    check_input_size("GRUCell", x.shape, weight_ih.shape)
    H = weight_hh.shape[1]
    from_input = linear_composed(x, weight_ih, bias_ih)    # W_i* x + b_i*, all three gates
    from_hidden = linear_composed(h, weight_hh, bias_hh)   # W_h* h + b_h*
    # r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    reset = (from_input[..., 0 * H:1 * H] + from_hidden[..., 0 * H:1 * H]).sigmoid()
    # z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    update = (from_input[..., 1 * H:2 * H] + from_hidden[..., 1 * H:2 * H]).sigmoid()
    # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   (r scales b_hn too, as in PyTorch)
    candidate = (from_input[..., 2 * H:3 * H] + reset * from_hidden[..., 2 * H:3 * H]).tanh()
    # h' = (1 - z) * n + z * h
    return (1.0 - update) * candidate + update * h


class GRUCell(Function):
    """(x, h, weight_ih, weight_hh[, bias_ih, bias_hh]) -> h' (see above)."""

    parameters = ("has_bias",)
    has_bias = False
    composed = staticmethod(gru_cell_composed)

    def forward(self, x, h, weight_ih, weight_hh, *biases):
        xp = xp_of(x)
        H = weight_hh.shape[1]
        check_input_size("GRUCell", x.shape, weight_ih.shape)
        self.x, self.h = x.reshape(-1, x.shape[-1]), h.reshape(-1, H)
        from_input = self.x @ weight_ih.T
        from_hidden = self.h @ weight_hh.T
        if biases:
            from_input += biases[0]
            from_hidden += biases[1]
        reset_update = from_input[:, :2 * H]
        reset_update += from_hidden[:, :2 * H]
        sigmoid_(xp, reset_update)                      # r and z
        reset, update = reset_update[:, :H], reset_update[:, H:]
        self.hidden_n = from_hidden[:, 2 * H:]          # b_n, needed for dr
        candidate = reset * self.hidden_n
        candidate += from_input[:, 2 * H:]
        xp.tanh(candidate, out=candidate)               # n = tanh(a_n + r b_n)
        h_next = self.h - candidate
        h_next *= update
        h_next += candidate                             # h' = n + z (h - n)
        self.reset, self.update, self.candidate = reset, update, candidate
        return h_next.reshape(x.shape[:-1] + (H,))

    def backward(self, grad):
        xp = xp_of(grad)
        r, z, n = self.reset, self.update, self.candidate
        H = n.shape[1]
        grad = grad.reshape(-1, H)
        d_input = xp.empty((grad.shape[0], 3 * H), dtype=grad.dtype)   # da
        d_n = d_input[:, 2 * H:]
        xp.multiply(grad, 1.0 - z, out=d_n)
        d_n *= 1.0 - n * n                              # dn
        xp.multiply(d_n, self.hidden_n, out=d_input[:, :H])
        d_input[:, :H] *= r * (1.0 - r)                 # da_r
        xp.subtract(self.h, n, out=d_input[:, H:2 * H])
        d_input[:, H:2 * H] *= grad
        d_input[:, H:2 * H] *= z * (1.0 - z)            # da_z
        d_hidden = d_input.copy()                       # db: the same, but db_n = dn * r
        d_hidden[:, 2 * H:] *= r
        x_in, h_in = self.inputs[0], self.inputs[1]
        weight_ih, weight_hh = self.inputs[2].data, self.inputs[3].data
        needs = self.needs_input_grad
        grad_h = None
        if needs[1]:
            grad_h = d_hidden @ weight_hh
            grad_h += grad * z
            grad_h = grad_h.reshape(h_in.shape)
        grads = [
            (d_input @ weight_ih).reshape(x_in.shape) if needs[0] else None,
            grad_h,
            d_input.T @ self.x if needs[2] else None,
            d_hidden.T @ self.h if needs[3] else None,
        ]
        if self.has_bias:
            grads += [d_input.sum(axis=0) if needs[4] else None,
                      d_hidden.sum(axis=0) if needs[5] else None]
        return tuple(grads)
