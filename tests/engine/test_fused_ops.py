"""Each fused op against its composed teaching version: the same values, the same gradients.

The fused ops (``Linear``, ``Softmax``, ``LogSoftmax``, ``LayerNorm``,
``CrossEntropy``, ``ScaledDotProductAttention``, ``LSTMCell``, ``GRUCell``)
write their forward and backward out by hand, in place where they can, and on
a real GPU call the CUDA kernels of ``gpu_kernels``. The composed versions are
built from the small ops and differentiated by the engine. Run on every device
(``device`` fixture), so the kernels are compared too where a GPU is present.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradzoo.engine import F, gpu_kernels, nn, ops, tensor

DTYPES = [("float64", 1e-10), ("float32", 2e-5)]


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
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("shapes", [[(2, 3, 4), (5, 4), (5,)], [(4,), (3, 4)], [(6, 4), (2, 4)]])
def test_linear(device, dtype, tol, shapes):
    assert_same(both_ways(F.linear, ops.linear_composed, shapes, dtype, device), tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_and_log_softmax(device, dtype, tol, dim):
    shapes = [(3, 4, 5)]
    assert_same(both_ways(F.softmax, ops.softmax_composed, shapes, dtype, device, dim=dim), tol)
    assert_same(both_ways(F.log_softmax, ops.log_softmax_composed, shapes, dtype, device,
                          dim=dim), tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("normalized, affine", [((5,), 2), ((5,), 0), ((4, 5), 2), ((5,), 1)])
def test_layer_norm(device, dtype, tol, normalized, affine):
    shapes = [(3, 4, 5)] + [normalized] * affine

    def fused(x, *params):
        return F.layer_norm(x, normalized, *params)

    def composed(x, *params):
        return ops.layer_norm_composed(x, normalized, *params)

    assert_same(both_ways(fused, composed, shapes, dtype, device), tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_cross_entropy_with_ignored_positions(device, dtype, tol):
    target = np.array([[1, -100, 4], [0, 2, 4]])

    def fused(logits):
        return F.cross_entropy(logits, target)

    def composed(logits):
        return ops.cross_entropy_composed(logits, tensor(target, device=device).data)

    assert_same(both_ways(fused, composed, [(2, 3, 5)], dtype, device), tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
@pytest.mark.parametrize("mask", ["causal", "bool", "float", None])
def test_attention(device, dtype, tol, mask):
    rng = np.random.default_rng(5)
    attn_mask, is_causal = None, mask == "causal"
    if mask == "bool":
        attn_mask = rng.random((4, 6)) < 0.6
        attn_mask[:, 0] = True  # every query sees a key (the composed version gives NaN else)
    elif mask == "float":
        attn_mask = rng.standard_normal((4, 6))
    if attn_mask is not None:
        attn_mask = tensor(attn_mask, device=device).data
    shapes = [(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)] if mask != "causal" else \
        [(2, 3, 6, 8), (2, 3, 6, 8), (2, 3, 6, 5)]
    assert_same(both_ways(F.scaled_dot_product_attention, ops.attention_composed, shapes, dtype,
                          device, attn_mask=attn_mask, is_causal=is_causal), tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_gelu_tanh_against_its_formula(device, dtype, tol):
    def composed(x):
        u = (x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + u.tanh())

    assert_same(both_ways(lambda x: F.gelu(x, approximate="tanh"), composed, [(3, 7)], dtype,
                          device), tol)


@pytest.mark.parametrize("cell_type", [nn.LSTMCell, nn.GRUCell])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_cells_fused_and_composed(device, cell_type, bias):
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


def test_kernels_are_used_only_on_real_cupy(device):
    x = tensor([1.0, 2.0], device=device).data
    kernels = gpu_kernels.kernels_for(x)
    real_gpu = device == "gpu" and type(x).__module__.startswith("cupy")
    assert (kernels is not None) == real_gpu
