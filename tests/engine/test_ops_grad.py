"""Every op's analytic backward against finite differences (``gradcheck``), on drawn shapes.

Each test says which ops it exercises with ``@covers(...)``, and checks that
they really ran; ``test_every_op_has_a_gradient_case`` fails as soon as an op
of ``gradzoo.engine.ops`` has no test here, so a new op cannot skip gradcheck.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradzoo.engine import F, backend, gradcheck, ops
from gradzoo.engine.ops import reduce
from tests.engine import strategies as gen
from tests.engine.op_catalog import engine_ops, recording_ops

GRAD_SETTINGS = settings(max_examples=30, deadline=None)
FEW = settings(max_examples=15, deadline=None)

COVERED: set[type] = set()


# ---------------------------------------------------------------------- bookkeeping


def exercises(*op_classes):
    """Wrap a test so that it fails unless each of ``op_classes`` was recorded while it ran."""
    def decorate(test):
        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            with recording_ops() as seen:
                test(*args, **kwargs)
            missing = sorted(op.__name__ for op in set(op_classes) - seen)
            assert not missing, f"{test.__name__} claims to check {missing} but never ran them"
        return wrapper
    return decorate


def covers(*op_classes):
    """Mark a test as the gradient case of ``op_classes`` (and check that it runs them)."""
    COVERED.update(op_classes)
    return exercises(*op_classes)


def test_every_op_has_a_gradient_case():
    all_ops = engine_ops()
    assert {ops.Add, ops.ScaledDotProductAttention, ops.LayerNorm} <= all_ops
    missing = sorted(op.__name__ for op in all_ops - COVERED)
    assert not missing, (f"ops without a gradcheck case in tests/engine/test_ops_grad.py: "
                         f"{missing}; add a hypothesis test decorated with @covers(ops.TheOp)")


def test_exercises_fails_for_an_op_the_test_never_runs():
    @exercises(ops.Exp)
    def claims_exp_but_runs_tanh():
        gradcheck(lambda x: x.tanh(), [np.ones(2)])

    with pytest.raises(AssertionError, match=r"claims to check \['Exp'\]"):
        claims_exp_but_runs_tanh()


# ---------------------------------------------------------------------- arithmetic


@covers(ops.Add, ops.Sub, ops.Mul)
@GRAD_SETTINGS
@given(gen.broadcastable_arrays(2))
def test_add_sub_mul_broadcast(pair):
    gradcheck(lambda a, b: a + b, pair)
    gradcheck(lambda a, b: a - b, pair)
    gradcheck(lambda a, b: a * b, pair)


@covers(ops.Div)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(
    lambda s: st.tuples(gen.arrays(s[0]), gen.away_from_zero_arrays(s[1], gap=0.5))))
def test_div_broadcast(pair):
    gradcheck(lambda a, b: a / b, pair)


@covers(ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Pow)
@GRAD_SETTINGS
@given(gen.away_from_zero_arrays(gen.shapes(), gap=0.5), st.sampled_from([-1.5, 0.25, 2.0]))
def test_python_scalar_operands(x, c):
    for fn in (lambda x: x + c, lambda x: c + x, lambda x: x - c, lambda x: c - x,
               lambda x: x * c, lambda x: c * x, lambda x: x / c, lambda x: c / x,
               lambda x: 1.5 ** x):
        gradcheck(fn, [x])


@covers(ops.Neg)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes()))
def test_neg(x):
    gradcheck(lambda x: -x, [x])


@covers(ops.Pow)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(
    lambda s: st.tuples(gen.positive_arrays(s[0]), gen.arrays(s[1]))))
def test_pow_tensor_base_and_exponent(pair):
    gradcheck(lambda x, y: x ** y, pair)


@covers(ops.Pow)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes()), st.sampled_from([1, 2, 3]))
def test_pow_integer_exponent_any_sign_base(x, n):
    gradcheck(lambda x: x ** n, [x])


# ---------------------------------------------------------------------- elementwise


@covers(ops.Exp, ops.Tanh, ops.Sigmoid)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes(), -3.0, 3.0))
def test_exp_tanh_sigmoid(x):
    gradcheck(lambda x: x.exp(), [x])
    gradcheck(lambda x: x.tanh(), [x])
    gradcheck(lambda x: x.sigmoid(), [x])


@covers(ops.Log)
@GRAD_SETTINGS
@given(gen.positive_arrays(gen.shapes()))
def test_log(x):
    gradcheck(lambda x: x.log(), [x])


@covers(ops.ReLU)
@GRAD_SETTINGS
@given(gen.away_from_zero_arrays(gen.shapes()))
def test_relu(x):
    gradcheck(F.relu, [x])


@covers(ops.GELU)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes(), -3.0, 3.0), st.sampled_from(["none", "tanh"]))
def test_gelu(x, approximate):
    gradcheck(lambda x: F.gelu(x, approximate=approximate), [x])


@covers(ops.GELU)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_each_approximation(approximate):
    gradcheck(lambda x: F.gelu(x, approximate=approximate), [np.linspace(-3, 3, 7)])


# ---- elementwise functions and activations ----


@covers(ops.Sin, ops.Cos, ops.Expm1, ops.Erf)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes(), -3.0, 3.0))
def test_sin_cos_expm1_erf(x):
    for fn in (lambda x: x.sin(), lambda x: x.cos(), lambda x: x.expm1(), lambda x: x.erf()):
        gradcheck(fn, [x])


@covers(ops.Sqrt, ops.Rsqrt, ops.Log1p)
@GRAD_SETTINGS
@given(gen.positive_arrays(gen.shapes()))
def test_sqrt_rsqrt_log1p(x):
    for fn in (lambda x: x.sqrt(), lambda x: x.rsqrt(), lambda x: x.log1p()):
        gradcheck(fn, [x])


@covers(ops.Abs, ops.Sign)
@GRAD_SETTINGS
@given(gen.away_from_zero_arrays(gen.shapes()))
def test_abs_and_sign_away_from_zero(x):
    gradcheck(lambda x: x.abs(), [x])
    gradcheck(lambda x: x.sign() * x, [x])  # sign's gradient is 0: the product's is sign(x)


@covers(ops.Floor, ops.Ceil, ops.Round)
@GRAD_SETTINGS
@given(gen.away_from_steps_arrays(gen.shapes(), step=0.5))
def test_step_functions_have_zero_gradient(x):
    for fn in (lambda x: x.floor(), lambda x: x.ceil(), lambda x: x.round() + x):
        gradcheck(fn, [x])


@covers(ops.Clamp)
@GRAD_SETTINGS
@given(gen.away_from_steps_arrays(gen.shapes(), step=1.0), st.sampled_from(
    [(-1.0, 1.0), (None, 1.0), (-1.0, None), (2.0, -1.0)]))
def test_clamp_number_bounds(x, bounds):
    gradcheck(lambda x: x.clamp(*bounds), [x])


@covers(ops.Clamp)
@GRAD_SETTINGS
@given(gen.distinct_triples(gen.shapes()), st.sampled_from(["both", "min", "max"]))
def test_clamp_tensor_bounds_get_gradients_too(triple, which):
    if which == "both":
        gradcheck(lambda x, lo, hi: x.clamp(lo, hi), list(triple))
    elif which == "min":
        gradcheck(lambda x, lo: x.clamp(min=lo), list(triple[:2]))
    else:
        gradcheck(lambda x, hi: F.clamp(x, max=hi), [triple[0], triple[2]])


@covers(ops.Minimum, ops.Maximum)
@GRAD_SETTINGS
@given(gen.distinct_triples(gen.shapes()))
def test_minimum_maximum(triple):
    x, y, _ = triple
    gradcheck(lambda x, y: x.minimum(y), [x, y])
    gradcheck(lambda x, y: F.maximum(x, y), [x, y])
    gradcheck(lambda x, y: x.maximum(y), [x, y.reshape(-1)[:1]])  # broadcast


@covers(ops.Remainder)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(lambda s: st.tuples(
    gen.away_from_steps_arrays(s[0], step=1.0), gen.away_from_zero_arrays(s[1], gap=0.5))))
def test_remainder_away_from_its_jumps(case):
    quotient, y = case  # x = quotient * y: x / y stays away from the integers (the jumps)
    x = np.broadcast_to(quotient * y, np.broadcast_shapes(quotient.shape, y.shape)).copy()
    gradcheck(lambda x, y: x % y, [x, y])
    gradcheck(lambda x: x % 7.0 + 0.5 % (x * x + 1.0), [x])  # |x| < 7, 0.5 < x^2 + 1


@covers(ops.FloorDivide)
def test_floor_divide_records_no_derivative_as_pytorch():
    from gradzoo.engine import tensor

    x = tensor([3.5, -3.5], requires_grad=True)
    y = x // 2
    assert y.requires_grad and y.tolist() == [1.0, -2.0]
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        y.sum().backward()


@covers(ops.Softplus, ops.LogSigmoid, ops.SiLU)
@GRAD_SETTINGS
@given(gen.away_from_steps_arrays(gen.shapes(), step=0.5, steps=8),
       st.sampled_from([(1.0, 20.0), (2.0, 1.0), (0.5, 0.5)]))
def test_softplus_logsigmoid_silu(x, beta_threshold):
    beta, threshold = beta_threshold  # the threshold's kink (beta x = threshold) stays out of reach
    gradcheck(lambda x: F.softplus(x, beta=beta, threshold=threshold), [x])
    gradcheck(F.logsigmoid, [x])
    gradcheck(F.silu, [x])


@covers(ops.LeakyReLU, ops.ELU, ops.Hardtanh)
@GRAD_SETTINGS
@given(gen.away_from_steps_arrays(gen.shapes(), step=1.0), st.sampled_from([0.01, 0.2, 2.0]))
def test_leaky_relu_elu_hardtanh_away_from_their_kinks(x, parameter):
    gradcheck(lambda x: F.leaky_relu(x, parameter), [x])
    gradcheck(lambda x: F.elu(x, alpha=parameter), [x])
    gradcheck(F.hardtanh, [x])
    gradcheck(lambda x: F.hardtanh(x, min_val=-2.0, max_val=1.0), [x])


# ---------------------------------------------------------------------- reductions


@covers(ops.Sum, ops.Mean)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.arrays(s), gen.reduce_dims(len(s)), st.booleans())))
def test_sum_mean(case):
    x, dim, keepdim = case
    gradcheck(lambda x: x.sum(dim=dim, keepdim=keepdim), [x])
    gradcheck(lambda x: x.mean(dim=dim, keepdim=keepdim), [x])


@covers(ops.Max, ops.Min)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.distinct_arrays(s), gen.reduce_dims(len(s)), st.booleans())))
def test_amax_amin_without_ties(case):
    x, dim, keepdim = case
    gradcheck(lambda x: x.amax(dim=dim, keepdim=keepdim), [x])
    gradcheck(lambda x: x.amin(dim=dim, keepdim=keepdim), [x])


@covers(ops.TakeAlong)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.distinct_arrays(s), gen.dims(len(s)), st.booleans())))
def test_values_picked_along_a_dim(case):
    """max/min with a dim, sort, topk, median, kthvalue: each value's gradient goes home."""
    x, dim, keepdim = case
    size = x.shape[dim] if x.ndim else 1
    gradcheck(lambda x: x.max(dim=dim, keepdim=keepdim).values, [x])
    gradcheck(lambda x: x.min(dim, keepdim).values, [x])
    gradcheck(lambda x: x.sort(dim=dim, descending=keepdim).values, [x])
    gradcheck(lambda x: x.topk(max(size - 1, 1), dim=dim, largest=keepdim).values, [x])
    gradcheck(lambda x: x.median(dim=dim, keepdim=keepdim).values, [x])
    gradcheck(lambda x: x.kthvalue(size, dim=dim).values, [x])


