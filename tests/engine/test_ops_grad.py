"""Every op's analytic backward against finite differences (``gradcheck``), on drawn shapes.

Each test says which ops it exercises with ``@covers(...)``, and checks that
they really ran; ``test_every_op_has_a_gradient_case`` fails as soon as an op
of ``gradzoo.engine.ops`` has no test here, so a new op cannot skip gradcheck.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradzoo.engine import F, backend, gradcheck, ops
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


# ---------------------------------------------------------------------- reductions


@covers(ops.Sum, ops.Mean)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.arrays(s), gen.reduce_dims(len(s)), st.booleans())))
def test_sum_mean(case):
    x, dim, keepdim = case
    gradcheck(lambda x: x.sum(dim=dim, keepdim=keepdim), [x])
    gradcheck(lambda x: x.mean(dim=dim, keepdim=keepdim), [x])


@covers(ops.Max)
@GRAD_SETTINGS
@given(gen.shapes().flatmap(
    lambda s: st.tuples(gen.distinct_arrays(s), gen.reduce_dims(len(s)), st.booleans())))
def test_max_without_ties(case):
    x, dim, keepdim = case
    gradcheck(lambda x: x.max(dim=dim, keepdim=keepdim), [x])


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
