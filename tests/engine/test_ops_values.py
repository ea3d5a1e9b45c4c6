"""Op forward values against plain NumPy, float32 kept through every op, numerical
stability at extreme inputs, and the readable errors ops raise for bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradzoo.engine import F, Function, Parameter, ops, tensor
from tests.engine import strategies as gen
from tests.engine.op_catalog import engine_ops, recording_ops

VALUE_SETTINGS = settings(max_examples=25, deadline=None)


def close(t, expected, rtol=1e-5, atol=1e-6):
    """Compare a tensor's values with a NumPy reference (shape included)."""
    np.testing.assert_allclose(t.numpy(), expected, rtol=rtol, atol=atol)
    assert t.shape == np.shape(expected)


def f64(a):
    return tensor(a, dtype="float64")


# ---------------------------------------------------------------------- NumPy references


def softmax_ref(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm_ref(x, axes, weight=None, bias=None, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return y * (1 if weight is None else weight) + (0 if bias is None else bias)


def cross_entropy_ref(logits, target, ignore_index=-100):
    log_probs = np.log(softmax_ref(logits)).reshape(-1, logits.shape[-1])
    target = target.reshape(-1)
    counted = target != ignore_index
    picked = log_probs[np.arange(len(target)), np.where(counted, target, 0)]
    return -(picked * counted).sum() / counted.sum()


def gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def attention_ref(q, k, v, mask=None, is_causal=False):
    """softmax(q k^T / sqrt(E) + mask) v, where a row with no allowed key gives zeros."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype != bool:
        scores = scores + mask
    allowed = np.isfinite(scores)
    if is_causal:
        allowed = allowed & np.tril(np.ones(scores.shape[-2:], dtype=bool))
    if mask is not None and mask.dtype == bool:
        allowed = allowed & mask
    row_max = np.where(allowed, scores, -np.inf).max(axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(scores - np.where(np.isfinite(row_max), row_max, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0) @ v


# ---------------------------------------------------------------------- forward values


@VALUE_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(
    lambda s: st.tuples(gen.arrays(s[0]), gen.away_from_zero_arrays(s[1], gap=0.3))))
def test_arithmetic_broadcasts_like_numpy(pair):
    a, b = pair
    x, y = f64(a), f64(b)
    close(x + y, a + b)
    close(x - y, a - b)
    close(x * y, a * b)
    close(x / y, a / b)
    close(-x, -a)
    close(f64(np.abs(b)) ** x, np.abs(b) ** a)


@VALUE_SETTINGS
@given(gen.arrays(gen.shapes(), -3.0, 3.0).flatmap(gen.layouts))
def test_elementwise_functions(a):
    x = f64(a)
    close(x.exp(), np.exp(a))
    close(f64(np.abs(a) + 0.1).log(), np.log(np.abs(a) + 0.1))
    close(x.tanh(), np.tanh(a))
    close(x.sigmoid(), 1 / (1 + np.exp(-a)))
    close(x.relu(), np.maximum(a, 0))
    close(F.gelu(x), gelu_ref(a))
    close(F.gelu(x, approximate="tanh"), gelu_ref(a, "tanh"))


def test_gelu_float32_matches_the_exact_erf():
    a = np.linspace(-4, 4, 41)
    close(F.gelu(tensor(a)), gelu_ref(a), rtol=1e-5, atol=1e-6)


@VALUE_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.arrays(s).flatmap(gen.layouts), gen.reduce_dims(len(s)),
                        st.booleans())))
def test_reductions(case):
    a, dim, keepdim = case
    axis = dim if a.ndim else None
    x = f64(a)
    close(x.sum(dim=dim, keepdim=keepdim), a.sum(axis=axis, keepdims=keepdim))
    close(x.mean(dim=dim, keepdim=keepdim), a.mean(axis=axis, keepdims=keepdim))
    close(x.amax(dim=dim, keepdim=keepdim), a.max(axis=axis, keepdims=keepdim))
    close(x.amin(dim=dim, keepdim=keepdim), a.min(axis=axis, keepdims=keepdim))
    close(x.prod(dim=dim if dim is None or isinstance(dim, int) else None, keepdim=keepdim),
          a.prod(axis=axis if dim is None or isinstance(dim, int) else None, keepdims=keepdim))


def test_amax_splits_the_gradient_between_ties():
    x = tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], requires_grad=True)
    x.amax(dim=1).sum().backward()
    close(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


def test_max_with_a_dim_gives_the_gradient_to_the_first_of_ties():
    x = tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    values.sum().backward()
    close(x.grad, [[0, 1, 0], [1, 0, 0]])
    assert indices.tolist() == [1, 0] and not indices.requires_grad


@VALUE_SETTINGS
def torch_rule(a, index):
    """``a[index]`` by PyTorch's rule: integers are applied first, as basic indexing, then the
    integer lists; NumPy instead moves the dims of an integer mixed with lists to the front."""
    parts = index if isinstance(index, tuple) else (index,)
    lists = [p for p in parts if isinstance(p, list)]
    integers = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    if not (lists and integers) or any(p is None or p is Ellipsis for p in parts):
        return a[index]
    first = a[tuple(p if isinstance(p, int) else slice(None) for p in parts)]
    return first[tuple(p for p in parts if not isinstance(p, int))]


@given(gen.shapes().flatmap(lambda s: st.tuples(
    gen.arrays(s).flatmap(gen.layouts), gen.reshape_targets(s), gen.permutations(len(s)),
    gen.index_expressions(s))))
def test_shape_ops_and_indexing(case):
    a, target, dims, index = case
    x = f64(a)
    close(x.reshape(target), a.reshape(target))
    close(x.permute(*dims), a.transpose(dims))
    close(x.T, a.T)
    close(x[index], torch_rule(a, index))
    if a.ndim >= 2:
        close(x.transpose(0, -1), np.swapaxes(a, 0, -1))


def test_unsqueeze_and_squeeze():
    x = tensor(np.ones((2, 3)))
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(1).squeeze(1).shape == (2, 3)


@VALUE_SETTINGS
@given(gen.concat_inputs(), gen.stack_inputs())
def test_concat_and_stack(concat_case, stack_case):
    pieces, dim = concat_case
    close(F.concat([f64(p) for p in pieces], dim=dim), np.concatenate(pieces, axis=dim))
    pieces, dim = stack_case
    close(F.stack([f64(p) for p in pieces], dim=dim), np.stack(pieces, axis=dim))


@VALUE_SETTINGS
@given(gen.broadcastable_shapes(3).flatmap(lambda s: st.tuples(
    gen.boolean_arrays(s[0]), gen.arrays(s[1]), gen.arrays(s[2]))))
def test_where(case):
    cond, a, b = case
    close(F.where(tensor(cond), f64(a), f64(b)), np.where(cond, a, b))
    close(F.where(cond, f64(a), 0.5), np.where(cond, a, 0.5))


@VALUE_SETTINGS
@given(gen.matmul_pairs())
def test_matmul(pair):
    a, b = pair
    close(F.matmul(f64(a), f64(b)), a @ b)
    close(f64(a) @ f64(b), a @ b)


def test_linear_uses_the_pytorch_weight_layout():
    x, w, b = np.ones((4, 3)), np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    close(F.linear(f64(x), f64(w), f64(b)), x @ w.T + b)


@VALUE_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(
    lambda s: st.tuples(gen.arrays(s, -5.0, 5.0), gen.dims(len(s)))))
def test_softmax_and_log_softmax(case):
    a, dim = case
    close(F.softmax(f64(a), dim=dim), softmax_ref(a, dim))
    close(f64(a).log_softmax(dim), np.log(softmax_ref(a, dim)))
    close(F.softmax(f64(a), dim=dim).sum(dim=dim), np.ones(np.delete(a.shape, dim % a.ndim)))


@VALUE_SETTINGS
@given(gen.layer_norm_inputs(), st.booleans())
def test_layer_norm(case, affine):
    a, normalized_shape, weight, bias = case
    axes = tuple(range(a.ndim - len(normalized_shape), a.ndim))
    if affine:
        out = F.layer_norm(f64(a), normalized_shape, f64(weight), f64(bias))
        close(out, layer_norm_ref(a, axes, weight, bias))
    else:
        close(F.layer_norm(f64(a), normalized_shape), layer_norm_ref(a, axes))


def test_layer_norm_takes_an_int_normalized_shape_and_eps():
    a = np.arange(6.0).reshape(2, 3)
    close(F.layer_norm(f64(a), 3, eps=0.5), layer_norm_ref(a, (1,), eps=0.5))


@VALUE_SETTINGS
@given(gen.cross_entropy_inputs())
def test_cross_entropy_with_ignore_index(case):
    logits, target, ignore_index = case
    loss = F.cross_entropy(f64(logits), tensor(target), ignore_index=ignore_index)
    assert loss.shape == ()
    close(loss, cross_entropy_ref(logits, target, ignore_index))


def test_cross_entropy_counts_only_the_positions_not_ignored():
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    full = F.cross_entropy(f64(logits[:2]), tensor([0, 0])).item()
    masked = F.cross_entropy(f64(logits), tensor([0, 0, -100])).item()
    assert masked == pytest.approx(full)


def test_mse_loss():
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [5.0, 4.0]])
    close(F.mse_loss(f64(a), f64(b)), np.mean((a - b) ** 2))


@VALUE_SETTINGS
@given(gen.embedding_inputs())
def test_embedding(case):
    weight, idx = case
    close(F.embedding(tensor(idx), f64(weight)), weight[idx])
    close(F.embedding(idx.tolist(), f64(weight)), weight[idx])


def test_dropout_zeroes_and_rescales_and_is_reproducible():
    from gradzoo.engine import manual_seed

    x = tensor(np.ones((200, 50)))
    manual_seed(3)
    first = F.dropout(x, 0.3).numpy()
    manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.3).numpy(), first)
    assert set(np.unique(first)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((first == 0).mean() - 0.3) < 0.02
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), 0.0)


@pytest.mark.parametrize("mask_kind", gen.MASK_KINDS)
@VALUE_SETTINGS
@given(data=st.data())
def test_scaled_dot_product_attention(mask_kind, data):
    q, k, v, mask, is_causal = data.draw(gen.attention_inputs(mask_kind))
    out = F.scaled_dot_product_attention(f64(q), f64(k), f64(v), attn_mask=mask,
                                         is_causal=is_causal)
    close(out, attention_ref(q, k, v, mask, is_causal))


def test_attention_mask_can_be_a_tensor():
    q = np.random.default_rng(0).standard_normal((2, 3, 4))
    mask = np.tril(np.ones((3, 3), dtype=bool))
    out = F.scaled_dot_product_attention(f64(q), f64(q), f64(q), attn_mask=tensor(mask))
    close(out, attention_ref(q, q, q, is_causal=True))


# ---------------------------------------------------------------------- float32 everywhere


def _uniform(*shape):
    return np.random.default_rng(len(shape)).uniform(0.5, 1.5, shape).astype(np.float32)


# name -> (fn of float32 tensors, input shapes). Inputs lie in [0.5, 1.5]: valid for every op.
FLOAT32_CASES = {
    "add": (lambda a, b: a + b, [(2, 3), (3,)]),
    "sub": (lambda a, b: a - b, [(2, 1), (3,)]),
    "mul": (lambda a, b: a * b, [(2, 3), (1, 3)]),
    "div": (lambda a, b: a / b, [(2, 3), (2, 1)]),
    "neg": (lambda a: -a, [(2, 3)]),
    "pow": (lambda a, b: a ** b, [(2, 3), (3,)]),
    "exp": (lambda a: a.exp(), [(4,)]),
    "log": (lambda a: a.log(), [(4,)]),
    "tanh": (lambda a: a.tanh(), [(4,)]),
    "sigmoid": (lambda a: a.sigmoid(), [(4,)]),
    "relu": (lambda a: (a - 1.0).relu(), [(4,)]),
    # elementwise functions and activations (issue 14)
    "abs": (lambda a: (a - 1.0).abs() + a.sign(), [(4,)]),
    "sqrt": (lambda a: a.sqrt() + a.rsqrt(), [(4,)]),
    "sin": (lambda a: a.sin() * a.cos(), [(4,)]),
    "log1p": (lambda a: a.log1p() + a.expm1() + a.erf(), [(4,)]),
    "floor": (lambda a: a.floor() + a.ceil() + a.round(decimals=1), [(4,)]),
    "clamp": (lambda a, b: a.clamp(0.8, 1.2) + a.clamp(b - 0.2, b + 0.2), [(2, 3), (3,)]),
    "minimum": (lambda a, b: a.minimum(b) + a.maximum(b), [(2, 3), (3,)]),
    "remainder": (lambda a, b: a % b + 2 % a, [(2, 3), (3,)]),
    "floor_divide": (lambda a: (a // 0.25).detach() + a, [(4,)]),
    "softplus": (lambda a: F.softplus(a) + F.logsigmoid(a) + F.silu(a), [(4,)]),
    "leaky_relu": (lambda a: F.leaky_relu(a - 1.0) + F.elu(a - 1.0) + F.hardtanh(a), [(4,)]),
    "gelu": (lambda a: F.gelu(a), [(4,)]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [(4,)]),
    "sum": (lambda a: a.sum(dim=1), [(2, 3)]),
    "mean": (lambda a: a.mean(), [(2, 3)]),
    "max": (lambda a: a.max(dim=0, keepdim=True).values, [(2, 3)]),
    "amax": (lambda a: a.amax(dim=0, keepdim=True), [(2, 3)]),
    "amin": (lambda a: a.amin(dim=(0, 1)), [(2, 3)]),
    "prod": (lambda a: a.prod(dim=1), [(2, 3)]),
    "var": (lambda a: a.var(dim=1), [(2, 3)]),
    "std": (lambda a: a.std(), [(2, 3)]),
    "logsumexp": (lambda a: a.logsumexp(dim=0), [(2, 3)]),
    "norm": (lambda a: a.norm(p=1, dim=1), [(2, 3)]),
    "cumsum": (lambda a: a.cumsum(dim=1), [(2, 3)]),
    "cumprod": (lambda a: a.cumprod(dim=0), [(2, 3)]),
    "sort": (lambda a: a.sort().values, [(2, 3)]),
    "reshape": (lambda a: a.reshape(3, 2), [(2, 3)]),
    "transpose": (lambda a: a.transpose(0, 2), [(2, 3, 1)]),
    "permute": (lambda a: a.permute(2, 0, 1), [(2, 3, 1)]),
    "getitem": (lambda a: a[[0, 0, 1], 1:], [(2, 3)]),
    "concat": (lambda a, b: F.concat([a, b], dim=1), [(2, 3), (2, 1)]),
    "stack": (lambda a, b: F.stack([a, b], dim=-1), [(2, 3), (2, 3)]),
    "where": (lambda a, b: F.where(a > 1.0, a, b), [(2, 3), (3,)]),
    "matmul": (lambda a, b: a @ b, [(2, 2, 3), (3, 4)]),
    "softmax": (lambda a: F.softmax(a, dim=0), [(2, 3)]),
    "log_softmax": (lambda a: F.log_softmax(a), [(2, 3)]),
    "layer_norm": (lambda a: F.layer_norm(a, (3,)), [(2, 3)]),
    "layer_norm_affine": (lambda a, w, b: F.layer_norm(a, 3, w, b), [(2, 3), (3,), (3,)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, tensor([2, -100])), [(2, 3)]),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(2, 3), (2, 3)]),
    "binary_cross_entropy": (lambda a, b: F.binary_cross_entropy(a.sigmoid(), b.sigmoid()),
                             [(2, 3), (2, 3)]),
    "binary_cross_entropy_with_logits": (
        lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid(), reduction="sum"),
        [(2, 3), (2, 3)]),
    "cross_entropy label_smoothing": (
        lambda a: F.cross_entropy(a, tensor([2, -100]), label_smoothing=0.2, reduction="none"),
        [(2, 3)]),
    "attention_mask_with_grad": (
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [(2, 3, 4), (2, 2, 4), (2, 2, 5), (3, 2)]),
    "embedding": (lambda w: F.embedding(tensor([[0, 2, 2]]), w), [(3, 4)]),
    "dropout": (lambda a: F.dropout(a, 0.5), [(4, 5)]),
    "attention_causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                         [(2, 3, 4), (2, 3, 4), (2, 3, 5)]),
    "attention_float_mask": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=np.zeros((3, 2))),
        [(1, 3, 4), (2, 2, 4), (2, 5)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    "lstm_cell": (lambda x, h, c, wi, wh, bi, bh: ops.LSTMCell.apply(
        x, h, c, wi, wh, bi, bh, has_bias=True), [(2, 3), (2, 4), (2, 4), (16, 3), (16, 4),
                                                  (16,), (16,)]),
    "gru_cell": (lambda x, h, wi, wh, bi, bh: ops.GRUCell.apply(x, h, wi, wh, bi, bh,
                                                                has_bias=True),
                 [(2, 3), (2, 4), (12, 3), (12, 4), (12,), (12,)]),
    # ---- casts, spellings and layout ----
    "cast": (lambda a: a.double().exp().float(), [(2, 3)]),
    "clone": (lambda a: a.clone() + a.t().contiguous().t(), [(2, 3)]),
    "expand": (lambda a: a.expand(2, 3, 4), [(3, 1)]),
    "repeat": (lambda a: a.repeat(2, 1, 2), [(2, 3)]),
    "flip": (lambda a: a.flip(0, -1), [(2, 3)]),
    "div rounded": (lambda a, b: a.div(b, rounding_mode="floor")
                    + a.div(0.3, rounding_mode="trunc"), [(2, 3), (3,)]),
    # ---- indexing, masks and padding ----
    "gather": (lambda x: x.gather(1, np.array([[0, 2, 2], [1, 0, 0]])), [(2, 3)]),
    "scatter": (lambda x, s: x.scatter(1, np.array([[2, 0]]), s), [(2, 3), (1, 2)]),
    "scatter_add": (lambda x, s: x.scatter_add(0, np.array([[1, 1, 0]]), s), [(2, 3), (1, 3)]),
    "index_select": (lambda x: x.index_select(0, np.array([1, 1, 0])), [(2, 3)]),
    "masked_select": (lambda x: x.masked_select(np.array([True, False, True])), [(2, 3)]),
    "pad": (lambda x: F.pad(F.pad(x, (1, 1), value=0.5), (1, 1), mode="replicate"), [(2, 3)]),
    # ---- convolution (issue 15)
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
               [(2, 3, 5, 4), (4, 3, 3, 3), (4,)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
                         [(2, 3, 3, 4), (3, 2, 4, 4), (2,)]),
    # ---- pooling and upsampling (issue 15)
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [(2, 3, 5, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, (2, 3), 1), [(2, 3, 5, 4)]),
    "interpolate": (lambda x: F.interpolate(x, scale_factor=2), [(2, 3, 2, 3)]),
    # ---- normalisation (issue 15)
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3, 3), (4,), (4,)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32),
                                                w, b, training=True) * x, [(4, 3, 2), (3,), (3,)]),
}


def run_float32_case(name):
    """Forward and backward in float32; returns the output and the input tensors."""
    fn, shapes = FLOAT32_CASES[name]
    inputs = [tensor(_uniform(*shape), requires_grad=True) for shape in shapes]
    out = fn(*inputs)
    out.backward(np.ones(out.shape))
    return out, inputs


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_float32_is_kept_forward_and_backward(name):
    out, inputs = run_float32_case(name)
    assert out.dtype == np.float32, f"{name} forward gave {out.dtype}"
    for i, x in enumerate(inputs):
        assert x.grad is not None, f"{name}: input {i} got no gradient"
        assert x.grad.dtype == np.float32, f"{name}: input {i} got a {x.grad.dtype} gradient"
        assert x.grad.shape == x.shape
        assert np.isfinite(x.grad.numpy()).all()


def test_float32_cases_cover_every_op():
    with recording_ops() as seen:
        for name in FLOAT32_CASES:
            run_float32_case(name)
    missing = sorted(op.__name__ for op in engine_ops() - seen)
    assert not missing, f"FLOAT32_CASES has no case for {missing}"


PYTHON_SCALAR_FORMS = {
    "x + c": lambda x: x + 1.5, "c + x": lambda x: 1.5 + x,
    "x - c": lambda x: x - 2, "c - x": lambda x: 2 - x,
    "x * c": lambda x: x * 0.1, "c * x": lambda x: 0.1 * x,
    "x / c": lambda x: x / 3.0, "c / x": lambda x: 3.0 / x,
    "x ** c": lambda x: x ** 0.5, "c ** x": lambda x: 2.0 ** x,
    "x * np.float64": lambda x: x * np.float64(2.0),
    "np.float64 * x": lambda x: np.float64(2.0) * x,
    "x + float64 array": lambda x: x + np.ones(3),
    "where(c, x, scalar)": lambda x: F.where(x > 1.0, x, 0.0),
    "where(c, scalar, x)": lambda x: F.where(x > 1.0, 0.0, x),
}


@pytest.mark.parametrize("form", sorted(PYTHON_SCALAR_FORMS))
def test_python_scalars_do_not_promote_float32(form):
    x = tensor(_uniform(3), requires_grad=True)
    out = PYTHON_SCALAR_FORMS[form](x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_is_kept_when_asked_for():
    x = tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = F.softmax(x * 2.5 + 1, dim=0)
    assert y.dtype == np.float64
    y[0].backward()
    assert x.grad.dtype == np.float64


def attention_block(params, tokens, targets, heads=2):
    """Embedding, causal self-attention with q/k/v projections, layer norm, GELU MLP, loss."""
    batch, steps = tokens.shape
    x = F.embedding(tokens, params["wte"])
    width = x.shape[-1]

    def split_heads(t):
        return t.reshape(batch, steps, heads, width // heads).transpose(1, 2)

    q, k, v = (split_heads(F.linear(x, params[f"w_{n}"], params[f"b_{n}"])) for n in "qkv")
    attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    attended = attended.transpose(1, 2).reshape(batch, steps, width)
    x = F.layer_norm(x + F.linear(attended, params["w_o"]), width, params["ln_w"], params["ln_b"])
    x = x + F.linear(F.gelu(F.linear(x, params["w_up"], params["b_up"])), params["w_down"])
    return F.cross_entropy(F.linear(x, params["wte"]), targets)


def _block_params(dtype, vocab=7, width=8):
    rng = np.random.default_rng(0)
    shapes = {"wte": (vocab, width), "w_o": (width, width), "ln_w": (width,), "ln_b": (width,),
              "w_up": (2 * width, width), "b_up": (2 * width,), "w_down": (width, 2 * width)}
    shapes.update({f"w_{n}": (width, width) for n in "qkv"})
    shapes.update({f"b_{n}": (width,) for n in "qkv"})
    return {name: Parameter(0.5 * rng.standard_normal(shape), dtype=dtype)
            for name, shape in shapes.items()}


def test_float32_attention_block_forward_and_backward():
    tokens, targets = tensor([[1, 2, 3, 4], [0, 6, 5, 6]]), tensor([[2, 3, 4, 0], [6, 5, 6, 1]])
    p32, p64 = _block_params("float32"), _block_params("float64")
    loss32, loss64 = attention_block(p32, tokens, targets), attention_block(p64, tokens, targets)
    loss32.backward()
    loss64.backward()
    assert loss32.dtype == np.float32 and loss64.dtype == np.float64
    assert loss32.item() == pytest.approx(loss64.item(), rel=1e-5)
    for name, p in p32.items():
        assert p.grad.dtype == np.float32, name
        np.testing.assert_allclose(p.grad.numpy(), p64[name].grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
        assert np.abs(p.grad.numpy()).max() > 0, f"{name} got an all-zero gradient"


# ---------------------------------------------------------------------- numerical stability


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_family_is_exact_for_huge_logits(dtype):
    x = tensor([[1e4, -1e4, 0.0]], dtype=dtype, requires_grad=True)
    np.testing.assert_array_equal(F.softmax(x).numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(F.log_softmax(x).numpy(), [[0.0, -2e4, -1e4]])
    (F.softmax(x) * tensor([1.0, 2.0, 3.0], dtype=dtype)).sum().backward()
    F.log_softmax(x)[0, 1].backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_exact_for_huge_logits(dtype):
    logits = tensor([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(logits, tensor([0, 0]))
    assert loss.item() == 1e4  # 0 for the right guess, 2e4 for the wrong one
    loss.backward()
    np.testing.assert_array_equal(logits.grad.numpy(), [[0.0, 0.0], [-0.5, 0.5]])


def test_sigmoid_and_tanh_saturate_without_overflow():
    x = tensor([-1e4, 1e4], requires_grad=True)
    np.testing.assert_array_equal(x.sigmoid().numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(x.tanh().numpy(), [-1.0, 1.0])
    (x.sigmoid() + x.tanh()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_layer_norm_of_a_constant_row_is_finite():
    x = tensor(np.full((2, 4), 3.0), requires_grad=True)
    out = F.layer_norm(x, 4, tensor(np.ones(4)), tensor(np.full(4, 0.5)))
    np.testing.assert_array_equal(out.numpy(), 0.5)
    (out * tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_attention_row_with_every_key_masked_is_zero_and_finite():
    q = tensor(np.ones((2, 4)), requires_grad=True)  # 2 queries
    kv = tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)  # 3 keys
    mask = np.array([[True, False, True], [False, False, False]])
    out = F.scaled_dot_product_attention(q, kv, kv, attn_mask=mask)
    np.testing.assert_array_equal(out.numpy()[1], 0.0)
    assert np.abs(out.numpy()[0]).min() > 0
    out.sum().backward()
    assert np.isfinite(q.grad.numpy()).all() and np.isfinite(kv.grad.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[1], 0.0)


# ---------------------------------------------------------------------- errors ops raise


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit"):
        F.matmul(tensor(np.ones((2, 3))), tensor(np.ones((4, 5))))
    with pytest.raises(RuntimeError, match=r"shapes \(3,\) and \(2,\).*the only dimension"):
        tensor(np.ones(3)) @ tensor(np.ones(2))
    with pytest.raises(RuntimeError,
                       match=r"batch dimensions of shapes \(2, 1, 3\) and \(3, 3, 1\)"):
        tensor(np.ones((2, 1, 3))) @ tensor(np.ones((3, 3, 1)))


def test_reshape_mismatch():
    with pytest.raises(RuntimeError, match=r"cannot reshape a tensor of shape \(2, 3\) "
                                           r"\(6 elements\) into shape \(4,\)"):
        tensor(np.ones((2, 3))).reshape(4)


def test_permute_needs_every_dim_once():
    with pytest.raises(RuntimeError, match=r"permute\(0, 0\) must name each of the 2 dimensions"):
        tensor(np.ones((2, 3))).permute(0, 0)


def test_concat_and_stack_shape_mismatch():
    a, b = tensor(np.ones((2, 3))), tensor(np.ones((3, 2)))
    with pytest.raises(RuntimeError,
                       match=r"concat along dim 0: shapes \(2, 3\), \(3, 2\) differ"):
        F.concat([a, b])
    with pytest.raises(RuntimeError, match=r"stack needs tensors of one shape, "
                                           r"got \(2, 3\), \(3, 2\)"):
        F.stack([a, b])


def test_reduction_dim_out_of_range():
    with pytest.raises(IndexError, match="dim 2 is out of range for a tensor with 2 dimensions"):
        tensor(np.ones((2, 3))).sum(dim=2)


def test_cross_entropy_target_errors():
    logits = tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="target must hold integer class indices, not float32"):
        F.cross_entropy(logits, tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"target shape \(3,\) must equal the logits' shape "
                                           r"without its last \(class\) axis, \(2,\)"):
        F.cross_entropy(logits, tensor([0, 1, 2]))
    with pytest.raises(IndexError, match=r"target values must lie in \[0, 2\].*from -1 to 3"):
        F.cross_entropy(logits, tensor([-1, 3]))


def test_embedding_index_errors():
    weight = tensor(np.ones((4, 2)))
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 3\], got values from 1 to 7"):
        F.embedding(tensor([1, 7]), weight)
    with pytest.raises(IndexError, match="got values from -1 to 2"):
        F.embedding([2, -1], weight)
    with pytest.raises(TypeError, match="embedding: indices must be integers, not float32"):
        F.embedding(tensor([1.0]), weight)


def test_mse_loss_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"input shape \(2,\) and target shape \(3,\) differ"):
        F.mse_loss(tensor([1.0, 2.0]), tensor([1.0, 2.0, 3.0]))


def test_layer_norm_normalized_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"normalized_shape \(4,\) must match the last "
                                           r"dims of the input, whose shape is \(2, 3\)"):
        F.layer_norm(tensor(np.ones((2, 3))), 4)


def test_attention_shape_errors():
    q = tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"attention: q \(2, 3\), k \(2, 4\) and v \(2, 3\)"):
        F.scaled_dot_product_attention(q, tensor(np.ones((2, 4))), q)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(3, 1\) must broadcast to the "
                                           r"attention weights' shape \(\.\.\., L, S\) = \(2, 2\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((3, 1)))


def test_functional_argument_errors():
    x = tensor([1.0, 2.0])
    with pytest.raises(RuntimeError,
                       match="gelu: approximate must be 'none' or 'tanh', not 'fast'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="dropout probability must lie in \\[0, 1\\], got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        F.where(tensor([1, 0]), 1.0, 2.0)  # torch.where(cond, 1.0, 2.0) is fine, an int cond not
    with pytest.raises(TypeError, match="Add needs at least one Tensor input"):
        ops.Add.apply(1.0, 2.0)


def test_a_function_without_forward_or_backward_says_so():
    class Unfinished(Function):
        pass

    with pytest.raises(NotImplementedError, match="Unfinished has no forward"):
        Unfinished.apply(tensor([1.0]))
    with pytest.raises(NotImplementedError, match="Unfinished has no backward"):
        Unfinished().backward(None)


def test_a_backward_returning_a_wrong_shape_is_reported():
    class BadShape(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, grad):
            return (grad,)

    x = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a float32 gradient of "
                                           r"shape \(\) for a float32 input of shape \(2,\)"):
        BadShape.apply(x).backward()