def _some_zeros(shape):
    """Arrays in which exact zeros are common: where a product's gradient needs care."""
    return hnp.arrays(np.float64, shape, elements=st.one_of(st.just(0.0), gen.floats()))


@covers(ops.Prod)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(
    _some_zeros(s), st.one_of(st.none(), gen.dims(len(s))), st.booleans())))
def test_prod_with_zeros(case):
    x, dim, keepdim = case  # a polynomial: finite differences are right at zeros too
    gradcheck(lambda x: x.prod(dim=dim, keepdim=keepdim), [x])


@covers(ops.Var, ops.Std)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(
    gen.distinct_arrays(s), gen.reduce_dims(len(s)), st.booleans(), st.sampled_from([0, 1]))))
def test_var_std(case):
    x, dim, keepdim, correction = case
    assume(_count(x.shape, dim) > correction)
    gradcheck(lambda x: x.var(dim=dim, keepdim=keepdim, correction=correction), [x])
    gradcheck(lambda x: x.std(dim=dim, keepdim=keepdim, correction=correction), [x])


def _count(shape, dim):
    axes = reduce.normalize_dims(dim, len(shape))
    return reduce.count(shape, axes)


@covers(ops.LogSumExp)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(
    gen.arrays(s, -3.0, 3.0), gen.reduce_dims(len(s)), st.booleans())))
