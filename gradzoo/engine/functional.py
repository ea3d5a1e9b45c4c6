"""The functional interface (``F``): each function runs one op of ``gradzoo.engine.ops``.

Names and arguments follow ``torch.nn.functional``, so code moves between the two.
"""

from __future__ import annotations

from gradzoo.engine import backend, ops
from gradzoo.engine.function import array_on as _array_on
from gradzoo.engine.tensor import Tensor


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


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace=True`` writes into ``x`` (only where no gradient is needed)."""
    return _activation(ops.ReLU, x, inplace)


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
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
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
        raise RuntimeError(f"layer_norm: normalized_shape {normalized_shape} must match the "
                           f"last dims of the input, whose shape is {x.shape}")
    affine = [t for t in (weight, bias) if t is not None]
    return ops.LayerNorm.apply(x, *affine, normalized_shape=normalized_shape, eps=eps,
                               has_weight=weight is not None, has_bias=bias is not None)


def cross_entropy(logits: Tensor, target, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of ``logits`` against ``target``, as ``torch.nn.functional.cross_entropy``.

    Classes on the LAST axis (the same as PyTorch's dim 1 for (N, C) and (C,) logits; for
    more dims PyTorch puts them on dim 1: move them last first). ``target``: integer class
    indices of the leading shape, or class probabilities of the logits' shape (a float
    tensor, which gets its gradient too). ``weight``: one number per class;
    ``reduction`` "mean" (over the counted positions, weighted), "sum" or "none";
    ``label_smoothing`` mixes the target with the uniform distribution.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    ops.cross_entropy.check_reduction(reduction)
    ops.cross_entropy.check_label_smoothing(label_smoothing)
    if not isinstance(target, Tensor) and not backend.is_array(target):
        target = Tensor(target, device=logits.device)
    if isinstance(target, Tensor) and backend.is_floating(target.dtype) and \
            target.shape == logits.shape:  # class probabilities
        weight = None if weight is None else \
            Tensor._make(_array_on(weight, logits.device, "cross_entropy: weight"), False, None)
        return ops.cross_entropy.probability_cross_entropy(
            logits, target, weight, ignore_index, reduction, label_smoothing)
    target = _array_on(target, logits.device, "cross_entropy: target")
    if weight is None and reduction == "mean" and not label_smoothing:  # the common path
        return ops.CrossEntropy.apply(logits, target=target, ignore_index=ignore_index)
    if weight is not None:
        weight = _array_on(weight, logits.device, "cross_entropy: weight")
    return ops.CrossEntropy.apply(logits, target=target, ignore_index=ignore_index,
                                  weight=weight, reduction=reduction,
                                  label_smoothing=float(label_smoothing))


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """Squared error (input - target)^2, times ``weight`` if given, reduced by ``reduction``.

    "mean" divides by the number of elements, or with a weight by sum(weight), as PyTorch.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    ops.cross_entropy.check_reduction(reduction)
    if weight is None:
        return ops.MSELoss.apply(input, target, reduction=reduction)
    _check_loss_weight(weight, input)
    squared = ops.MSELoss.apply(input, target, reduction="none")
    return ops.cross_entropy.reduce_loss(squared * weight, reduction, weight.sum())


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


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v, as ``torch.nn.functional.scaled_dot_product_attention``.

    ``attn_mask``: boolean (True = may attend) or additive float (a float mask that
    requires grad gets its gradient); ``is_causal`` hides future keys and, as in PyTorch,
    may not be combined with an ``attn_mask``. ``scale`` defaults to 1/sqrt(E);
    ``dropout_p`` drops attention weights (always, as PyTorch's function does: pass 0.0
    when evaluating); ``enable_gqa`` lets q have a multiple of k's and v's heads (dim -3).
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: an explicit attn_mask should not be "
                           "set when is_causal=True (fold the causal mask into attn_mask)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {dropout_p}")
    heads = None
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        q, k, v, attn_mask, heads = _group_query_heads(q, k, v, attn_mask)
    if dropout_p > 0.0:
        out = _attention_with_dropout(q, k, v, attn_mask, dropout_p, is_causal, scale)
    else:
        out = ops.attention.attend(q, k, v, attn_mask, is_causal, scale)
    return out if heads is None else out.reshape(*out.shape[:-4], heads, *out.shape[-2:])


# ---- elementwise functions and activations ----


