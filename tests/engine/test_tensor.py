"""The Tensor and its autograd: construction, dtypes, gradient accumulation, zero_grad,
no_grad, detach, the backward walk (deep graphs, shared inputs) and its error messages."""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import F, Parameter, Tensor, backend, is_grad_enabled, no_grad, tensor

# ---------------------------------------------------------------------- construction


def test_floats_become_float32_ints_int64_bools_stay():
    assert tensor([1.0, 2.0]).dtype == np.float32
    assert tensor(np.arange(3.0)).dtype == np.float32  # NumPy's float64 too: no silent float64
    assert tensor([1, 2]).dtype == np.int64
    assert tensor([True, False]).dtype == np.bool_
    assert tensor([1.0], dtype="float64").dtype == np.float64
    assert Tensor([[1, 2]], dtype="float32").dtype == np.float32


def test_properties_and_conversions():
    x = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.device == "cpu" or x.device == "gpu"
    assert backend.is_array(x.data)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x.sum().item() == 21.0 and isinstance(x.sum().item(), float)


def test_numpy_returns_a_copy():
    x = tensor([1.0, 2.0])
    x.numpy()[0] = 100.0
    assert x.tolist() == [1.0, 2.0]


def test_zero_dim_results_hold_arrays_not_scalars():
    x = tensor([1.0, 2.0], requires_grad=True)
    loss = F.mse_loss(x, tensor([0.0, 0.0]))
    assert backend.is_array(loss.data) and loss.shape == ()
    s = tensor(2.0, requires_grad=True)
    (-s).backward()
    assert backend.is_array(s.grad.data) and s.grad.item() == -1.0


def test_parameter_requires_grad_by_default():
    p = Parameter(np.zeros(3))
    assert p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert "Parameter containing" in repr(p)


def test_to_dtype_is_differentiable():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).to("float64")
    assert y.dtype == np.float64 and not y.is_leaf and y.requires_grad
    (y * y).sum().backward()  # d/dx (2x)^2 = 8x, back in x's dtype
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [8.0, 16.0]
    assert x.to("cpu") is x or x.device != "cpu"


def test_comparisons_give_boolean_tensors_without_grad():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 1.5, x >= 2.0, x < 2.0, x <= 2.0, x == 2.0, x != 2.0):
        assert result.dtype == np.bool_ and not result.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]


# ---------------------------------------------------------------------- gradients


def test_gradients_accumulate_across_two_backward_calls():
    x = tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])  # 2 * 2x


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_a_tensor_feeding_several_ops_gets_every_contribution():
    x = tensor([0.5, -1.0], requires_grad=True)
    h = x * 2  # used twice below: its gradient must be summed before it flows to x
    (h * h + h.exp() + x).sum().backward()
    a = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 8 * a + 2 * np.exp(2 * a) + 1, rtol=1e-6)


def test_zero_grad_forgets_the_gradient():
    x = tensor([1.0, 2.0], requires_grad=True)
    (x * 5).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_the_leaf_gradient_is_not_shared_with_the_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2, dtype=np.float32)
    y = x + 0.0  # Add's backward hands the seed itself on to x
    y.backward(seed)
    assert x.grad.data is not seed and not np.shares_memory(x.grad.data, seed)
    first = x.grad
    (x * 1.0).backward(seed)
    # later gradients are added into the leaf's own buffer in place, as in PyTorch
    assert seed.tolist() == [1.0, 1.0] and x.grad is first and x.grad.tolist() == [2.0, 2.0]


def test_only_leaves_get_grad():
    x = tensor([1.0], requires_grad=True)
    h = x * 2
    (h * 3).sum().backward()
    assert h.grad is None and x.grad.tolist() == [6.0]


def test_backward_with_an_explicit_gradient_for_a_non_scalar():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -6.0])


def test_backward_on_a_leaf():
    x = tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert x.grad.dtype == np.float32


def test_inputs_without_requires_grad_get_no_gradient():
    x, c = tensor([1.0, 2.0], requires_grad=True), tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [3.0, 4.0]


def test_repeated_integer_indices_accumulate():
    x = tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])
    w = tensor(np.ones((3, 2)), requires_grad=True)
    F.embedding(tensor([[1, 1], [1, 2]]), w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [3, 3], [1, 1]])


def test_index_with_a_tensor_of_integers():
    x = tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x[tensor([1, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [2, 2]])


def test_a_deep_graph_does_not_hit_the_recursion_limit():
    x = tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):  # an RNN unrolled over many steps is this deep
        y = y * 1.0 + 0.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_graph_is_freed_after_backward():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    creator = y.creator
    y.backward()
    assert creator.inputs is None


# ---------------------------------------------------------------------- no_grad and detach


def test_no_grad_records_nothing_and_restores_the_mode():
    x = tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.creator is None


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), no_grad():
        raise KeyError("inside no_grad")
    assert is_grad_enabled()


def test_detach_cuts_the_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    d = (x * 3).detach()
    assert not d.requires_grad and d.is_leaf
    assert d.tolist() == [3.0, 6.0]
    (x * d).sum().backward()  # d is a constant: dL/dx = d
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0])


# ---------------------------------------------------------------------- error messages


def test_requires_grad_on_an_integer_tensor():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients, "
                                        r"not int64 \(use dtype='float32'\)"):
        tensor([1, 2], requires_grad=True)


def test_backward_twice_raises():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through a graph a second time: its saved "
                                           "values were freed by the first backward"):
        y.backward()


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward\(\) without a gradient argument needs a "
                                           r"one-element \(scalar\) tensor, this one has "
                                           r"shape \(2,\)"):
        y.backward()


def test_backward_gradient_of_the_wrong_shape():
    y = tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\), the tensor has shape \(2,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="backward\\(\\) on a tensor that does not require "
                                           "grad"):
        (tensor([1.0]) * 2).sum().backward()


def test_item_needs_one_element():
    with pytest.raises(RuntimeError, match=r"item\(\) needs a tensor with one element, this "
                                           r"one has shape \(2,\)"):
        tensor([1.0, 2.0]).item()


def test_squeeze_leaves_a_dim_whose_size_is_not_one():
    assert tensor(np.ones((2, 1))).squeeze(0).shape == (2, 1)  # PyTorch: unchanged, no error
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        tensor(np.ones((2, 1))).squeeze(2)


def test_unknown_dtype_and_device_names():
    with pytest.raises(ValueError, match="unknown dtype 'float16'; allowed: float32, float64"):
        tensor([1.0], dtype="float16")
    with pytest.raises(ValueError, match="unknown device 'tpu'; allowed: auto, cpu, gpu"):
        tensor([1.0], device="tpu")


def test_unknown_gradzoo_device_variable(monkeypatch):
    monkeypatch.setenv("GRADZOO_DEVICE", "tpu")
    monkeypatch.setattr(backend, "_default_device", None)
    with pytest.raises(backend.DeviceError, match="GRADZOO_DEVICE='tpu' is not a device; "
                                                  "allowed: auto, cpu, gpu"):
        backend.default_device()