def test_logsumexp(case):
    x, dim, keepdim = case
    gradcheck(lambda x: x.logsumexp(dim=dim, keepdim=keepdim), [x])


def _distinct_sizes_both_signs(shape):
    """Values whose sizes |x| all differ (no ties for the inf-norm), of both signs."""
    def spread(a):
        signs = np.where(np.arange(a.size).reshape(a.shape) % 2 == 0, 1.0, -1.0)
        return signs * (a + 10.0)
    return gen.distinct_arrays(shape).map(spread)


@covers(ops.Norm)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(
    _distinct_sizes_both_signs(s), gen.reduce_dims(len(s)), st.booleans(),
    st.sampled_from([1, 2, 3, 0.5, float("inf"), -float("inf"), 0, "fro"]))))
def test_norm(case):
    x, dim, keepdim, p = case
    gradcheck(lambda x: x.norm(p=p, dim=dim, keepdim=keepdim), [x])


@covers(ops.CumSum, ops.CumProd)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(_some_zeros(s), gen.dims(len(s)))))
def test_cumsum_cumprod_with_zeros(case):
    x, dim = case
    gradcheck(lambda x: x.cumsum(dim), [x])
    gradcheck(lambda x: x.cumprod(dim=dim), [x])


# ---------------------------------------------------------------------- shapes and indexing