def _activation(op, x: Tensor, inplace: bool, **params) -> Tensor:
    """Run ``op`` on ``x``; with ``inplace=True`` write the result into ``x`` and return it.

    gradzoo has no in-place ops on tensors that require grad (PyTorch tracks those
    with version counters), so there ``inplace=True`` is an error rather than a
    silent copy; elsewhere it changes ``x`` as PyTorch does.
    """
    out = op.apply(x, **params)
    if not inplace:
        return out
    if x.requires_grad:
        raise RuntimeError(f"{op.__name__.lower()}(inplace=True) on a tensor that requires grad: "
                           f"gradzoo has no in-place ops on tensors in the graph (a difference "
                           f"from PyTorch kept on purpose); use inplace=False and the result")
    x.data[...] = out.data
    return x


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """ln(1 + e^(beta x)) / beta, and x itself where beta x > threshold."""
    return ops.Softplus.apply(input, beta=beta, threshold=threshold)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return _activation(ops.LeakyReLU, input, inplace, negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (e^x - 1)."""
    return _activation(ops.ELU, input, inplace, alpha=alpha)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish)."""
    return _activation(ops.SiLU, input, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val] (gradient 0 at the bounds, as PyTorch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _activation(ops.Hardtanh, input, inplace, min_val=min_val, max_val=max_val)


def logsigmoid(input: Tensor) -> Tensor:
    """ln sigmoid(x), computed without overflow."""
    return ops.LogSigmoid.apply(input)


def sqrt(x: Tensor) -> Tensor:
    return ops.Sqrt.apply(x)


def rsqrt(x: Tensor) -> Tensor:
    return ops.Rsqrt.apply(x)


def sin(x: Tensor) -> Tensor:
    return ops.Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    return ops.Cos.apply(x)


def log1p(x: Tensor) -> Tensor:
    return ops.Log1p.apply(x)


def expm1(x: Tensor) -> Tensor:
    return ops.Expm1.apply(x)


def erf(x: Tensor) -> Tensor:
    return ops.Erf.apply(x)


def sign(x: Tensor) -> Tensor:
    return ops.Sign.apply(x)


def floor(x: Tensor) -> Tensor:
    return ops.Floor.apply(x)


def ceil(x: Tensor) -> Tensor:
    return ops.Ceil.apply(x)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """``input`` clipped to [min, max]; either bound may be None, a number or a tensor."""
    return ops.Clamp.between(input, min, max)


clip = clamp


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise minimum of two tensors."""
    return input.minimum(other)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise maximum of two tensors."""
    return input.maximum(other)


def floor_divide(input, other) -> Tensor:
    """``input // other``, rounding toward -inf."""
    return ops.FloorDivide.apply(input, other)


def remainder(input, other) -> Tensor:
    """``input % other``, with the sign of ``other``."""
    return ops.Remainder.apply(input, other)


# ---- casts, spellings and layout ----


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension: ``torch.cat``'s name for ``concat``."""
    return concat(tensors, dim)


# ---- indexing, masks and padding ----


def _index_on(index, input: Tensor, op: str):
    """An index argument (a tensor, list or array) as an integer array on ``input``'s device."""
    index = _array_on(index, input.device, f"{op}: index")
    if input.ndim == 0 and index.ndim == 0:
        index = index.reshape(1)  # checked and run as 1-D (see _on_one_dim)
    if not backend.is_integer(index.dtype):
        raise RuntimeError(f"{op}(): index must be an integer tensor (int64 or int32), "
                           f"not {index.dtype}")
    return index


def _on_one_dim(input: Tensor, index, run):
    """Run a dim-wise op on a 0-d input as on its 1-element 1-D view (PyTorch allows 0-d)."""
    if input.ndim:
        return run(input, index)
    return run(input.reshape(1), index).reshape(())


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` (dim = 1): values picked along ``dim``.

    ``index`` has ``input``'s number of dims and is no larger in the others; the result has
    its shape. The gradient scatter-adds back (an element picked twice gets both).

    >>> from gradzoo.engine import tensor
    >>> tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, tensor([[1, 1], [0, 1]])).tolist()
    [[2.0, 2.0], [3.0, 4.0]]
    """
    index = _index_on(index, input, "gather")
    dim = ops.indexing.normalize_dim(dim, input.ndim, "gather")
    ops.indexing.check_index("gather", index, input.shape or (1,), dim)
    return _on_one_dim(input, index,
                       lambda x, i: ops.Gather.apply(x, dim=dim, index=i))


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at ``index``.

    ``out[i][index[i][j]] = src[i][j]`` (dim = 1); out of place, differentiable in
    ``input`` (0 where overwritten) and ``src``. ``reduce="add"`` is ``scatter_add``.
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # scatter(dim, index, 2.5): the value form
    if reduce is not None:
        if reduce != "add" or src is None:
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported here; use "
                                      f"scatter_add (reduce='add' with a src tensor)")
        return scatter_add(input, dim, index, src)
    if (src is None) == (value is None):
        raise TypeError("scatter() needs either a src tensor or a value (a number)")
    index = _index_on(index, input, "scatter")
    dim = ops.indexing.normalize_dim(dim, input.ndim, "scatter")
    if src is None:
        ops.indexing.check_index("scatter", index, input.shape or (1,), dim)
        return _on_one_dim(input, index,
                           lambda x, i: ops.Scatter.apply(x, dim=dim, index=i, value=value))
    _check_src("scatter", input, index, src, dim)
    return _on_one_dim(input, index, lambda x, i: ops.Scatter.apply(
        x, src.reshape(src.shape or (1,)), dim=dim, index=i))


def _check_src(op: str, input: Tensor, index, src: Tensor, dim: int) -> None:
    if src.dtype != input.dtype:
        raise RuntimeError(f"{op}(): src has dtype {src.dtype}, the input {input.dtype}; "
                           f"they must be equal (cast src with .to({str(input.dtype)!r}))")
    if src.ndim != input.ndim:
        raise RuntimeError(f"{op}(): src of shape {src.shape} must have the input's number "
                           f"of dimensions ({input.ndim})")
    ops.indexing.check_index(op, index, input.shape or (1,), dim, src.shape or (1,))


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index``: ``out[i][index[i][j]] += src[i][j]``.

    Repeated indices add up. The gradient is ``grad`` for ``input``, ``grad`` gathered at
    ``index`` for ``src``.

    >>> from gradzoo.engine import tensor
    >>> tensor([0.0, 0.0, 0.0]).scatter_add(0, tensor([2, 2, 0]), tensor([1.0, 2.0, 3.0])).tolist()
    [3.0, 0.0, 3.0]
    """
    index = _index_on(index, input, "scatter_add")
    dim = ops.indexing.normalize_dim(dim, input.ndim, "scatter_add")
    _check_src("scatter_add", input, index, src, dim)
    return _on_one_dim(input, index, lambda x, i: ops.ScatterAdd.apply(
        x, src.reshape(src.shape or (1,)), dim=dim, index=i))


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions of the 1-D ``index``.

    >>> from gradzoo.engine import tensor
    >>> tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).index_select(1, tensor([2, 0])).tolist()
    [[3.0, 1.0], [6.0, 4.0]]
    """
    index = _index_on(index, input, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select(): index must be a vector (1-D) or a number (0-D), "
                         f"got shape {index.shape}")
    dim = ops.indexing.normalize_dim(dim, input.ndim, "index_select")
    index = index.reshape(-1)
    ops.indexing.check_range("index_select", index, input.shape[dim] if input.ndim else 1, dim)
    return _on_one_dim(input, index, lambda x, i: ops.IndexSelect.apply(x, dim=dim, index=i))


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[..., k, ...]`` added at slice ``index[k]``.

    Composed: a ``scatter_add`` whose index is ``index`` repeated over the other dims.
    """
    index = _index_on(index, input, "index_add").reshape(-1)
    dim = ops.indexing.normalize_dim(dim, input.ndim, "index_add")
    source = source.reshape(source.shape or (1,))
    if source.ndim != max(input.ndim, 1) or source.shape[dim] != index.shape[0]:
        raise RuntimeError(f"index_add(): source of shape {source.shape} must have the "
                           f"input's dims with {index.shape[0]} (the index's length) at dim {dim}")
    spread = (1,) * dim + (-1,) + (1,) * (source.ndim - dim - 1)
    full_index = backend.xp_of(index).broadcast_to(index.reshape(spread), source.shape)
    return scatter_add(input, dim, full_index, source if alpha == 1 else source * alpha)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``value`` where the boolean ``mask`` is True, ``input`` elsewhere (they broadcast).

    Composed: ``where(mask, value, input)``, so the gradient is 0 where filled; a 0-d
    ``value`` tensor gets the sum of the gradient there.

    >>> from gradzoo.engine import tensor
    >>> x = tensor([1.0, 2.0, 3.0])
    >>> x.masked_fill(x > 1.5, float("-inf")).tolist()
    [1.0, -inf, -inf]
    """
    mask = _bool_mask(mask, input, "masked_fill")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got one of shape {value.shape}")
        value = value if value.dtype == input.dtype else value.to(input.dtype)
    else:
        value = Tensor(value, dtype=input.dtype, device=input.device)
    return ops.Where.apply(value, input, cond=mask)


def _bool_mask(mask, input: Tensor, op: str):
    mask = _array_on(mask, input.device, f"{op}: mask")
    if mask.dtype != backend.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype} (compare first: mask != 0)")
    return mask


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``input`` where the boolean ``mask`` is True, as a 1-D tensor."""
    return ops.MaskedSelect.apply(input, mask=_bool_mask(mask, input, "masked_select"))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The positions of the non-zero elements: int64 of shape (count, ndim), no gradient.

    ``as_tuple=True``: one 1-D tensor of positions per dim (a 0-d input counts as 1-D).
    """
    xp = backend.xp_of(input.data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(backend.int64), False, None)
                     for i in xp.nonzero(xp.atleast_1d(input.data)))
    return Tensor._make(xp.argwhere(input.data).astype(backend.int64), False, None)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (count, ndim) positions of the non-zero elements."""
    return nonzero(input)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: ``out[..., c] = 1`` where ``tensor[...] == c``, shape (..., classes).

    ``num_classes=-1`` takes one more than the largest value.

    >>> from gradzoo.engine import tensor
    >>> one_hot(tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    tensor = tensor if isinstance(tensor, Tensor) else Tensor(tensor)
    data = tensor.data
    if not backend.is_integer(data.dtype):
        raise RuntimeError(f"one_hot is only applicable to index tensors (int64), not "
                           f"{data.dtype}")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("one_hot: can not infer the number of classes from an empty "
                               "tensor; pass num_classes")
        num_classes = int(data.max()) + 1
    if data.size and int(data.min()) < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    if data.size and int(data.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {int(data.max())}")
    xp = backend.xp_of(data)
    rows = data[..., None] == xp.arange(num_classes)
    return Tensor._make(rows.astype(backend.int64), False, None)


def _triangle(input: Tensor, keep, op: str) -> Tensor:
    """``input`` where the boolean (rows, columns) matrix ``keep`` is True, 0 elsewhere."""
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{input.shape}")
    zero = Tensor._make(backend.xp_of(input.data).zeros((), dtype=input.dtype), False, None)
    return ops.Where.apply(input, zero, cond=keep)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below diagonal ``diagonal``); 0 above.

    Composed: ``where(mask, input, 0)``, so the gradient is 0 above too (even where input
    is inf, unlike ``input * mask``).
    """
    rows, columns = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    keep = backend.xp_of(input.data).tri(rows, columns, k=diagonal, dtype=bool)
    return _triangle(input, keep, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above diagonal ``diagonal``); 0 below."""
    rows, columns = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    keep = ~backend.xp_of(input.data).tri(rows, columns, k=diagonal - 1, dtype=bool)
    return _triangle(input, keep, "triu")


def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other``; either branch may be a Python number.

    ``condition`` is a boolean tensor (no gradient); the three broadcast together. A number
    takes the other branch's dtype when it fits (an int with an int32 tensor stays int32), a
    float beside integers gives float32, as PyTorch does. ``where(condition)`` alone is
    ``nonzero(condition, as_tuple=True)``.
    """
    if input is None and other is None:
        return nonzero(condition if isinstance(condition, Tensor) else Tensor(condition),
                       as_tuple=True)
    reference = next((t for t in (input, other, condition) if isinstance(t, Tensor)), None)
    device = reference.device if reference is not None else backend.default_device()
    cond = _array_on(condition, device, "where: condition")
    if cond.dtype != backend.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {cond.dtype} (compare first: condition != 0)")
    input, other = _branch(input, other, device), _branch(other, input, device)
    return ops.Where.apply(input, other, cond=cond)


_KIND_ORDER = "biuf"  # bool < integers < floats: the order of PyTorch's type categories


def _branch(value, partner, device: str) -> Tensor:
    """A branch of ``where`` as a tensor: a Python number gets its partner's dtype if it fits."""
    if isinstance(value, Tensor):
        return value
    kind = "b" if isinstance(value, bool) else "i" if isinstance(value, int) else "f"
    if isinstance(partner, Tensor):
        partner_kind = partner.dtype.kind
        if _KIND_ORDER.index(kind) <= _KIND_ORDER.index(partner_kind):
            return Tensor(value, dtype=partner.dtype, device=device)
    elif isinstance(partner, float) and kind != "f":
        return Tensor(float(value), device=device)  # where(c, 1, 0.5): float32 both
    elif isinstance(partner, int) and kind == "b" and not isinstance(partner, bool):
        return Tensor(int(value), device=device)
    return Tensor(value, device=device)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad (or crop, with negative sizes) the last dims; ``pad`` names the last dim first.

    ``(1, 2)`` adds 1 before and 2 after the last dim; ``(1, 1, 2, 0)`` also 2 rows above.
    Modes as PyTorch's: ``"constant"`` (``value``, default 0), ``"reflect"``, ``"replicate"``
    and ``"circular"`` (these for batched inputs: a 2-number pad on 2-D or 3-D inputs, 4 on 3-D
    or 4-D, 6 on 4-D or 5-D).

    >>> from gradzoo.engine import tensor
    >>> pad(tensor([[1.0, 2.0]]), (1, 2)).tolist()
    [[0.0, 1.0, 2.0, 0.0, 0.0]]
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: the padding length must be divisible by 2, got {pad}")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: padding length should be less than or equal to two times "
                           f"the input dimension, but got padding length {len(pad)} and an "
                           f"input of dimension {input.ndim}")
    if mode not in ops.pad.MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; allowed: "
                                  f"{', '.join(ops.pad.MODES)}")
    pairs = ops.pad.pad_pairs(pad, input.ndim)
    for dim, before, after in pairs:
        if input.shape[dim] + before + after < 0:
            raise RuntimeError(f"pad: padding {(before, after)} leaves a negative size for "
                               f"dimension {dim} of size {input.shape[dim]}")
    if mode != "constant":
        _check_non_constant_pad(input, pad, mode, value, pairs)
    return ops.Pad.apply(input, pad=pad, mode=mode, value=0 if value is None else value)


def _check_non_constant_pad(input: Tensor, pad, mode: str, value, pairs) -> None:
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    low = len(pad) // 2 + 1
    if input.ndim not in (low, low + 1):
        raise NotImplementedError(f"pad: mode {mode!r} with a padding of length {len(pad)} "
                                  f"needs a {low}-D or {low + 1}-D (batched) input, got "
                                  f"shape {input.shape}")
    for dim, before, after in pairs:
        size = input.shape[dim]
        if size == 0:
            raise RuntimeError(f"pad: mode {mode!r} needs a non-empty dimension {dim}, got "
                               f"shape {input.shape}")
        if mode == "reflect" and max(before, after) >= size:
            raise RuntimeError(f"pad: reflect padding {(before, after)} must be less than the "
                               f"size {size} of dimension {dim}")
        if mode == "circular" and max(before, after) > size:
            raise RuntimeError(f"pad: circular padding {(before, after)} wraps around more "
                               f"than once (dimension {dim} has size {size})")


# ---- losses, einsum and attention ----


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` flags, when given, decide the reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _check_loss_weight(weight, input: Tensor) -> None:
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"Weights and input must have the same size: weight "
                         f"{tuple(weight.shape)}, input {tuple(input.shape)}")


def _constant_on(x, device: str, what: str):
    """An optional constant argument (a weight) as an array on ``device``, or None."""
    return None if x is None else _array_on(x, device, what)


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities, classes on dim 1 as in PyTorch.

    ``input`` (C,), (N, C) or (N, C, d1, ...); ``target`` integer (), (N,) or (N, d1, ...).
    ``F.nll_loss(F.log_softmax(x, dim=1), t)`` equals PyTorch's ``F.cross_entropy(x, t)``.
    Note that gradzoo's ``F.cross_entropy`` keeps the classes LAST: the two agree for
    (N, C) and (C,) inputs; for more dims nll_loss follows PyTorch (dim 1).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _array_on(target, input.device, "nll_loss: target")
    return ops.losses.nll_loss(input, target, _constant_on(weight, input.device,
                                                           "nll_loss: weight"),
                               ignore_index, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight=None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) of probabilities x, logs clamped at -100 as PyTorch."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    ops.cross_entropy.check_reduction(reduction)
    return ops.BinaryCrossEntropy.apply(
        input, target, weight=_constant_on(weight, input.device, "binary_cross_entropy: weight"),
        reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits.

    ``pos_weight`` weighs the positive term (one number per class, broadcast on the last dim).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    ops.cross_entropy.check_reduction(reduction)
    what = "binary_cross_entropy_with_logits"
    return ops.BinaryCrossEntropyWithLogits.apply(
        input, target, weight=_constant_on(weight, input.device, f"{what}: weight"),
        pos_weight=_constant_on(pos_weight, input.device, f"{what}: pos_weight"),
        reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """|input - target| (times ``weight``), reduced; the slope at a difference of 0 is 0."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        _check_loss_weight(weight, input)
    return ops.losses.l1_loss(input, target, reduction, weight)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return ops.losses.smooth_l1_loss(input, target, reduction, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target)."""
    if weight is not None:
        _check_loss_weight(weight, input)
    return ops.losses.huber_loss(input, target, reduction, delta, weight)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence t (log t - input) with ``input`` log-probabilities, as PyTorch.

    "mean" averages over every element (PyTorch's 'mean'); "batchmean" divides the sum
    by the batch size, the KL divergence per example.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return ops.losses.kl_div(input, target, reduction, log_target)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, ``torch.einsum``: ``F.einsum("bij,bjk->bik", a, b)``.

    Composed from permute, reshape, matmul and sum (so it has their gradients);
    "..." broadcasts; without "->" the output is the letters that occur once, sorted.
    """
    from gradzoo.engine.ops.einsum import einsum as composed_einsum

    return composed_einsum(equation, *operands)


def _group_query_heads(q: Tensor, k: Tensor, v: Tensor, attn_mask):
    """Grouped-query attention: q's Hq heads as (Hk, Hq / Hk) groups over k's and v's Hk."""
    heads, kv_heads = q.shape[-3], k.shape[-3]
    if heads % kv_heads or v.shape[-3] != kv_heads:
        raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa, q's {heads} heads "
                           f"must be a multiple of k's and v's heads ({kv_heads}, "
                           f"{v.shape[-3]})")
    group = heads // kv_heads
    q = q.reshape(*q.shape[:-3], kv_heads, group, *q.shape[-2:])
    k = k.reshape(*k.shape[:-3], kv_heads, 1, *k.shape[-2:])
    v = v.reshape(*v.shape[:-3], kv_heads, 1, *v.shape[-2:])
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(attn_mask,
                                                                      device=q.device)
        if mask.ndim >= 3:
            mask_heads = mask.shape[-3]
            split = (kv_heads, group) if mask_heads == heads else (1, 1)
            if mask_heads not in (1, heads):
                raise RuntimeError(f"scaled_dot_product_attention: attn_mask has {mask_heads} "
                                   f"heads, not 1 or {heads}")
            mask = mask.reshape(*mask.shape[:-3], *split, *mask.shape[-2:])
        attn_mask = mask
    return q, k, v, attn_mask, heads


def _attention_with_dropout(q, k, v, attn_mask, dropout_p: float, is_causal: bool, scale):
    """Attention with dropout on its weights, from the small ops (the fused op has none)."""
    import math

    ops.attention.check_fits(q.shape, k.shape, v.shape)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale
    weights = ops.attention.masked_attention_weights(scores, attn_mask, is_causal, softmax,
                                                     v.shape[:-2])
    return dropout(weights, dropout_p, True) @ v


# ---- reductions ----


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: unit vectors, as torch's F.normalize."""
    return input / input.norm(p=p, dim=dim, keepdim=True).clamp_min(eps)


# ---- convolution (images) ----


def _conv_args(op: str, input: Tensor, weight: Tensor, bias, transposed: bool) -> None:
    """Shape checks with PyTorch's wording, before any arithmetic."""
    if input.ndim != 4 or weight.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W) and a 4-D weight, got "
                           f"input of shape {input.shape} and weight of shape {weight.shape}")
    channels = weight.shape[0] if transposed else weight.shape[1]
    if input.shape[1] != channels:
        layout = "(in, out, kH, kW)" if transposed else "(out, in, kH, kW)"
        raise RuntimeError(f"{op}: the input has {input.shape[1]} channels but the weight "
                           f"{tuple(weight.shape)} {layout} expects {channels}")
    out_channels = weight.shape[1] if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"{op}: bias of shape {bias.shape} should be ({out_channels},), "
                           f"one value per output channel")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
           padding=0) -> Tensor:
    """2-D convolution of ``input`` (N, C, H, W) with ``weight`` (out, C, kH, kW), plus ``bias``.

    im2col (a strided view) then one matrix product (``ops.Conv2d``; see ops/conv.py).
    ``stride`` and ``padding`` are an int or an (height, width) pair.

    >>> from gradzoo.engine import tensor
    >>> conv2d(tensor([[[[1.0, 2.0, 3.0]]]]), tensor([[[[1.0, -1.0]]]])).tolist()
    [[[[-1.0, -1.0]]]]
    """
    _conv_args("conv2d", input, weight, bias, transposed=False)
    stride, padding = ops.conv.pair(stride, "conv2d"), ops.conv.pair(padding, "conv2d")
    for size, kernel, p in zip(input.shape[2:], weight.shape[2:], padding):
        if size + 2 * p < kernel:
            raise RuntimeError(f"conv2d: the padded input {tuple(input.shape[2:])} + 2 * "
                               f"{padding} is smaller than the kernel "
                               f"{tuple(weight.shape[2:])}")
    params = {"stride": stride, "padding": padding}
    if bias is None:
        return ops.Conv2d.apply(input, weight, **params)
    return ops.Conv2d.apply(input, weight, bias, has_bias=True, **params)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0) -> Tensor:
    """Transposed convolution of ``input`` (N, in, H, W), ``weight`` (in, out, kH, kW).

    The adjoint of conv2d (its forward is conv2d's input gradient): each input pixel
    spreads ``weight`` times its value over the output, ``stride`` pixels apart;
    Ho = (H - 1) stride - 2 padding + kH + output_padding.

    >>> from gradzoo.engine import tensor
    >>> conv_transpose2d(tensor([[[[1.0, 2.0]]]]), tensor([[[[1.0, 10.0]]]])).tolist()
    [[[[1.0, 12.0, 20.0]]]]
    """
    _conv_args("conv_transpose2d", input, weight, bias, transposed=True)
    pair = ops.conv.pair
    stride, padding = pair(stride, "conv_transpose2d"), pair(padding, "conv_transpose2d")
    output_padding = pair(output_padding, "conv_transpose2d")
    for size, kernel, s, p, extra in zip(input.shape[2:], weight.shape[2:], stride, padding,
                                         output_padding):
        if extra >= s or (size - 1) * s - 2 * p + kernel + extra <= 0:
            raise RuntimeError(f"conv_transpose2d: output_padding {output_padding} must be "
                               f"smaller than the stride {stride}, and padding {padding} "
                               f"must leave a positive output size")
    params = {"stride": stride, "padding": padding, "output_padding": output_padding}
    if bias is None:
        return ops.ConvTranspose2d.apply(input, weight, **params)
    return ops.ConvTranspose2d.apply(input, weight, bias, has_bias=True, **params)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
           padding=0) -> Tensor:
    """1-D convolution of ``input`` (N, C, L) with ``weight`` (out, C, k): conv2d on rows of one.

    >>> from gradzoo.engine import tensor
    >>> conv1d(tensor([[[1.0, 2.0, 4.0]]]), tensor([[[1.0, 1.0]]])).tolist()
    [[[3.0, 6.0]]]
    """
    if input.ndim != 3 or weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D input (N, C, L) and a 3-D weight, got "
                           f"input of shape {input.shape} and weight of shape {weight.shape}")
    stride = stride if isinstance(stride, int) else tuple(stride)[0]
    padding = padding if isinstance(padding, int) else tuple(padding)[0]
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, stride),
                 padding=(0, padding))
    return out.squeeze(2)


