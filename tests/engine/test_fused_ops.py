"""Each fused op against its composed twin: the same values, the same gradients, on every device.

A fused op writes its forward and backward out by hand, in place where it can,
with NumPy tricks and (on a real GPU) CUDA kernels registered as overrides of
its array functions. Its twin, ``Op.composed``, sits in the same file, built from
the small ops and differentiated by the engine, with the same signature as the
op's functional form. Every op of ``gradzoo.engine.ops`` is either elementary
(``ELEMENTARY_OPS``) or has a twin, and every twin is compared here (``CASES``).
Run on every device (``device`` fixture), so the kernels are compared too where
a GPU is present.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import F, backend, nn, ops, tensor
from gradzoo.engine.ops import cross_entropy, gelu, layer_norm, softmax
from tests import fakecupy
from tests.engine.op_catalog import engine_ops, recording_ops

DTYPES = [("float64", 1e-10), ("float32", 2e-5)]

# Ops that are one formula each, with nothing smaller to compose them from.
ELEMENTARY_OPS = {
    ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Neg, ops.Pow,
    ops.Exp, ops.Log, ops.Tanh, ops.Sigmoid, ops.ReLU,
    ops.Abs, ops.Sqrt, ops.Rsqrt, ops.Sin, ops.Cos, ops.Log1p, ops.Expm1, ops.Erf,
    ops.Sign, ops.Floor, ops.Ceil, ops.Round, ops.Clamp, ops.Minimum, ops.Maximum,
    ops.FloorDivide, ops.Remainder,
    ops.Softplus, ops.LeakyReLU, ops.ELU, ops.SiLU, ops.Hardtanh, ops.LogSigmoid,
    ops.Sum, ops.Mean, ops.Max,
    ops.Min, ops.Prod, ops.Norm, ops.CumSum, ops.CumProd, ops.TakeAlong,
    ops.Reshape, ops.Transpose, ops.Permute, ops.GetItem, ops.Concat, ops.Stack, ops.Where,
    ops.MatMul, ops.Embedding, ops.Dropout,
    ops.Gather, ops.Scatter, ops.ScatterAdd, ops.IndexSelect, ops.MaskedSelect, ops.Pad,
    ops.Cast, ops.Clone, ops.Expand, ops.Repeat, ops.Flip, ops.RoundedDivide,
    ops.BinaryCrossEntropy, ops.BinaryCrossEntropyWithLogits,  # one (clamped, stable) formula
}

# A query row that may see no key (row 1), and one that sees a single key (row 3).
BLIND_ROW_MASK = np.array([[True, False, True, False, True, True],
                           [False] * 6,
                           [True] * 6,
                           [False, False, False, True, False, False]])
RNG = np.random.default_rng(5)


def _lstm(*t):
    return ops.LSTMCell.apply(*t, has_bias=len(t) == 7)


def _gru(*t):
    return ops.GRUCell.apply(*t, has_bias=len(t) == 6)


def _layer_norm(x, *affine, **kwargs):
    return F.layer_norm(x, kwargs.pop("normalized_shape"), *affine, **kwargs)


def _layer_norm_twin(x, *affine, **kwargs):
    return ops.LayerNorm.composed(x, kwargs.pop("normalized_shape"), *affine, **kwargs)


def _group_norm(x, *affine, num_groups, **kwargs):  # (x, weight, bias) as the case's inputs
    return F.group_norm(x, num_groups, *affine, **kwargs)


def _group_norm_twin(x, *affine, num_groups, **kwargs):
    return ops.GroupNorm.composed(x, num_groups, *affine, **kwargs)


def _batch_norm(x, *affine, running_mean=None, running_var=None, **kwargs):
    return F.batch_norm(x, running_mean, running_var, *affine, **kwargs)


def _batch_norm_twin(x, *affine, running_mean=None, running_var=None, **kwargs):
    return ops.BatchNorm.composed(x, running_mean, running_var, *affine, **kwargs)


# name: (op, its functional form, input shapes, keyword arguments (numpy arrays: tensors))
CASES = {
    "linear": (ops.Linear, F.linear, [(2, 3, 4), (5, 4), (5,)], {}),
    "linear 1-D, no bias": (ops.Linear, F.linear, [(4,), (3, 4)], {}),
    "softmax": (ops.Softmax, F.softmax, [(3, 4, 5)], {}),
    "softmax dim 0": (ops.Softmax, F.softmax, [(3, 4, 5)], {"dim": 0}),
    "softmax dim 1": (ops.Softmax, F.softmax, [(3, 4, 5)], {"dim": 1}),
    "log_softmax": (ops.LogSoftmax, F.log_softmax, [(3, 4, 5)], {}),
    "log_softmax dim 0": (ops.LogSoftmax, F.log_softmax, [(3, 4, 5)], {"dim": 0}),
    "layer_norm": (ops.LayerNorm, _layer_norm, [(3, 4, 5), (5,), (5,)],
                   {"normalized_shape": 5}),
    "layer_norm two dims": (ops.LayerNorm, _layer_norm, [(3, 4, 5), (4, 5), (4, 5)],
                            {"normalized_shape": (4, 5), "eps": 1e-3}),
    "layer_norm no affine": (ops.LayerNorm, _layer_norm, [(3, 4, 5)],
                             {"normalized_shape": [5]}),
    "layer_norm weight only": (ops.LayerNorm, _layer_norm, [(3, 4, 5), (5,)],
                               {"normalized_shape": (5,)}),
    "cross_entropy": (ops.CrossEntropy, F.cross_entropy, [(4, 5)],
                      {"target": np.array([1, 0, 4, 4])}),
    "cross_entropy ignore_index": (ops.CrossEntropy, F.cross_entropy, [(2, 3, 5)],
                                   {"target": np.array([[1, -100, 4], [0, 2, 4]])}),
    "cross_entropy other ignore_index": (ops.CrossEntropy, F.cross_entropy, [(3, 5)],
                                         {"target": np.array([1, 3, 4]), "ignore_index": 3}),
    "mse_loss": (ops.MSELoss, F.mse_loss, [(2, 3), (2, 3)], {}),
    "mse_loss sum": (ops.MSELoss, F.mse_loss, [(2, 3), (2, 3)], {"reduction": "sum"}),
    "mse_loss none": (ops.MSELoss, F.mse_loss, [(2, 3), (2, 3)], {"reduction": "none"}),
    "cross_entropy weight, sum": (ops.CrossEntropy, F.cross_entropy, [(2, 3, 5)],
                                  {"target": np.array([[1, -100, 4], [0, 2, 4]]),
                                   "weight": np.array([1.0, 2.0, 0.5, 3.0, 1.5]),
                                   "reduction": "sum"}),
    "cross_entropy weight, label_smoothing": (
        ops.CrossEntropy, F.cross_entropy, [(4, 5)],
        {"target": np.array([1, 0, -100, 4]), "weight": np.array([1.0, 2.0, 0.5, 3.0, 1.5]),
         "label_smoothing": 0.2}),
    "cross_entropy label_smoothing, none": (
        ops.CrossEntropy, F.cross_entropy, [(2, 3, 5)],
        {"target": np.array([[1, -100, 4], [0, 2, 4]]), "label_smoothing": 0.1,
         "reduction": "none"}),
    "attention": (ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
                  [(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)], {}),
    "attention causal": (ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
                         [(2, 3, 6, 8), (2, 3, 6, 8), (2, 3, 6, 5)], {"is_causal": True}),
    "attention bool mask, a blind query": (
        ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
        [(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)], {"attn_mask": BLIND_ROW_MASK}),
    "attention float mask": (ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
                             [(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)],
                             {"attn_mask": RNG.standard_normal((4, 6))}),
    "attention float mask with -inf rows, causal folded in": (  # is_causal + a mask: refused
        ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
        [(2, 4, 8), (2, 4, 8), (2, 4, 5)],
        {"attn_mask": np.where(BLIND_ROW_MASK[:, :4] & np.tri(4, dtype=bool), 0.5, -np.inf)}),
    "attention scale": (ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
                        [(2, 4, 8), (2, 6, 8), (2, 6, 5)], {"is_causal": True, "scale": 0.3}),
    "attention padding mask, broadcast batch": (
        ops.ScaledDotProductAttention, F.scaled_dot_product_attention,
        [(2, 2, 3, 4), (1, 5, 4), (2, 1, 5, 3)],
        {"attn_mask": np.array([[[[True, True, False, True, False]]],
                                [[[False] * 5]]])}),
    "gelu": (ops.GELU, F.gelu, [(3, 70)], {}),
    "gelu tanh": (ops.GELU, F.gelu, [(3, 7)], {"approximate": "tanh"}),
    "lstm cell": (ops.LSTMCell, _lstm, [(3, 4), (3, 2), (3, 2), (8, 4), (8, 2), (8,), (8,)], {}),
    "lstm cell no bias, 1-D": (ops.LSTMCell, _lstm, [(4,), (2,), (2,), (8, 4), (8, 2)], {}),
    "gru cell": (ops.GRUCell, _gru, [(3, 4), (3, 2), (6, 4), (6, 2), (6,), (6,)], {}),
    "gru cell no bias": (ops.GRUCell, _gru, [(2, 3, 4), (2, 3, 2), (6, 4), (6, 2)], {}),
    "var": (ops.Var, lambda x, **kw: x.var(**kw), [(3, 4, 5)], {}),
    "var dims, keepdim, correction 0": (ops.Var, lambda x, **kw: x.var(**kw), [(3, 4, 5)],
                                        {"dim": (0, 2), "keepdim": True, "correction": 0}),
    "std": (ops.Std, lambda x, **kw: x.std(**kw), [(3, 4, 5)], {"dim": 1}),
    "std keepdim": (ops.Std, lambda x, **kw: x.std(**kw), [(3, 4)],
                    {"dim": -1, "keepdim": True, "correction": 2}),
    "logsumexp": (ops.LogSumExp, lambda x, **kw: x.logsumexp(**kw), [(3, 4, 5)], {"dim": -1}),
    "logsumexp dims, keepdim": (ops.LogSumExp, lambda x, **kw: x.logsumexp(**kw), [(3, 4, 5)],
                                {"dim": (0, 2), "keepdim": True}),
    "max_pool2d": (ops.MaxPool2d, F.max_pool2d, [(2, 3, 7, 6)], {"kernel_size": 2}),
    "max_pool2d overlapping, padded": (ops.MaxPool2d, F.max_pool2d, [(1, 2, 7, 5)],
                                       {"kernel_size": (3, 2), "stride": (2, 1),
                                        "padding": (1, 1)}),
    "avg_pool2d": (ops.AvgPool2d, F.avg_pool2d, [(2, 3, 6, 7)], {"kernel_size": 3}),
    "avg_pool2d overlapping, padded": (ops.AvgPool2d, F.avg_pool2d, [(1, 2, 5, 6)],
                                       {"kernel_size": 3, "stride": 1, "padding": 1}),
    "interpolate nearest": (ops.UpsampleNearest, F.interpolate, [(2, 3, 4, 5)],
                            {"scale_factor": 2}),
    "interpolate nearest (2, 3)": (ops.UpsampleNearest, F.interpolate, [(1, 2, 3, 2)],
                                   {"scale_factor": (2, 3), "mode": "nearest"}),
    # ---- convolution (issue 15)
    "conv2d": (ops.Conv2d, F.conv2d, [(2, 3, 6, 5), (4, 3, 3, 3), (4,)], {"padding": 1}),
    "conv2d strided, no bias": (ops.Conv2d, F.conv2d, [(1, 2, 7, 6), (3, 2, 3, 2)],
                                {"stride": (2, 3), "padding": (0, 1)}),
    "conv_transpose2d": (ops.ConvTranspose2d, F.conv_transpose2d,
                         [(2, 3, 4, 3), (3, 2, 4, 4), (2,)], {"stride": 2, "padding": 1}),
    "conv_transpose2d odd, no bias": (ops.ConvTranspose2d, F.conv_transpose2d,
                                      [(1, 2, 3, 5), (2, 3, 3, 2)],
                                      {"stride": (3, 1), "padding": (1, 0),
                                       "output_padding": (2, 0)}),
    # ---- normalisation (issue 15)
    "group_norm": (ops.GroupNorm, _group_norm, [(2, 6, 5, 3), (6,), (6,)], {"num_groups": 3}),
    "group_norm one group, no affine": (ops.GroupNorm, _group_norm, [(1, 4, 3)],
                                        {"num_groups": 1, "eps": 1e-3}),
    "group_norm (N, C), weight only": (ops.GroupNorm, _group_norm, [(3, 4), (4,)],
                                       {"num_groups": 2}),
    "batch_norm training": (ops.BatchNorm, _batch_norm, [(4, 3, 5, 2), (3,), (3,)],
                            {"running_mean": np.zeros(3), "running_var": np.ones(3),
                             "training": True, "momentum": 0.2}),
    "batch_norm training, no estimates, (N, C)": (ops.BatchNorm, _batch_norm, [(5, 3)],
                                                  {"training": True, "eps": 1e-3}),
    "batch_norm eval": (ops.BatchNorm, _batch_norm, [(2, 3, 4), (3,), (3,)],
                        {"running_mean": np.array([0.5, -1.0, 2.0]),
                         "running_var": np.array([0.5, 2.0, 1.5])}),
}
TWINS = {ops.LayerNorm: _layer_norm_twin,  # where the twin takes the op's form differently
         ops.GroupNorm: _group_norm_twin, ops.BatchNorm: _batch_norm_twin}

# Phi is computed exactly (erf) by the fused op in float64 on the CPU, by Abramowitz &
# Stegun (error < 7.5e-8) in its twin: float64 agrees to that accuracy only.
LOOSER = {("gelu", "float64"): 1e-6}


def both_ways(fused, composed, shapes, dtype, device, seed=0, **kwargs):
    """Values and input gradients of ``fused`` and of ``composed`` on the same random inputs."""
    results = []
    for fn in (fused, composed):
        rng = np.random.default_rng(seed)
        inputs = [tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True,
                         device=device) for shape in shapes]
        out = fn(*inputs, **kwargs)
        weights = np.random.default_rng(seed + 1).standard_normal(out.shape)
        (out * tensor(weights, dtype=dtype, device=device)).sum().backward()
        results.append((out.numpy(), [x.grad.numpy() for x in inputs]))
    return results


def assert_same(results, tol):
    (out_a, grads_a), (out_b, grads_b) = results
    np.testing.assert_allclose(out_a, out_b, rtol=tol, atol=tol)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def on_device(kwargs, device):
    """The keyword arguments with their numpy arrays as tensors on ``device``."""
    return {name: tensor(value, device=device) if isinstance(value, np.ndarray) else value
            for name, value in kwargs.items()}


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_fused_op_equals_its_composed_twin(device, name, dtype, tol):
    op, fused, shapes, kwargs = CASES[name]
    twin = TWINS.get(op, op.composed)
    tol = LOOSER.get((name, dtype), tol)
    assert_same(both_ways(fused, twin, shapes, dtype, device, **on_device(kwargs, device)), tol)


def test_every_op_is_elementary_or_has_a_composed_twin():
    without = sorted(op.__name__ for op in engine_ops() - ELEMENTARY_OPS
                     if not callable(getattr(op, "composed", None)))
    assert not without, (
        f"ops neither elementary nor with a composed twin: {without}. Write the op's "
        f"composed twin (small Tensor ops only, the op's semantics) in its file and set "
        f"`composed = staticmethod(that_function)` on the class; or, if it is one formula "
        f"with nothing smaller to compose, add it to ELEMENTARY_OPS in {__file__}")
    twins_of_elementary = sorted(op.__name__ for op in ELEMENTARY_OPS if hasattr(op, "composed"))
    assert not twins_of_elementary, f"elementary ops with a twin: {twins_of_elementary}"


def test_every_twin_is_compared():
    """Each op with a twin has a case here, and each case's functional form runs that op."""
    fused_ops = {op for op in engine_ops() if hasattr(op, "composed")}
    uncompared = sorted(op.__name__ for op in fused_ops - {case[0] for case in CASES.values()})
    assert not uncompared, f"add a case to CASES in {__file__} for: {uncompared}"
    for name, (op, fused, shapes, kwargs) in CASES.items():
        inputs = [tensor(np.ones(shape), requires_grad=True) for shape in shapes]
        with recording_ops() as seen:
            fused(*inputs, **on_device(kwargs, "cpu"))
        assert seen == {op}, f"case {name!r} runs {seen}, not {op.__name__} alone"


