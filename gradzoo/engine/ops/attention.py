"""Scaled dot-product attention, softmax(Q K^T / sqrt(d_k) + mask) V, with its analytic backward.

For q (..., L, E), k (..., S, E), v (..., S, Ev) (Vaswani et al., 2017):

    S = Q K^T / sqrt(E) + M   (M: 0 where a query may look, -inf where not)
    P = softmax(S)            (each row: how much query i attends to each key)
    O = P V

Backward, with G = dL/dO:

    dV = P^T G,   dP = G V^T,   dS = P * (dP - rowsum(dP * P)),
    dQ = dS K / sqrt(E),   dK = dS^T Q / sqrt(E)

``attn_mask``: boolean (True = may attend) or additive float, broadcast to
(..., L, S); a float mask that requires grad is a fourth input of the op and gets
its gradient, dM = unbroadcast(dS) (the gradient of the masked scores).
``is_causal``: query i sees keys 0..i only. ``scale``: 1/sqrt(E) unless given. A query that may see
no key at all gets zero weights and a zero output (and zero gradients):
``attention_mask`` gives its row a neutral mask of 0 and a factor 0 for its
weights. The fused op, its composed twin and ``nn.MultiheadAttention`` all
build their mask with it.
"""

from __future__ import annotations

import math

from gradzoo.engine import backend
from gradzoo.engine.backend import max_last_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function, array_on, unbroadcast
from gradzoo.engine.ops.shape import Where
from gradzoo.engine.ops.softmax import softmax_composed
from gradzoo.engine.tensor import Tensor


def attention_mask(attn_mask, is_causal: bool, queries: int, keys: int, dtype, xp):
    """(additive, keep): the mask as numbers to add to the scores, and a factor for the weights.

    ``additive`` is 0 where a query may look and -inf where not (a float mask adds its
    own values), shaped to broadcast against the scores (..., L, S). A row that would
    be -inf everywhere (a query that may see no key) gets 0 instead, so its softmax
    stays finite, and ``keep`` (1 per row, 0 for such a row) then zeroes its weights;
    ``keep`` is None when every query sees a key. (None, None) without a mask.
    """
    if attn_mask is None and not is_causal:
        return None, None
    additive = xp.zeros((queries, keys), dtype=dtype)
    if is_causal:  # query i may see keys 0..i: the lower triangle
        additive = xp.where(xp.tril(xp.ones((queries, keys), dtype=bool)), additive, -xp.inf)
    if attn_mask is not None:
        additive = additive + (xp.where(attn_mask, 0.0, -xp.inf) if attn_mask.dtype == bool
                               else attn_mask)
    additive = additive.astype(dtype)
    blind = (additive == -xp.inf).all(axis=-1, keepdims=True)  # rows that see no key
    if not blind.any():
        return additive, None
    return xp.where(blind, 0.0, additive).astype(dtype), (1.0 - blind).astype(dtype)


def check_mask(mask_shape, scores_shape, v_batch=()) -> None:
    """The mask may broadcast up to the weights' shape (..., L, S), never beyond it.

    The weights' batch dims are those of the scores broadcast with v's ``v_batch``.
    """
    batch = _broadcast_shape(scores_shape[:-2], v_batch)
    if batch is None:
        return  # the batch dims of q, k, v clash: weights @ v reports it
    weights_shape = batch + tuple(scores_shape[-2:])
    if _broadcast_shape(mask_shape, weights_shape) != weights_shape:
        raise ValueError(f"attention: attn_mask of shape {tuple(mask_shape)} must broadcast to "
                         f"the attention weights' shape (..., L, S) = {weights_shape}")


def check_fits(q_shape, k_shape, v_shape) -> None:
    """q and k share the last dim (E), k and v the second-to-last (S)."""
    if q_shape[-1] != k_shape[-1] or k_shape[-2] != v_shape[-2]:
        raise ValueError(f"attention: q {tuple(q_shape)}, k {tuple(k_shape)} and v "
                         f"{tuple(v_shape)} do not fit (q and k share the last dim, k and v "
                         f"the second-to-last)")


def mask_array(attn_mask, device: str):
    """``attn_mask`` (a tensor, an array or Python data) as an array on ``device``, or None."""
    return None if attn_mask is None else array_on(attn_mask, device, "attention: attn_mask")


def masked_attention_weights(scores, attn_mask, is_causal: bool, softmax, v_batch=()):
    """softmax(scores + mask) along the keys, with zero rows for queries that may see no key.

    ``scores`` is a Tensor (..., L, S); ``softmax(t, dim)`` a softmax on tensors (the
    composed one, or ``F.softmax``); ``v_batch``: the batch dims of v, if any. A float
    mask tensor that requires grad is added as a tensor, so it gets its gradient.
    """
    mask = mask_array(attn_mask, scores.device)
    if mask is not None:
        check_mask(mask.shape, scores.shape, v_batch)
    xp = xp_of(scores.data)
    additive, keep = attention_mask(mask, is_causal, scores.shape[-2], scores.shape[-1],
                                    scores.dtype, xp)
    if additive is None:
        return softmax(scores, dim=-1)
    if is_grad_mask(attn_mask):  # the mask's own values where they count, as a tensor
        counts = additive != -xp.inf
        if keep is not None:
            counts = counts & (keep != 0)
        mask_term = Where.apply(attn_mask, Tensor._make(additive, False, None), cond=counts)
    else:
        mask_term = Tensor._make(additive, False, None)
    weights = softmax(scores + mask_term, dim=-1)
    return weights if keep is None else weights * Tensor._make(keep, False, None)