# ---- normalisation (images) ----


def _affine(op: str, weight, bias, channels: int) -> list:
    """The weight and bias that are given, checked to hold one number per channel."""
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"{op}: {name} must have one number per channel, shape "
                               f"({channels},), not {tuple(t.shape)}")
    return [t for t in (weight, bias) if t is not None]


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups, then scale and shift each.

    ``input`` is (N, C, ...) and ``num_groups`` divides C; ``weight`` and ``bias`` are (C,).

    >>> from gradzoo.engine import tensor
    >>> group_norm(tensor([[[1.0, 3.0], [5.0, 5.0]]]), 2).numpy().round(4).tolist()
    [[[-1.0, 1.0], [0.0, 0.0]]]
    """
    if input.ndim < 2 or num_groups < 1 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected an input (N, C, ...) whose C channels split "
                           f"into num_groups={num_groups} equal groups, got shape {input.shape}")
    affine = _affine("group_norm", weight, bias, input.shape[1])
    return ops.GroupNorm.apply(input, *affine, num_groups=num_groups, eps=eps,
                               has_weight=weight is not None, has_bias=bias is not None)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of ``input`` (N, C, ...) over the batch and the pixels.

    ``training``: by the batch's mean and (biased) variance, and move the running
    estimates towards them in place (the variance unbiased); otherwise by the
    running estimates, which must then be given.

    >>> from gradzoo.engine import tensor, zeros, ones
    >>> mean, var = zeros(1), ones(1)
    >>> batch_norm(tensor([[1.0], [3.0]]), mean, var, training=True).numpy().round(4).tolist()
    [[-1.0], [1.0]]
    >>> mean.tolist(), var.tolist()
    ([0.20000000298023224], [1.100000023841858])
    """
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input (N, C, ...), got shape {input.shape}")
    if training and input.numel() <= input.shape[1]:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be given when not "
                           "training (they are what eval mode normalises by)")
    running = {}
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None:
            if tuple(stat.shape) != (input.shape[1],):
                raise RuntimeError(f"batch_norm: {name} must have shape ({input.shape[1]},), "
                                   f"not {tuple(stat.shape)}")
            running[name] = _array_on(stat, input.device, f"batch_norm: {name}")
    affine = _affine("batch_norm", weight, bias, input.shape[1])
    return ops.BatchNorm.apply(input, *affine, training=training, momentum=momentum, eps=eps,
                               has_weight=weight is not None, has_bias=bias is not None,
                               **running)