@covers(ops.Reshape)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.reshape_targets(s))))
def test_reshape(case):
    x, target = case
    gradcheck(lambda x: x.reshape(target), [x])


@covers(ops.Transpose)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(
    lambda s: st.tuples(gen.arrays(s), gen.dims(len(s)), gen.dims(len(s)))))
def test_transpose(case):
    x, dim0, dim1 = case
    gradcheck(lambda x: x.transpose(dim0, dim1), [x])


@covers(ops.Permute)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.permutations(len(s)))))
def test_permute_and_T(case):
    x, dims = case
    gradcheck(lambda x: x.permute(*dims), [x])
    gradcheck(lambda x: x.T, [x])


@covers(ops.GetItem)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.index_expressions(s))))
def test_getitem(case):
    x, index = case
    gradcheck(lambda x: x[index], [x])


@covers(ops.GetItem)
def test_getitem_repeated_integers_add_up():
    report = gradcheck(lambda x: x[[0, 2, 0, 0]] * x[np.array([[2, 2]])].sum(), [[1.0, 2.0, 3.0]])
    assert report.inputs[0].checked == 3


@covers(ops.Concat)
@GRAD_SETTINGS
@given(gen.concat_inputs())
def test_concat(case):
    pieces, dim = case
    gradcheck(lambda *xs: F.concat(xs, dim=dim), pieces)


@covers(ops.Stack)
@GRAD_SETTINGS
@given(gen.stack_inputs())
def test_stack(case):
    pieces, dim = case
    gradcheck(lambda *xs: F.stack(xs, dim=dim), pieces)


@covers(ops.Where)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(3).flatmap(lambda s: st.tuples(
    gen.boolean_arrays(s[0]), gen.arrays(s[1]), gen.arrays(s[2]))))
def test_where_broadcast(case):
    cond, a, b = case
    gradcheck(lambda a, b: F.where(cond, a, b), [a, b])
    gradcheck(lambda a: F.where(cond, a, 0.5), [a])


# ---- indexing, masks and padding ----


@covers(ops.Gather, ops.ScatterAdd)
@GRAD_SETTINGS
@given(gen.along_dim_inputs())
def test_gather_and_scatter_add_repeated_indices(case):
    x, dim, index, src = case
    gradcheck(lambda x: F.gather(x, dim, index), [x])
    gradcheck(lambda x, src: F.scatter_add(x, dim, index, src), [x, src])


@covers(ops.Scatter)
@GRAD_SETTINGS
@given(gen.along_dim_inputs(distinct=True))
def test_scatter_tensor_and_value(case):
    x, dim, index, src = case
    gradcheck(lambda x, src: F.scatter(x, dim, index, src), [x, src])
    gradcheck(lambda x: F.scatter(x, dim, index, value=0.5), [x])


@covers(ops.IndexSelect, ops.ScatterAdd)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s), gen.dims(len(s)), st.lists(st.integers(0, 2), min_size=1, max_size=4))))
def test_index_select_and_index_add(case):
    x, dim, positions = case
    index = np.array(positions) % x.shape[dim]
    gradcheck(lambda x: F.index_select(x, dim, index), [x])
    source_shape = list(x.shape)
    source_shape[dim] = len(index)  # one slice of source per position of index
    source = np.linspace(0.5, 1.5, int(np.prod(source_shape))).reshape(source_shape)
    gradcheck(lambda x, s: F.index_add(x, dim, index, s, alpha=2.0), [x, source])


@covers(ops.MaskedSelect, ops.Where)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(lambda s: st.tuples(
    gen.arrays(s[0]), gen.boolean_arrays(s[1]))))
def test_masked_select_and_masked_fill_broadcast(case):
    x, mask = case
    gradcheck(lambda x: F.masked_select(x, mask), [x])
    gradcheck(lambda x: F.masked_fill(x, mask, -1.5), [x])
    gradcheck(lambda x, value: F.masked_fill(x, mask, value), [x, np.array(0.25)])


