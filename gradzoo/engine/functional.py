"""The functional interface (``F``): each function runs one op of ``gradzoo.engine.ops``.

Names and arguments follow ``torch.nn.functional``, so code moves between the two.
"""

from __future__ import annotations

from gradzoo.engine import backend, ops
from gradzoo.engine.tensor import Tensor


def _array_on(x, device: str, what: str):
    """An argument that gets no gradient (indices, target, mask) as an array on ``device``.

    Python data and NumPy arrays are copied there; a tensor on another device is an
    error, as it is for the inputs of any op.
    """
    if isinstance(x, Tensor):
        if x.device != device:
            raise backend.DeviceError(f"{what} is on '{x.device}' but the input is on "
                                      f"'{device}'; move it with .to('{device}')")
        return x.data
    return backend.make_array(x, device=device)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product ``a @ b`` (batched, broadcast leading dims)."""
    return ops.MatMul.apply(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with ``weight`` of shape (out_features, in_features).

    One fused op (``ops.Linear``); ``ops.linear_composed`` is the same with MatMul and Add.
    """
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias, has_bias=True)


def relu(x: Tensor) -> Tensor:
    return ops.ReLU.apply(x)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def exp(x: Tensor) -> Tensor:
    return ops.Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return ops.Log.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: exact (with erf) by default, ``approximate="tanh"`` for the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
    return ops.GELU.apply(x, approximate=approximate)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.Softmax.apply(x, dim=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.LogSoftmax.apply(x, dim=dim)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise the last dims (``normalized_shape``) to mean 0, variance 1; then scale, shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    if tuple(x.shape[len(x.shape) - len(normalized_shape):]) != normalized_shape:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} must match the last "
                         f"dims of the input, whose shape is {x.shape}")
    affine = [t for t in (weight, bias) if t is not None]
    return ops.LayerNorm.apply(x, *affine, normalized_shape=normalized_shape, eps=eps,
                               has_weight=weight is not None, has_bias=bias is not None)


def cross_entropy(logits: Tensor, target, ignore_index: int = -100) -> Tensor:
    """Mean cross-entropy; classes on the LAST axis, ``target`` integer of the leading shape."""
    target = _array_on(target, logits.device, "cross_entropy: target")
    return ops.CrossEntropy.apply(logits, target=target, ignore_index=ignore_index)


def mse_loss(input: Tensor, target: Tensor) -> Tensor:
    """Mean squared error."""
    return ops.MSELoss.apply(input, target)


def embedding(idx, weight: Tensor) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``idx``."""
    idx = _array_on(idx, weight.device, "embedding: idx")
    return ops.Embedding.apply(weight, idx=idx)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero elements with probability ``p`` while training; identity otherwise."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return ops.Dropout.apply(x, p=p, device=x.device)


def concat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    return ops.Concat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension."""
    return ops.Stack.apply(*tensors, dim=dim)


def where(cond, a, b) -> Tensor:
    """Elementwise ``a if cond else b``; ``cond`` is a boolean tensor (no gradient)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("where: a or b must be a Tensor")
    device = (a if isinstance(a, Tensor) else b).device
    return ops.Where.apply(a, b, cond=_array_on(cond, device, "where: cond"))


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None,
                                 is_causal: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(d_k) + mask) v; ``is_causal`` hides future keys."""
    if attn_mask is not None:
        attn_mask = _array_on(attn_mask, q.device, "attention: attn_mask")
    return ops.ScaledDotProductAttention.apply(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