def test_a_query_that_sees_no_key_gets_zeros_in_the_op_its_twin_and_the_module(device):
    q, k, v = (tensor(np.random.default_rng(i).standard_normal(shape), requires_grad=True)
               for i, shape in enumerate([(4, 8), (6, 8), (6, 5)]))
    mask = tensor(BLIND_ROW_MASK)
    for attend in (F.scaled_dot_product_attention, ops.ScaledDotProductAttention.composed):
        out = attend(q, k, v, attn_mask=mask)
        np.testing.assert_array_equal(out.numpy()[1], 0.0)
        assert np.isfinite(out.numpy()).all()
    attention = nn.MultiheadAttention(8, 2)
    x = tensor(np.random.default_rng(3).standard_normal((1, 4, 8)))
    key = tensor(np.random.default_rng(4).standard_normal((1, 6, 8)))
    weights = attention.attention_weights(x, key, attn_mask=mask).numpy()
    np.testing.assert_array_equal(weights[:, :, 1], 0.0)
    np.testing.assert_allclose(weights[:, :, [0, 2, 3]].sum(axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("cell_type", [nn.LSTMCell, nn.GRUCell])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_modules_fused_and_composed(device, cell_type, bias):
    """Three steps of each: every output and every parameter gradient agree."""
    results, weights = [], cell_type(3, 4, bias=bias, device=device).state_dict()
    for composed in (False, True):
        cell = cell_type(3, 4, bias=bias, device=device)
        cell.load_state_dict(weights)
        xs = tensor(np.random.default_rng(1).standard_normal((3, 2, 3)), device=device)
        step = cell.forward_composed if composed else cell
        state, outputs = None, []
        for t in range(3):
            state = step(xs[t], state)
            outputs += list(state) if isinstance(state, tuple) else [state]
        F.stack(outputs).sum().backward()
        results.append((F.stack(outputs).numpy(),
                        [p.grad.numpy() for p in cell.parameters()]))
    assert_same(results, 2e-5)


def test_lstm_cell_step_is_one_node_of_the_graph():
    cell = nn.LSTMCell(3, 4)
    h, c = cell(tensor(np.ones((2, 3))))
    assert h.creator.inputs[0].creator.name == "LSTMCell"  # h = state[..., :H] of one op


# ---------------------------------------------------------------------- op parameters


def test_an_unknown_op_parameter_is_a_type_error_naming_the_allowed_ones():
    x = tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"Softmax.*unknown parameter 'axis'.*parameters: dim"):
        ops.Softmax.apply(x, axis=0)
    with pytest.raises(TypeError, match=r"Mul.*unknown parameter 'dim'.*parameters: none"):
        ops.Mul.apply(x, x, dim=0)


def test_a_missing_required_op_parameter_is_a_type_error():
    with pytest.raises(TypeError, match=r"Reshape.*missing the required parameter 'shape'"):
        ops.Reshape.apply(tensor(np.ones(4)))
    with pytest.raises(TypeError, match=r"LayerNorm.*'normalized_shape'.*eps, has_weight"):
        ops.LayerNorm.apply(tensor(np.ones(4)), eps=1e-3)


# ---------------------------------------------------------------------- overrides


FAST_PATHS = {  # a portable function: the arguments to call it with (the array first)
    backend.sum_last_axis: lambda a: (a,),
    backend.max_last_axis: lambda a: (a,),
    backend.sum_first_axis: lambda a: (a,),
    backend.normal_cdf: lambda a: (a, backend.xp_of(a).exp(a * a * -0.5) / np.sqrt(2 * np.pi)),
    softmax.softmax_forward: lambda a: (a, 0),
    softmax.log_softmax_forward: lambda a: (a, -1),
    layer_norm.normalize_rows: lambda a: (a, None, None, 1e-5),
    cross_entropy.log_sum_exp_rows: lambda a: (a,),
    gelu.gelu_exact: lambda a: (a,),
}


def _values(result):
    parts = result if isinstance(result, tuple) else (result,)
    return [backend.to_host(part) for part in parts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("function", FAST_PATHS, ids=lambda f: f.__name__)
def test_every_fast_path_gives_the_portable_values(device, function, dtype):
    array = tensor(np.random.default_rng(2).standard_normal((5, 7)), dtype=dtype).data
    arguments = FAST_PATHS[function](array)
    tol = 1e-6 if dtype == "float32" else 1e-7  # normal_cdf: exact in float64 on NumPy
    for fast, portable in zip(_values(function(*arguments)),
                              _values(function.portable(*arguments)), strict=True):
        np.testing.assert_allclose(fast, portable, rtol=tol, atol=tol)


def test_numpy_arrays_take_the_numpy_overrides_and_the_cupy_stand_in_the_portable_code():
    assert backend.sum_last_axis.replacements["numpy"] is backend._sum_last_axis_by_blas
    backend.sum_last_axis(np.ones((2, 3)))
    backend.sum_last_axis(fakecupy.asarray(np.ones((2, 3))))
    assert backend.sum_last_axis.chosen[np.ndarray] is backend._sum_last_axis_by_blas
    assert backend.sum_last_axis.chosen[fakecupy.ndarray] is backend.sum_last_axis.portable


def test_an_override_must_name_a_library_and_an_overridable_function():
    with pytest.raises(ValueError, match=r"'torch'.*numpy, cupy"):
        backend.override(backend.sum_last_axis, "torch")
    with pytest.raises(TypeError, match="not marked @overridable"):
        backend.override(len, "numpy")


@pytest.mark.gpu
def test_real_cupy_arrays_take_the_kernels(device):
    if device != "gpu" or backend.xp_of(tensor([1.0]).data).__name__ != "cupy":
        pytest.skip("needs real CuPy")
    x = tensor(np.ones((2, 3))).data
    softmax.softmax_forward(x, -1)
    assert softmax.softmax_forward.chosen[type(x)] is softmax.softmax_forward.replacements["cupy"]