def is_grad_mask(attn_mask) -> bool:
    """A float mask tensor that requires grad: it is an input of the op, not a constant."""
    return isinstance(attn_mask, Tensor) and attn_mask.requires_grad and \
        backend.is_floating(attn_mask.dtype)


def attention_composed(q, k, v, attn_mask=None, is_causal: bool = False, scale=None):
    """Attention with the small ops: matmul, scale, mask, softmax, matmul."""
    check_fits(q.shape, k.shape, v.shape)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale
    weights = masked_attention_weights(scores, attn_mask, is_causal, softmax_composed,
                                       v.shape[:-2])
    return weights @ v


def attend(q, k, v, attn_mask=None, is_causal: bool = False, scale=None):
    """The fused op on tensors, a mask and ``is_causal`` together allowed (nn.MultiheadAttention).

    ``F.scaled_dot_product_attention`` refuses a mask with ``is_causal``, as PyTorch does.
    """
    if is_grad_mask(attn_mask):
        if attn_mask.device != q.device:
            mask_array(attn_mask, q.device)  # the device error
        return ScaledDotProductAttention.apply(q, k, v, attn_mask, is_causal=is_causal,
                                               scale=scale, mask_is_input=True)
    return ScaledDotProductAttention.apply(q, k, v, attn_mask=mask_array(attn_mask, q.device),
                                           is_causal=is_causal, scale=scale)


def _softmax_rows(scores):
    """Row softmax of the scores, in place (the mask has left every row a finite entry)."""
    scores -= max_last_axis(scores)
    xp_of(scores).exp(scores, out=scores)
    scores *= 1.0 / sum_last_axis(scores)
    return scores


class ScaledDotProductAttention(Function):
    """O = softmax(Q K^T / sqrt(E) + M) V, forward and backward as above."""

    parameters = ("attn_mask", "is_causal", "scale", "mask_is_input")
    attn_mask = None
    is_causal = False
    scale = None
    mask_is_input = False  # the float mask is the fourth input (it requires grad)
    composed = staticmethod(attention_composed)

    def forward(self, q, k, v, mask=None):
        check_fits(q.shape, k.shape, v.shape)
        if self.mask_is_input:
            self.attn_mask = mask
        self.scale = 1.0 / math.sqrt(q.shape[-1]) if self.scale is None else self.scale
        scores = (q @ k.swapaxes(-1, -2)) * self.scale
        if self.attn_mask is not None:
            check_mask(self.attn_mask.shape, scores.shape, v.shape[:-2])
        additive, keep = attention_mask(self.attn_mask, self.is_causal, scores.shape[-2],
                                        scores.shape[-1], scores.dtype, xp_of(q))
        if additive is not None:
            if _broadcast_shape(additive.shape, scores.shape) == scores.shape:
                scores += additive                 # in place
            else:
                scores = scores + additive         # the mask broadcasts the scores up
        self.weights = _softmax_rows(scores)
        if keep is not None:
            self.weights *= keep                   # queries that see no key: weights 0
        return _product_like(self.weights, v, q)  # O = P V, laid out as q is

    def backward(self, grad):
        q, k, v = (t.data for t in self.inputs[:3])
        weights = self.weights
        grad_v = _product_like(weights.swapaxes(-1, -2), grad, v)  # dV = P^T G
        grad_scores = grad @ v.swapaxes(-1, -2)                    # dP = G V^T
        product = grad_scores * weights
        grad_scores -= sum_last_axis(product)                      # dP - rowsum(dP * P)
        grad_scores *= weights                                     # dS = P * (...)
        grad_mask = ()
        if self.mask_is_input:                                     # dM = dS, summed to M's shape
            mask = self.inputs[3].data
            grad_mask = (unbroadcast(grad_scores, mask.shape).astype(mask.dtype, copy=False),)
            if grad_mask[0] is grad_scores:
                grad_mask = (grad_scores.copy(),)
        grad_scores *= self.scale
        grad_q = _product_like(grad_scores, k, q)                  # dQ = dS K / sqrt(E)
        grad_k = _product_like(grad_scores.swapaxes(-1, -2), q, k)  # dK = dS^T Q / sqrt(E)
        return (unbroadcast(grad_q, q.shape), unbroadcast(grad_k, k.shape),
                unbroadcast(grad_v, v.shape)) + grad_mask


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


def _broadcast_shape(a, b) -> tuple:
    """The shape NumPy broadcasting gives ``a`` and ``b`` (None when they do not broadcast)."""
    ndim = max(len(a), len(b))
    a, b = (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) if 1 in (x, y) else x for x, y in zip(a, b, strict=True))