@covers(ops.Where)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=2).flatmap(lambda s: st.tuples(gen.arrays(s), st.integers(-2, 2))))
def test_tril_triu(case):
    x, diagonal = case
    gradcheck(lambda x: F.tril(x, diagonal), [x])
    gradcheck(lambda x: x.triu(diagonal), [x])


@covers(ops.Pad)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@GRAD_SETTINGS
@given(data=st.data())
def test_pad(mode, data):
    x, pad = data.draw(gen.pad_inputs(mode))
    gradcheck(lambda x: F.pad(x, pad, mode=mode, value=None if mode != "constant" else 0.5), [x])


# ---------------------------------------------------------------------- linear algebra


@covers(ops.MatMul)
@GRAD_SETTINGS
@given(gen.matmul_pairs())
def test_matmul_vectors_matrices_and_batches(pair):
    gradcheck(lambda a, b: a @ b, pair)


@covers(ops.Linear)
@FEW
@given(gen.shapes(min_dims=1, max_dims=3), gen.sides(), st.booleans())
def test_linear(batch, out_features, with_bias):
    in_features = batch[-1]
    weight = np.linspace(-1, 1, out_features * in_features).reshape(out_features, in_features)
    x, bias = np.cos(np.arange(np.prod(batch))).reshape(batch), np.ones(out_features)
    if with_bias:
        gradcheck(lambda x, w, b: F.linear(x, w, b), [x, weight, bias])
    else:
        gradcheck(lambda x, w: F.linear(x, w), [x, weight])


@covers(ops.MatMul, ops.Add, ops.Permute)
def test_linear_composed():
    rng = np.random.default_rng(3)
    x, weight, bias = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), np.ones(5)
    gradcheck(lambda x, w, b: ops.linear_composed(x, w, b), [x, weight, bias])


# ---------------------------------------------------------------------- recurrent cells


def _cell_inputs(rng, leading, input_size, hidden, gates, with_bias):
    shapes = [leading + (input_size,), leading + (hidden,)]
    shapes += [leading + (hidden,)] * (gates == 4)  # the LSTM's cell state c
    shapes += [(gates * hidden, input_size), (gates * hidden, hidden)]
    shapes += [(gates * hidden,)] * (2 * with_bias)
    return [rng.standard_normal(shape) for shape in shapes]


@covers(ops.LSTMCell)
@FEW
@given(st.sampled_from([(), (1,), (3,), (2, 2)]), st.integers(1, 3), st.integers(1, 3),
       st.booleans(), st.integers(0, 2**16))
def test_lstm_cell(leading, input_size, hidden, with_bias, seed):
    inputs = _cell_inputs(np.random.default_rng(seed), leading, input_size, hidden, 4, with_bias)
    gradcheck(lambda *t: ops.LSTMCell.apply(*t, has_bias=with_bias), inputs)


@covers(ops.GRUCell)
@FEW
@given(st.sampled_from([(), (1,), (3,), (2, 2)]), st.integers(1, 3), st.integers(1, 3),
       st.booleans(), st.integers(0, 2**16))
def test_gru_cell(leading, input_size, hidden, with_bias, seed):
    inputs = _cell_inputs(np.random.default_rng(seed), leading, input_size, hidden, 3, with_bias)
    gradcheck(lambda *t: ops.GRUCell.apply(*t, has_bias=with_bias), inputs)


# ---------------------------------------------------------------------- softmax family


@covers(ops.Softmax, ops.LogSoftmax)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(
    lambda s: st.tuples(gen.arrays(s, -3.0, 3.0), gen.dims(len(s)))))
def test_softmax_log_softmax(case):
    x, dim = case
    gradcheck(lambda x: F.softmax(x, dim=dim), [x])
    gradcheck(lambda x: F.log_softmax(x, dim=dim), [x])


@covers(ops.LayerNorm)
@pytest.mark.parametrize("with_weight, with_bias",
                         [(False, False), (True, False), (False, True), (True, True)])
@FEW
@given(gen.layer_norm_inputs())
def test_layer_norm(with_weight, with_bias, case):
    x, normalized_shape, weight, bias = case
    affine = [a for a, used in ((weight, with_weight), (bias, with_bias)) if used]

    def layer_norm(x, *params):
        params = list(params)
        w = params.pop(0) if with_weight else None
        b = params.pop(0) if with_bias else None
        return F.layer_norm(x, normalized_shape, w, b)

    gradcheck(layer_norm, [x, *affine])


@covers(ops.CrossEntropy)
@GRAD_SETTINGS
@given(gen.cross_entropy_inputs())
def test_cross_entropy_with_ignore_index(case):
    logits, target, ignore_index = case
    gradcheck(lambda z: F.cross_entropy(z, target, ignore_index=ignore_index), [logits])