# ---- pooling and upsampling (images) ----


def _batched_picture(op, x: Tensor, **params) -> Tensor:
    """Run a 2-D picture op on (N, C, H, W), or on one picture (C, H, W) as a batch of one."""
    if x.ndim == 3:
        return op.apply(x.unsqueeze(0), **params).squeeze(0)
    return op.apply(x, **params)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """The largest pixel of each ``kernel_size`` window, windows ``stride`` apart (default:
    ``kernel_size``); ``padding`` adds -inf around. The gradient goes to the first maximum.

    >>> from gradzoo.engine import tensor
    >>> max_pool2d(tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
    [[[[4.0]]]]
    """
    return _batched_picture(ops.MaxPool2d, x, kernel_size=kernel_size, stride=stride,
                            padding=padding)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """The mean of each ``kernel_size`` window (zero ``padding`` counted, as PyTorch's
    default ``count_include_pad=True``), windows ``stride`` apart (default: ``kernel_size``).

    >>> from gradzoo.engine import tensor
    >>> avg_pool2d(tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
    [[[[2.5]]]]
    """
    if not backend.is_floating(x.dtype):  # a mean of integers would come out float64
        raise RuntimeError(f"avg_pool2d: the input must be a float tensor, not {x.dtype} "
                           f"(as in PyTorch); cast it first with .float()")
    return _batched_picture(ops.AvgPool2d, x, kernel_size=kernel_size, stride=stride,
                            padding=padding)


def interpolate(x: Tensor, scale_factor=2, mode: str = "nearest", *, size=None,
                align_corners=None) -> Tensor:
    """Upsample (N, C, H, W) by whole factors, each pixel repeated into a block (``"nearest"``).

    ``scale_factor`` is an int (or a pair, one per spatial dim); ``size=(H2, W2)``, whole
    multiples of the input's size, may be given instead. Other modes and fractional
    factors are refused with a clear error (gradzoo has nearest-neighbour upsampling only).

    >>> from gradzoo.engine import tensor
    >>> interpolate(tensor([[[[1.0, 2.0]]]]), scale_factor=2).tolist()
    [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
    """
    if align_corners is not None:
        raise ValueError("interpolate: align_corners only has an effect for the linear and "
                         "cubic modes; leave it None with mode 'nearest'")
    if size is not None:
        if scale_factor not in (None, 2):
            raise ValueError("interpolate: only one of size or scale_factor should be defined")
        scale_factor = ops.upsample.factors_for_size(x.shape, size)
    elif scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    factors = ops.upsample.scale_factors(x.shape, scale_factor, mode)
    return ops.UpsampleNearest.apply(x, scale_factor=factors)


# ---- end of issue-14 sections ----
