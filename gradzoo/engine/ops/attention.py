"""Scaled dot-product attention, softmax(Q K^T / sqrt(d_k)) V, with its analytic backward."""

from __future__ import annotations

import math

from gradzoo.engine.backend import max_last_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function, unbroadcast


class ScaledDotProductAttention(Function):
    """Attention (Vaswani et al., 2017), for q (..., L, E), k (..., S, E), v (..., S, Ev).

        S = Q K^T / sqrt(E)   (+ mask: -inf where a query may not look)
        P = softmax(S)        (each row: how much query i attends to each key)
        O = P V

    Backward, with G = dL/dO:
        dV = P^T G,   dP = G V^T,   dS = P * (dP - rowsum(dP * P)),
        dQ = dS K / sqrt(E),   dK = dS^T Q / sqrt(E)

    ``attn_mask``: boolean (True = may attend) or additive float, broadcast to
    (..., L, S). ``is_causal``: query i sees keys 0..i only. A query that may
    see no key at all gets a zero output.
    """

    attn_mask = None
    is_causal = False

    def forward(self, q, k, v):
        xp = xp_of(q)
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"attention: q {q.shape}, k {k.shape} and v {v.shape} do not fit "
                             f"(q and k share the last dim, k and v the second-to-last)")
        self.scale = 1.0 / math.sqrt(q.shape[-1])
        scores = (q @ k.swapaxes(-1, -2)) * self.scale
        queries, keys = scores.shape[-2], scores.shape[-1]
        if self.attn_mask is not None:
            self._check_mask(scores.shape, v.shape)
            if self.attn_mask.dtype == bool:
                scores = xp.where(self.attn_mask, scores, -xp.inf)
            else:
                scores = scores + self.attn_mask.astype(scores.dtype)
        if self.is_causal:
            allowed = xp.tril(xp.ones((queries, keys), dtype=bool))
            scores += _additive(xp, allowed, scores.dtype)  # -inf above the diagonal
        self.weights = _masked_softmax(xp, scores)
        return _product_like(self.weights, v, q)  # O = P V, laid out as q is

    def _check_mask(self, scores_shape, v_shape) -> None:
        """The mask may broadcast up to the weights' shape (..., L, S), never beyond it."""
        batch = _broadcast_shape(scores_shape[:-2], v_shape[:-2])
        if batch is None:
            return  # the batch dims of q, k, v clash: weights @ v reports it
        weights_shape = batch + scores_shape[-2:]
        if _broadcast_shape(self.attn_mask.shape, weights_shape) != weights_shape:
            raise ValueError(f"attention: attn_mask of shape {self.attn_mask.shape} must "
                             f"broadcast to the attention weights' shape (..., L, S) = "
                             f"{weights_shape}")

    def backward(self, grad):
        q, k, v = (t.data for t in self.inputs)
        weights = self.weights
        grad_v = _product_like(weights.swapaxes(-1, -2), grad, v)  # dV = P^T G
        grad_scores = grad @ v.swapaxes(-1, -2)                    # dP = G V^T
        product = grad_scores * weights
        grad_scores -= sum_last_axis(product)                      # dP - rowsum(dP * P)
        grad_scores *= weights                                     # dS = P * (...)
        grad_scores *= self.scale
        grad_q = _product_like(grad_scores, k, q)                  # dQ = dS K / sqrt(E)
        grad_k = _product_like(grad_scores.swapaxes(-1, -2), q, k)  # dK = dS^T Q / sqrt(E)
        return (unbroadcast(grad_q, q.shape), unbroadcast(grad_k, k.shape),
                unbroadcast(grad_v, v.shape))


def _product_like(a, b, like):
    """``a @ b``, laid out in memory as ``like`` is, when it has ``like``'s shape.

    q, k and v are usually views of one projection's output, (batch, L, heads, E)
    seen as (batch, heads, L, E); their gradients written in that same layout are
    turned back by the transpose and the reshape before them without a copy. The
    output, written in q's layout, is likewise merged back into (batch, L, heads * E)
    by a transpose and a reshape that copy nothing.
    """
    xp = xp_of(a)
    batch = _broadcast_shape(a.shape[:-2], b.shape[:-2])
    if batch is None or batch + (a.shape[-2], b.shape[-1]) != like.shape:
        return a @ b  # broadcast batch dims (unbroadcast sums them), or a shape error to report
    return xp.matmul(a, b, out=xp.empty_like(like))


def _additive(xp, allowed, dtype):
    """A boolean mask as numbers to add to the scores: 0 where allowed, -inf where not."""
    return xp.where(allowed, 0.0, -xp.inf).astype(dtype)


def _broadcast_shape(a, b) -> tuple:
    """The shape NumPy broadcasting gives ``a`` and ``b`` (None when they do not broadcast)."""
    ndim = max(len(a), len(b))
    a, b = (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) if 1 in (x, y) else x for x, y in zip(a, b, strict=True))


def _masked_softmax(xp, scores):
    """Row softmax, in place on ``scores``, that turns rows of -inf (fully masked) into zeros."""
    row_max = max_last_axis(scores)
    row_max = xp.where(xp.isfinite(row_max), row_max, 0.0).astype(scores.dtype)
    scores -= row_max
    xp.exp(scores, out=scores)
    total = sum_last_axis(scores)
    scores *= 1.0 / xp.where(total > 0, total, 1.0).astype(scores.dtype)
    return scores


def attention_composed(q, k, v, attn_mask=None, is_causal: bool = False):
    """The teaching version with the small ops: matmul, scale, mask, softmax, matmul.

    ``attn_mask`` as in the fused op (boolean: True may attend; or additive floats).
    Rows that may see no key give NaN here (the fused op gives zeros).
    """
    from gradzoo.engine.ops.softmax import softmax_composed
    from gradzoo.engine.tensor import Tensor

    xp = xp_of(q.data)
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    queries, keys = scores.shape[-2], scores.shape[-1]
    additive = xp.zeros((queries, keys), dtype=scores.dtype)
    if is_causal:
        additive = additive + _additive(xp, xp.tril(xp.ones((queries, keys), dtype=bool)),
                                        scores.dtype)
    if attn_mask is not None:
        additive = additive + (_additive(xp, attn_mask, scores.dtype)
                               if attn_mask.dtype == bool else attn_mask.astype(scores.dtype))
    weights = softmax_composed(scores + Tensor._make(additive, False, None), dim=-1)
    return weights @ v