@covers(ops.MSELoss)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.arrays(s))))
def test_mse_loss(pair):
    gradcheck(F.mse_loss, pair)


# ---------------------------------------------------------------------- lookup and noise


@covers(ops.Embedding)
@GRAD_SETTINGS
@given(gen.embedding_inputs())
def test_embedding_repeated_ids(case):
    weight, idx = case
    gradcheck(lambda w: F.embedding(idx, w), [weight])


@covers(ops.Dropout)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes()), st.sampled_from([0.2, 0.5, 0.8]), st.integers(0, 2**16))
def test_dropout_with_a_fixed_mask(x, p, seed):
    def dropout(x):
        backend.manual_seed(seed)  # the same mask on every call gradcheck makes
        return F.dropout(x, p, training=True)

    gradcheck(dropout, [x])


# ---------------------------------------------------------------------- attention


@covers(ops.ScaledDotProductAttention)
@pytest.mark.parametrize("mask_kind", gen.MASK_KINDS)
@FEW
@given(data=st.data())
def test_scaled_dot_product_attention(mask_kind, data):
    q, k, v, mask, is_causal = data.draw(gen.attention_inputs(mask_kind))
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                             is_causal=is_causal), [q, k, v])


@covers(ops.ScaledDotProductAttention)
def test_attention_heads_broadcast_over_a_shared_key_value():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 3, 4, 5))  # (batch, heads, L, E)
    k, v = rng.standard_normal((1, 3, 6, 5)), rng.standard_normal((6, 2))
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v])


# ---------------------------------------------------------------------- graphs


@covers(ops.Mul, ops.Exp, ops.Add, ops.Sum, ops.Mean)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes(min_dims=1)))
def test_tensors_used_by_several_ops(x):
    def graph(x):
        h = x * 2.0  # an intermediate used four times: its gradients must add up
        return (h * h + h.exp() + x).sum(dim=0) * h.mean()

    gradcheck(graph, [x])


# ---------------------------------------------------------------------- casts, spellings and layout


@covers(ops.Cast)
@GRAD_SETTINGS
@given(gen.arrays(gen.shapes()))
def test_cast_float64_to_float32_and_back(x):
    # float32 rounds x +- eps: a larger step keeps the difference quotient accurate
    gradcheck(lambda x: x.float().double() ** 2, [x], eps=1e-3)
    gradcheck(lambda x: x.to("float32").to(x) * x, [x], eps=1e-3)


@covers(ops.Cast)
def test_cast_to_another_device_carries_the_gradient_back(fake_gpu):
    from gradzoo.engine import tensor

    x = tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), dtype="float64", device="cpu")
    report = gradcheck(lambda x: x.to("gpu").exp().to("cpu"), [x])
    assert report.inputs[0].checked == 6


@covers(ops.Clone)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.permutations(len(s)))))
def test_clone_and_contiguous(case):
    x, dims = case
    gradcheck(lambda x: x.clone() * x, [x])
    gradcheck(lambda x: x.permute(*dims).contiguous() * 2.0, [x])


@covers(ops.Expand)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.expand_targets(s))))
def test_expand(case):
    x, sizes = case
    gradcheck(lambda x: x.expand(*sizes) * 1.5, [x])


@covers(ops.Repeat)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.repeat_counts(len(s)))))
def test_repeat(case):
    x, counts = case
    if counts:
        gradcheck(lambda x: x.repeat(*counts), [x])


@covers(ops.Flip)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.flip_dims(len(s)))))
def test_flip(case):
    x, dims = case
    gradcheck(lambda x: x.flip(dims), [x])


@covers(ops.RoundedDivide)
@GRAD_SETTINGS
@given(gen.broadcastable_shapes(2).flatmap(gen.quotient_pairs),
       st.sampled_from(["floor", "trunc"]))
def test_rounded_divide_has_a_zero_gradient(pair, rounding_mode):
    report = gradcheck(lambda x, y: x.div(y, rounding_mode=rounding_mode), pair)
    assert report.max_abs_error == 0.0  # both gradients are exactly zero


@covers(ops.GetItem)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s), gen.dims(len(s)), gen.sides(1, 4))))
def test_split_and_chunk_pieces_carry_their_gradients(case):
    x, dim, size = case
    gradcheck(lambda x: F.cat([p * (i + 1.0) for i, p in enumerate(x.split(size, dim))], dim), [x])
    gradcheck(lambda x: F.cat([p * (i + 1.0) for i, p in enumerate(x.chunk(size, dim))], dim), [x])


# ---------------------------------------------------------------------- losses (issue 14)


LOSS_REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@covers(ops.BinaryCrossEntropy)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s, 0.05, 0.95), gen.arrays(s, 0.0, 1.0), gen.arrays(s, 0.5, 2.0))),
    LOSS_REDUCTIONS)
def test_binary_cross_entropy(case, reduction):
    x, t, weight = case
    gradcheck(lambda x, t: F.binary_cross_entropy(x, t, reduction=reduction), [x, t])
    gradcheck(lambda x: F.binary_cross_entropy(x, t, weight=weight, reduction=reduction), [x])


@covers(ops.BinaryCrossEntropyWithLogits)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s, -4.0, 4.0), gen.arrays(s, 0.0, 1.0), gen.arrays(s[-1:], 0.5, 3.0))),
    LOSS_REDUCTIONS)
def test_binary_cross_entropy_with_logits(case, reduction):
    z, t, pos_weight = case
    gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction=reduction),
              [z, t])
    gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(
        z, t, weight=pos_weight, pos_weight=pos_weight, reduction=reduction), [z, t])


@covers(ops.CrossEntropy)
@GRAD_SETTINGS
@given(gen.cross_entropy_inputs(), LOSS_REDUCTIONS, st.sampled_from([0.0, 0.1, 0.5]),
       st.booleans())
def test_cross_entropy_weight_reduction_label_smoothing(case, reduction, smoothing, weighted):
    logits, target, ignore_index = case
    weight = np.linspace(0.5, 2.0, logits.shape[-1]) if weighted else None
    gradcheck(lambda z: F.cross_entropy(z, target, weight=weight, ignore_index=ignore_index,
                                        reduction=reduction, label_smoothing=smoothing),
              [logits])


@covers(ops.LogSoftmax)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s, -3.0, 3.0), gen.arrays(s, 0.0, 1.0))), LOSS_REDUCTIONS)
def test_cross_entropy_probability_targets(case, reduction):
    logits, probabilities = case
    gradcheck(lambda z, p: F.cross_entropy(z, p, reduction=reduction, label_smoothing=0.1),
              [logits, probabilities])


@covers(ops.MSELoss)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(gen.arrays(s), gen.arrays(s))), LOSS_REDUCTIONS)
def test_mse_loss_reductions(pair, reduction):
    gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), pair)


@covers(ops.GetItem)
@GRAD_SETTINGS
@given(st.sampled_from([(4,), (3, 4), (2, 4, 3), (2, 4, 2, 2)]), LOSS_REDUCTIONS,
       st.integers(0, 2**16))
def test_nll_loss_classes_on_dim_1(shape, reduction, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = rng.integers(0, 4, target_shape)
    weight = np.array([1.0, 2.0, 0.5, 1.5])
    gradcheck(lambda x: F.nll_loss(x, target, weight=weight, reduction=reduction), [x])


@covers(ops.Where)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(lambda s: st.tuples(
    gen.away_from_zero_arrays(s, gap=0.3), gen.arrays(s))), LOSS_REDUCTIONS)
def test_l1_smooth_l1_huber_away_from_kinks(case, reduction):
    diff, target = case
    diff = np.where(np.abs(np.abs(diff) - 0.7) < 0.1, diff * 2.0, diff)  # away from |d| = beta
    x = target + diff
    gradcheck(lambda x, t: F.l1_loss(x, t, reduction=reduction), [x, target])
    gradcheck(lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=0.7), [x, target])
    gradcheck(lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=0.7), [x, target])


@covers(ops.Where)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=1).flatmap(lambda s: st.tuples(
    gen.arrays(s, -3.0, -0.1), gen.arrays(s, 0.1, 1.0))),
    st.sampled_from(["mean", "sum", "none", "batchmean"]))
def test_kl_div(case, reduction):
    log_probs, target = case
    gradcheck(lambda x, t: F.kl_div(x, t, reduction=reduction), [log_probs, target])
    gradcheck(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=True),
              [log_probs, np.log(target)])


@covers(ops.MatMul, ops.Permute)
@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,i->", [(3,), (3,)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,kj", [(2, 3), (4, 3)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
])
def test_einsum_contractions(equation, shapes):
    rng = np.random.default_rng(4)
    gradcheck(lambda *xs: F.einsum(equation, *xs), [rng.standard_normal(s) for s in shapes])


@covers(ops.ScaledDotProductAttention)
@pytest.mark.parametrize("mask_shape", [(4, 6), (3, 1, 6), (2, 3, 4, 6)])
def test_attention_float_mask_gets_its_gradient(mask_shape):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2)])
    mask = rng.standard_normal(mask_shape)
    gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
              [q, k, v, mask])
    gradcheck(lambda m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.5), [mask])


# ---------------------------------------------------------------------- convolution (issue 15)


@covers(ops.Conv2d)
@FEW
@given(gen.conv2d_inputs(), st.booleans())
def test_conv2d(case, with_bias):
    x, weight, bias, stride, padding, _ = case
    if with_bias:
        gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
                  [x, weight, bias])
    else:
        gradcheck(lambda x, w: F.conv2d(x, w, stride=stride, padding=padding), [x, weight])


@covers(ops.ConvTranspose2d)
@FEW
@given(gen.conv2d_inputs(transposed=True), st.booleans())
def test_conv_transpose2d(case, with_bias):
    x, weight, bias, stride, padding, output_padding = case
    params = {"stride": stride, "padding": padding, "output_padding": output_padding}
    if with_bias:
        gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **params), [x, weight, bias])
    else:
        gradcheck(lambda x, w: F.conv_transpose2d(x, w, **params), [x, weight])


@covers(ops.Conv2d)
@FEW
@given(gen.arrays((2, 3, 7)), gen.arrays((2, 3, 3)), gen.arrays((2,)), gen.sides(1, 3),
       st.integers(0, 2))
def test_conv1d(x, weight, bias, stride, padding):
    gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=padding),
              [x, weight, bias])


# ---------------------------------------------------------------------- pooling and upsampling


@covers(ops.MaxPool2d, ops.AvgPool2d)
@GRAD_SETTINGS
@given(gen.pool2d_inputs())
def test_max_pool2d_and_avg_pool2d(case):
    x, kernel, stride, padding = case
    gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [x])
    gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding), [x])


@covers(ops.MaxPool2d, ops.AvgPool2d)
def test_pooling_one_picture_and_its_composed_twins():
    x = np.random.default_rng(6).permutation(30).reshape(2, 3, 5) * 0.1
    gradcheck(lambda x: F.max_pool2d(x, 2, 1), [x])   # (C, H, W): a batch of one
    gradcheck(lambda x: F.avg_pool2d(x, (1, 3), 2, (0, 1)), [x])
    x4 = x.reshape(1, 2, 3, 5)
    gradcheck(lambda x: ops.max_pool2d_composed(x, 3, 2, 1), [x4])
    gradcheck(lambda x: ops.avg_pool2d_composed(x, 2, 1, 1), [x4])


@covers(ops.UpsampleNearest)
@GRAD_SETTINGS
@given(gen.shapes(min_dims=3, max_dims=5, max_side=3).flatmap(lambda s: st.tuples(
    gen.arrays(s), st.tuples(*[gen.sides(1, 3)] * (len(s) - 2)))))
def test_interpolate_nearest(case):
    x, factors = case
    gradcheck(lambda x: F.interpolate(x, scale_factor=factors), [x])
    gradcheck(lambda x: F.interpolate(x, scale_factor=factors[0]), [x])
    gradcheck(lambda x: ops.upsample_nearest_composed(x, factors), [x])


# ---------------------------------------------------------------------- normalisation (images)


@covers(ops.GroupNorm)
@pytest.mark.parametrize("with_weight, with_bias",
                         [(False, False), (True, False), (False, True), (True, True)])
@FEW
@given(gen.group_norm_inputs())
def test_group_norm(with_weight, with_bias, case):
    x, num_groups, weight, bias = case
    affine = [a for a, used in ((weight, with_weight), (bias, with_bias)) if used]

    def group_norm(x, *params):
        params = list(params)
        w = params.pop(0) if with_weight else None
        b = params.pop(0) if with_bias else None
        return F.group_norm(x, num_groups, w, b, eps=1e-3)

    gradcheck(group_norm, [x, *affine])
    gradcheck(lambda x, w, b: ops.group_norm_composed(x, num_groups, w, b), [x, weight, bias])


@covers(ops.BatchNorm)
@pytest.mark.parametrize("training", [True, False])
@FEW
@given(gen.batch_norm_inputs(), st.booleans())
def test_batch_norm(training, case, affine):
    from gradzoo.engine import tensor

    x, weight, bias, running_mean, running_var = case

    def batch_norm(x, *params):  # fresh running estimates each call: training moves them
        mean, var = (tensor(a, dtype="float64") for a in (running_mean, running_var))
        return F.batch_norm(x, mean, var, *params, training=training, momentum=0.3)

    gradcheck(batch_norm, [x, weight, bias] if affine else [x])
    if training:  # no running estimates at all: the batch's statistics only
        gradcheck(lambda x, w: F.batch_norm(x, None, None, w, training=True), [x, weight])
