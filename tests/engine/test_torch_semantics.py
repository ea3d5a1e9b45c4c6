"""Code that looks like PyTorch behaves like PyTorch (issue 14): one test per divergence fixed.

Each test names the divergence it guards. The expected values are PyTorch 2.13's
documented behaviour, written out here (PyTorch is not needed to run these tests).
Engineers append their own families' tests at the end of this file.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import F, no_grad, tensor


def arange(*shape, dtype="float64", requires_grad=False):
    return tensor(np.arange(np.prod(shape), dtype=float).reshape(shape), dtype=dtype,
                  requires_grad=requires_grad)


# ---------------------------------------------------------------------- truth, len, conversions


def test_bool_of_a_one_element_tensor_is_its_truth():
    # was: bool() went through __len__: [0.0] > 0.5 was True, 0-d raised IndexError
    assert bool(tensor([0.0]) > 0.5) is False
    assert bool(tensor(0.0) > 0.5) is False
    assert bool(tensor([[2.0]]) > 0.5) is True
    best, loss = tensor(1.0), tensor(0.5)
    assert (loss < best) and not (loss > best)


def test_bool_of_several_or_no_values_is_ambiguous():
    # was: a 3-element tensor was True
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value "
                                           "is ambiguous"):
        bool(tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values"):
        bool(tensor([]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        assert tensor([1, 2]) == tensor([1, 2])


def test_len_and_iteration_of_a_0d_tensor_are_type_errors():
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(tensor(1.0))
    assert len(tensor([[1.0, 2.0]] * 3)) == 3
    assert [row.tolist() for row in tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]


def test_python_number_conversions():
    assert float(tensor([[3]])) == 3.0 and int(tensor([2.7])) == 2
    assert [10, 20, 30][tensor(1)] == 20 and 2 in tensor([1, 2]) and 5 not in tensor([1, 2])
    with pytest.raises(ValueError, match="only one element tensors"):
        float(tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][tensor(1.0)]
    with pytest.raises(RuntimeError, match="item\\(\\) needs a tensor with one element"):
        tensor([1.0, 2.0]).item()


# ---------------------------------------------------------------------- indexing


def test_mixed_integer_and_list_index_follows_pytorch_not_numpy():
    # was: NumPy's order, (2, 3); PyTorch applies the integer first: (3, 2)
    x = arange(2, 3, 4)
    assert x[0, :, [0, 1]].shape == (3, 2)
    assert x[0, :, [0, 1]].tolist() == [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    assert x[tensor(0), :, [0, 1]].shape == (3, 2)  # a 0-d integer tensor is an integer
    assert x[[0, 1], :, 0].shape == (2, 3)
    assert x[[0, 1], 0, [0, 1]].tolist() == [0.0, 13.0]
    assert x[None, 0, [1]].shape == (1, 1, 4)
    assert x[0, [0, 1], :, None].shape == (2, 4, 1)
    assert x[1, ..., [2, 2]].tolist() == [[14.0, 14.0], [18.0, 18.0], [22.0, 22.0]]


def test_mixed_index_gradient_adds_up_repeats():
    x = arange(2, 3, 4, requires_grad=True)
    x[1, :, [3, 3, 0]].sum().backward()
    expected = np.zeros((2, 3, 4))
    expected[1, :, 3], expected[1, :, 0] = 2.0, 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_boolean_masks_none_ellipsis_and_negative_indices():
    x = arange(2, 3, 4)
    mask = tensor([True, False, True])
    assert x[:, mask].shape == (2, 2, 4)
    assert x[0, mask, [0, 1]].tolist() == [0.0, 9.0]
    assert x[x > 20.0].tolist() == [21.0, 22.0, 23.0]
    assert x[True].shape == (1, 2, 3, 4) and x[0, True].shape == (1, 3, 4)
    assert x[..., -1].tolist() == [[3.0, 7.0, 11.0], [15.0, 19.0, 23.0]]
    assert x[[-1], None, [-1]].shape == (1, 1, 4)
    assert x[[]].shape == (0, 3, 4)


def test_index_errors_are_index_errors():
    x = arange(2, 3, 4)
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x[:, [5]]
    with pytest.raises(IndexError, match="The shape of the mask \\[2\\] at index 0 does not "
                                         "match the shape of the indexed tensor"):
        x[:, tensor([True, False])]
    with pytest.raises(IndexError, match="integer or boolean"):
        x[tensor([0.0])]


def test_setitem_in_place_without_grad_and_refused_with_grad():
    x = arange(2, 3, dtype="float32")
    x[0, [0, 2]] = 9.0
    assert x.tolist() == [[9.0, 1.0, 9.0], [3.0, 4.0, 5.0]]
    w = tensor([0.0, 0.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place .* requires grad"):
        w[0] = 1.0
    with no_grad():  # initialising weights, as in PyTorch
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0] and w.requires_grad


# ---------------------------------------------------------------------- dtypes


def test_integer_true_division_is_float32():
    # was: float64
    quotient = tensor([5, 6]) / tensor([1, 2])
    assert quotient.dtype == np.float32 and quotient.tolist() == [5.0, 3.0]
    assert (tensor([5]) / 2).dtype == np.float32 and (tensor([5]) / 2).tolist() == [2.5]
    assert (3 / tensor([2])).tolist() == [1.5] and (3 / tensor([2])).dtype == np.float32
    assert (tensor([True]) / True).dtype == np.float32


def test_python_scalars_keep_the_tensor_dtype_of_their_category():
    # was: int32 with a Python int became int64
    small = tensor([1, 2], dtype="int32")
    assert (small + 1).dtype == np.int32 and (1 - small).dtype == np.int32
    assert (tensor(1, dtype="int32") + 1).dtype == np.int32
    assert (small * 2.5).dtype == np.float32
    assert (tensor([1, 2]) ** 2).dtype == np.int64 and (tensor([1, 2]) ** 0.5).dtype == np.float32
    assert (2 ** tensor([1, 2])).dtype == np.int64 and (2.0 ** tensor([1, 2])).dtype == np.float32
    assert (tensor([True]) + 1).dtype == np.int64 and (tensor([True]) + True).dtype == np.bool_
    assert (tensor([1.0], dtype="float64") * 2.0).dtype == np.float64


def test_tensors_of_different_dtypes_promote_as_pytorch():
    float64 = "float64"
    assert (tensor([1.0, 2.0]) + tensor([1.0, 2.0], dtype=float64)).dtype == np.float64
    assert (tensor([1, 2], dtype="int32") + tensor([1, 2])).dtype == np.int64
    assert (tensor([1, 2]) + tensor([0.5])).dtype == np.float32  # int64 with float32: float32
    # a 0-d tensor counts only when it is of a higher category
    assert (tensor([1.0, 2.0]) + tensor(1.0, dtype=float64)).dtype == np.float32
    assert (tensor([1, 2], dtype="int32") + tensor(1)).dtype == np.int32
    assert (tensor([1, 2]) + tensor(1.5, dtype=float64)).dtype == np.float64
    assert (tensor(1) + tensor(1.5, dtype=float64)).dtype == np.float64


def test_mixed_float_dtypes_give_each_input_its_own_gradient_dtype():
    single = tensor([1.0, 2.0], requires_grad=True)
    double = tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    (single * double).sum().backward()
    assert single.grad.dtype == np.float32 and single.grad.tolist() == [3.0, 4.0]
    assert double.grad.dtype == np.float64 and double.grad.tolist() == [1.0, 2.0]


def test_integers_to_negative_integer_powers_are_an_error():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        tensor([2, 3]) ** -1


# ---------------------------------------------------------------------- gradients at zeros


def test_pow_with_exponent_zero_has_gradient_zero_at_zero():
    # was: nan (0 * 0^-1)
    x = tensor([0.0, 1.0, 2.0], requires_grad=True)
    (x ** 0.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    base, exponent = tensor([0.0, 0.0, 3.0], requires_grad=True), tensor([0.0, 2.0, 0.0])
    (base ** exponent).sum().backward()
    assert base.grad.tolist() == [0.0, 0.0, 0.0]


def test_pow_of_zero_has_exponent_gradient_zero_where_the_exponent_is_not_negative():
    # was: nan (0 * ln 0) and -inf; PyTorch: 0 for exponents >= 0, -inf for negative ones
    y = tensor([0.0, 1.0, -1.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (0.0 ** y).sum().backward()
    assert y.grad.tolist() == [0.0, 0.0, -np.inf, 0.0]
    base = tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    y.grad = None
    with np.errstate(divide="ignore", invalid="ignore"):
        (base ** y).sum().backward()
    assert base.grad.tolist() == [0.0, 1.0, -np.inf, 0.0]
    assert y.grad.tolist() == [0.0, 0.0, -np.inf, 0.0]


@pytest.mark.parametrize("a_shape, b_shape", [((0, 3), (3, 4)), ((2, 0), (0, 4)),
                                              ((2, 5, 0), (0, 4)), ((2, 0, 3), (3, 4)),
                                              ((2, 3, 0), (2, 0, 4)), ((0,), (0, 3))])
def test_matmul_backward_with_a_zero_size_dimension(a_shape, b_shape):
    # was: a crash in backward (reshape(-1, 0))
    a = tensor(np.ones(a_shape), requires_grad=True)
    b = tensor(np.ones(b_shape), requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_array_equal(b.grad.numpy(), np.full(b_shape, float(np.prod(a_shape[:-1]))))


# ---------------------------------------------------------------------- squeeze


def test_squeeze_as_pytorch():
    # was: squeeze(0) of a 0-d tensor raised; a dim not of size 1 raised ValueError
    scalar = tensor(3.0)
    assert scalar.squeeze(0).shape == () and scalar.squeeze(-1).shape == ()
    assert scalar.squeeze().shape == ()
    x = tensor(np.zeros((1, 3, 1)))
    assert x.squeeze().shape == (3,) and x.squeeze(1).shape == (1, 3, 1)
    assert x.squeeze(-1).shape == (1, 3) and x.squeeze((0, 2)).shape == (3,)
    with pytest.raises(IndexError, match="Dimension out of range"):
        scalar.squeeze(1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.squeeze(3)


def test_squeeze_is_differentiable():
    x = tensor(np.ones((1, 3)), requires_grad=True)
    (x.squeeze() * tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0]]


# ---------------------------------------------------------------------- exception types


def test_shape_mismatches_raise_runtime_error():
    # was: ValueError; PyTorch raises RuntimeError for these
    ones = np.ones
    with pytest.raises(RuntimeError, match="could not be broadcast"):
        tensor(ones((2, 3))) + tensor(ones(4))
    with pytest.raises(RuntimeError, match="matmul"):
        tensor(ones((2, 3))) @ tensor(ones((4, 2)))
    with pytest.raises(RuntimeError, match="matmul"):
        tensor(ones(2)) @ tensor(1.0)
    with pytest.raises(RuntimeError, match="cannot reshape"):
        tensor(ones(6)).reshape(4)
    with pytest.raises(RuntimeError, match="concat"):
        F.concat([tensor(ones((2, 3))), tensor(ones((2, 4)))])
    with pytest.raises(RuntimeError, match="stack"):
        F.stack([tensor(ones(2)), tensor(ones(3))])
    with pytest.raises(RuntimeError, match="permute"):
        tensor(ones((2, 3))).permute(0)
    with pytest.raises(RuntimeError, match="linear"):
        F.linear(tensor(ones((2, 3))), tensor(ones((4, 5))))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(tensor(ones((2, 3))), 4)
    with pytest.raises(RuntimeError, match="grad has shape"):
        (tensor(ones(3), requires_grad=True) * 2).backward(tensor(ones(2)))


def test_dimension_out_of_range_is_an_index_error():
    with pytest.raises(IndexError):
        tensor(np.ones((2, 3))).transpose(0, 5)
    with pytest.raises(IndexError):
        tensor(np.ones((2, 3))).sum(5)


# ---- elementwise functions and activations (values from PyTorch 2.13's documentation) ----


def test_elementwise_gradients_at_kinks_are_pytorchs():
    """abs'(0) = 0, sqrt'(0) = inf, clamp passes the gradient at its bounds, hardtanh does not,
    leaky_relu'(0) = negative_slope, elu'(0) = alpha: a formula-only engine picks others."""
    from gradzoo.engine import F, tensor

    def grad_of(fn, values):
        x = tensor(values, requires_grad=True)
        fn(x).sum().backward()
        return x.grad.tolist()

    assert grad_of(lambda x: x.abs(), [0.0, -2.0, 3.0]) == [0.0, -1.0, 1.0]
    assert grad_of(lambda x: x.sqrt(), [0.0, 4.0]) == [float("inf"), 0.25]
    assert grad_of(lambda x: x.clamp(-1, 1), [-1.0, 1.0, 0.0, 2.0]) == [1.0, 1.0, 1.0, 0.0]
    assert grad_of(F.hardtanh, [-1.0, 1.0, 0.0, 2.0]) == [0.0, 0.0, 1.0, 0.0]
    assert grad_of(F.leaky_relu, [0.0, -1.0, 1.0]) == pytest.approx([0.01, 0.01, 1.0])
    assert grad_of(lambda x: F.elu(x, alpha=2.0), [0.0]) == [2.0]
    assert grad_of(lambda x: x.minimum(tensor([1.0, 0.0])), [1.0, 2.0]) == [0.5, 0.0]


def test_step_functions_give_zero_gradients_not_an_error():
    """floor/ceil/round/sign: PyTorch's output requires grad, and its gradient is 0."""
    from gradzoo.engine import tensor

    x = tensor([0.5, 1.5, 2.5, -0.5], requires_grad=True)
    y = x.round()
    assert y.tolist() == [0.0, 2.0, 2.0, -0.0]  # halves to even
    assert y.requires_grad
    (y + x.floor() + x.ceil() + x.sign()).sum().backward()
    assert x.grad.tolist() == [0.0] * 4


def test_integer_floor_division_and_remainder_follow_pytorch():
    """// rounds toward -inf, % takes the divisor's sign; integers stay integers (not float64),
    an int32 tensor with a Python int stays int32, and integer division by zero raises."""
    from gradzoo.engine import tensor

    a = tensor([5, -7])
    assert (a // 2).tolist() == [2, -4] and str((a // 2).dtype) == "int64"
    assert (a % -3).tolist() == [-1, -1]
    assert (7 % tensor([2, -3])).tolist() == [1, -2]
    assert str((tensor([5], dtype="int32") // 2).dtype) == "int32"
    assert (tensor([5]) // 2.0).dtype == tensor([1.0]).dtype  # float32
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a // 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a % tensor([1, 0])


def test_remainder_gradient_wrt_the_divisor_is_minus_the_floor_quotient():
    from gradzoo.engine import tensor

    x = tensor([3.0, -3.0, 5.0], requires_grad=True)
    y = tensor([2.0, 2.0, -2.0], requires_grad=True)
    (x % y).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0] and y.grad.tolist() == [-1.0, 2.0, 3.0]


def test_bitwise_operators_on_integer_and_boolean_tensors_only():
    """Before, ``&`` on tensors raised TypeError and ``~mask`` did not exist."""
    from gradzoo.engine import tensor

    assert (tensor([5, 6]) & 3).tolist() == [1, 2]
    assert (tensor([5]) | tensor([2])).tolist() == [7] and (tensor([5]) ^ 1).tolist() == [4]
    assert (~tensor([0, 5])).tolist() == [-1, -6]
    assert (~tensor([True, False])).tolist() == [False, True]
    assert (tensor([True, True]) & tensor([True, False])).tolist() == [True, False]
    with pytest.raises(NotImplementedError):
        tensor([1.0]) & tensor([1.0])
    with pytest.raises(TypeError):
        ~tensor([1.0])


def test_integer_inputs_of_float_functions_become_float32():
    """torch.sqrt(int tensor) is float32; abs, sign, floor and clamp keep integers."""
    from gradzoo.engine import tensor

    assert str(tensor([4]).sqrt().dtype) == "float32" and tensor([4]).sqrt().tolist() == [2.0]
    assert str(tensor([-3]).abs().dtype) == "int64" and tensor([-3]).abs().tolist() == [3]
    assert str(tensor([4, -4]).clamp(-1, 2).dtype) == "int64"
    assert tensor([4, -4]).clamp(-1, 2.5).tolist() == [2.5, -1.0]


def test_clamp_with_tensor_bounds_and_no_bounds():
    """min > max gives max (PyTorch); both None is an error; tensor bounds get gradients."""
    from gradzoo.engine import tensor

    x = tensor([1.0, 2.0, 3.0, 0.0], requires_grad=True)
    lo = tensor([1.0, 0.0, 4.0, 0.0], requires_grad=True)
    hi = tensor([2.0, 2.0, 5.0, -1.0], requires_grad=True)
    out = x.clamp(lo, hi)
    assert out.tolist() == [1.0, 2.0, 4.0, -1.0]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert lo.grad.tolist() == [0.0, 0.0, 1.0, 0.0] and hi.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert tensor([-2.0, 0.0, 2.0]).clamp(1.0, -1.0).tolist() == [-1.0, -1.0, -1.0]
    with pytest.raises(RuntimeError, match="at least one of 'min' or 'max'"):
        x.clamp()
    with pytest.raises(TypeError):
        x.minimum(2.0)  # PyTorch's minimum takes tensors only


def test_activation_values_and_modules():
    """softplus honours beta and threshold; the nn forms take PyTorch's arguments."""
    from gradzoo.engine import F, nn, tensor

    x = tensor([0.0, 1.5, 1.6, -1.0], dtype="float64")
    assert F.softplus(x, beta=2, threshold=3).tolist() == pytest.approx(
        [0.34657359027997264, 1.524293675786871, 1.6, 0.06346400552148625])
    assert F.elu(tensor([-1.0], dtype="float64")).item() == pytest.approx(-0.6321205588285577)
    assert F.logsigmoid(tensor([-100.0])).item() == pytest.approx(-100.0)  # no overflow
    assert F.silu(tensor([1.0], dtype="float64")).item() == pytest.approx(0.7310585786300049)
    assert tensor([0.5, 1.0], dtype="float64").erf().tolist() == pytest.approx(
        [0.5204998778130465, 0.8427007929497149], abs=1e-15)
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    model = nn.Sequential(nn.ELU(), nn.SiLU(), nn.Softplus(beta=2.0), nn.LogSigmoid(),
                          nn.LeakyReLU(), nn.Hardtanh(-2.0, 2.0))
    assert model(tensor([[0.5, -0.5]])).shape == (1, 2)


def test_inplace_activations_change_the_tensor_or_refuse_loudly():
    """inplace=True must not silently leave the input as it was: it writes into a tensor
    outside the graph, and is an error (a difference kept on purpose) where grad is needed."""
    from gradzoo.engine import F, nn, tensor

    x = tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    nn.LeakyReLU(0.5, inplace=True)(x := tensor([-2.0]))
    assert x.tolist() == [-1.0]
    with pytest.raises(RuntimeError, match="in-place"):
        F.elu(tensor([1.0], requires_grad=True), inplace=True)


# ---------------------------------------------------------------------- reductions and ordering


def test_max_with_a_dim_returns_the_values_and_indices_pair():
    # was: x.max(dim=1) gave the values only, so x.max(dim=1)[0] silently took the first row
    x = tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    pair = x.max(dim=1)
    assert pair[0].tolist() == pair.values.tolist() == [5.0, 7.0]
    assert pair[1].tolist() == pair.indices.tolist() == [1, 0]  # the first of tied maxima
    assert str(pair.indices.dtype) == "int64" and not pair.indices.requires_grad
    values, indices = x.min(1, True)
    assert values.tolist() == [[1.0], [0.0]] and indices.tolist() == [[0], [1]]
    pair.values.sum().backward()  # torch: the whole gradient to the index it returned
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_max_without_a_dim_and_amax_split_the_gradient_between_ties():
    # torch: max() and amax/amin spread the gradient evenly over tied elements
    x = tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], requires_grad=True)
    top = x.max()
    assert top.shape == () and top.item() == 3.0
    top.backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    x.grad = None
    x.amin(dim=1).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]
    assert tensor([[1, 2], [3, 0]]).amax(dim=(0, 1)).item() == 3


def test_max_of_nothing_and_max_of_another_tensor():
    # torch: max() of an empty tensor is a RuntimeError, over an empty dim an IndexError;
    # x.max(other) is the elementwise maximum
    with pytest.raises(RuntimeError):
        tensor(np.zeros((0, 3))).max()
    with pytest.raises(IndexError):
        tensor(np.zeros((0, 3))).max(dim=0)
    assert tensor(np.zeros((0, 3))).amax(dim=1).shape == (0,)
    assert tensor([1.0, 5.0]).max(tensor([3.0, 2.0])).tolist() == [3.0, 5.0]


def test_argmax_flattens_without_a_dim_and_keeps_dims_on_request():
    x = tensor([[1.0, 9.0, 9.0], [4.0, 2.0, 0.0]])
    assert x.argmax().item() == 1 and x.argmin().item() == 5
    assert x.argmax(dim=0).tolist() == [1, 0, 0]
    assert x.argmax(dim=1, keepdim=True).tolist() == [[1], [0]]
    assert x.argmax(keepdim=True).shape == (1, 1)


def test_var_and_std_are_unbiased_by_default():
    # torch: correction=1 (Bessel) unless unbiased=False or correction=0; x.var(False) is
    # unbiased=False
    x = tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(x.var().item(), 2.9166667, rtol=1e-6)
    np.testing.assert_allclose(x.var(False).item(), 2.1875, rtol=1e-6)
    np.testing.assert_allclose(x.var(dim=1, keepdim=True).numpy(), [[0.5], [2.0]])
    np.testing.assert_allclose(x.std(dim=1, correction=0).numpy(), [0.5, 1.0])
    np.testing.assert_allclose(x.std(1, unbiased=False).numpy(), [0.5, 1.0])
    np.testing.assert_allclose(x.var(correction=0.5).item(), 2.5, rtol=1e-6)  # 8.75 / 3.5
    with pytest.raises(RuntimeError):
        tensor([1, 2, 3]).var()  # integers: torch refuses
    with pytest.warns(UserWarning):
        assert np.isnan(tensor([2.0]).var().item())  # one value, correction 1: nan, as torch


def test_std_of_constant_values_has_a_zero_gradient():
    # torch: std's gradient is 0 where std is 0 (not the nan of d sqrt(v) at 0)
    x = tensor([1.0, 1.0, 1.0], requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_prod_gradient_with_zeros():
    # torch: d prod / dx_i is the product of the others, also where x holds zeros
    x = tensor([[2.0, 0.0, 3.0], [2.0, 0.5, 4.0]], requires_grad=True)
    x.prod(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 6.0, 0.0], [2.0, 8.0, 1.0]]
    y = tensor([2.0, 0.0, 3.0, 0.0], requires_grad=True)
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert str(tensor([2, 3], dtype="int32").prod().dtype) == "int64"


def test_cumsum_and_cumprod_with_zeros():
    x = tensor([[2.0, 0.0, 3.0]], requires_grad=True)
    assert x.cumsum(dim=1).tolist() == [[2.0, 2.0, 5.0]]
    y = x.cumprod(1)
    assert y.tolist() == [[2.0, 0.0, 0.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 8.0, 0.0]]  # torch's values
    assert str(tensor([[1, 2]], dtype="int32").cumsum(1).dtype) == "int64"
    assert tensor(5.0).cumsum(0).item() == 5.0


def test_logsumexp_is_stable_and_keeps_infinities():
    x = tensor([[1000.0, 1000.0], [-np.inf, -np.inf]])
    np.testing.assert_allclose(x.logsumexp(dim=1).numpy(), [1000.0 + np.log(2.0), -np.inf])
    assert x.logsumexp(-1, keepdim=True).shape == (2, 1)
    assert str(tensor([1, 2, 3]).logsumexp(0).dtype) == "float32"  # integers: float32, as torch


def test_any_all_give_booleans():
    x = tensor([[1.0, 0.0], [1.0, 1.0]])
    assert x.any().item() is True and x.all().item() is False
    assert x.all(dim=1).tolist() == [False, True]
    assert str(x.any(dim=0, keepdim=True).dtype) == "bool"


def test_sort_and_topk_return_named_pairs_with_differentiable_values():
    x = tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
    values, indices = x.sort()
    assert values.tolist() == [1.0, 1.0, 2.0, 3.0] and indices.tolist() == [1, 3, 2, 0]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 1, 3]
    top = x.topk(2)
    assert top.values.tolist() == [3.0, 2.0] and top.indices.tolist() == [0, 2]
    assert x.topk(1, largest=False).values.tolist() == [1.0]
    top.values.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]
    with pytest.raises(RuntimeError):
        x.topk(5)
    nan = tensor([1.0, float("nan"), 0.0]).sort()  # NaN sorts as the largest, as torch
    assert nan.indices.tolist() == [2, 0, 1]


def test_median_is_the_lower_middle_value():
    # torch: no averaging of the two middle values (numpy's median would give 2.5)
    assert tensor([1.0, 2.0, 3.0, 4.0]).median().item() == 2.0
    pair = tensor([[1.0, 2.0], [3.0, 0.0]]).median(1)
    assert pair.values.tolist() == [1.0, 0.0] and pair.indices.tolist() == [0, 1]


def test_norm_as_torch():
    x = tensor([[3.0, -4.0], [0.0, 0.0]], requires_grad=True)
    assert x.norm().item() == 5.0
    assert x.norm(dim=1).tolist() == [5.0, 0.0]
    assert x.norm(p=1, dim=1).tolist() == [7.0, 0.0]
    assert x.norm(p=float("inf")).item() == 4.0
    x.norm(dim=1).sum().backward()  # the gradient at a zero norm is 0, as torch
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, -0.8], [0.0, 0.0]])
    with pytest.raises(RuntimeError):
        tensor([1, 2]).norm()  # integers: torch refuses


# ---------------------------------------------------------------------- indexing, masks, padding


def test_gather_and_its_gradient_as_torch_gather():
    # was: no gather; x.gather(1, target) (the picked log-probabilities) failed
    x = arange(2, 3, requires_grad=True)
    picked = x.gather(1, tensor([[2, 2], [0, 1]]))
    assert picked.tolist() == [[2.0, 2.0], [3.0, 4.0]]
    picked.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 2.0], [1.0, 1.0, 0.0]]  # picked twice: both add up
    assert arange(3, 4).gather(1, tensor([[1]] * 2)).tolist() == [[1.0], [5.0]]  # smaller index
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1"):
        x.gather(1, tensor([[3]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, tensor([0]))
    with pytest.raises(RuntimeError, match="integer tensor"):
        x.gather(1, tensor([[0.0]]))


def test_scatter_is_out_of_place_with_torch_gradients():
    # torch: out = x with src written at index; dx = 0 where written, dsrc = grad gathered
    x = arange(2, 3, requires_grad=True)
    src = tensor([[10.0, 20.0]], dtype="float64", requires_grad=True)
    out = x.scatter(1, tensor([[2, 0]]), src)
    assert out.tolist() == [[20.0, 1.0, 10.0], [3.0, 4.0, 5.0]]
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # x unchanged
    (out * arange(2, 3)).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [3.0, 4.0, 5.0]]
    assert src.grad.tolist() == [[2.0, 0.0]]
    assert tensor([1, 2, 3]).scatter(0, tensor([1]), 7.9).tolist() == [1, 7, 3]  # value cast
    assert tensor([0.0, 0.0]).scatter(0, tensor([1, 1]), tensor([1.0, 2.0]),
                                      reduce="add").tolist() == [0.0, 3.0]


def test_scatter_add_adds_repeats_and_sends_gathered_gradients():
    x = tensor([0.0, 0.0, 0.0], requires_grad=True)
    src = tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.scatter_add(0, tensor([2, 2, 0]), src)
    assert out.tolist() == [3.0, 0.0, 3.0]
    (out * tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 10.0, 100.0] and src.grad.tolist() == [100.0, 100.0, 1.0]
    with pytest.raises(RuntimeError, match="dtype"):
        x.scatter_add(0, tensor([0]), tensor([1.0], dtype="float64"))


def test_index_select_and_index_add():
    x = arange(2, 3, requires_grad=True)
    picked = x.index_select(1, tensor([2, 0, 2]))
    assert picked.tolist() == [[2.0, 0.0, 2.0], [5.0, 3.0, 5.0]]
    picked.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]]
    assert arange(2, 3).index_select(0, tensor(1)).shape == (1, 3)  # 0-d index keeps the dim
    with pytest.raises(IndexError, match="vector"):
        x.index_select(0, tensor([[0]]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.index_select(0, tensor([2]))
    source = tensor([[1.0, 1.0], [2.0, 2.0]])
    added = arange(3, 2, dtype="float32").index_add(0, tensor([0, 0]), source, alpha=2)
    assert added.tolist() == [[6.0, 7.0], [2.0, 3.0], [4.0, 5.0]]


def test_masked_fill_broadcasts_keeps_dtype_and_zeroes_the_gradient():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = tensor([[True, False, True], [False, False, False]])
    out = x.masked_fill(mask, float("-inf"))
    assert out.tolist() == [[float("-inf"), 2.0, float("-inf")], [1.0, 2.0, 3.0]]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 1.0]  # no gradient where filled
    ints = tensor([1, 2, 3]).masked_fill(tensor([True, False, True]), 2.7)
    assert ints.dtype == "int64" and ints.tolist() == [2, 2, 2]
    value = tensor(5.0, requires_grad=True)
    tensor([1.0, 2.0]).masked_fill(tensor([True, True]), value).sum().backward()
    assert value.grad.item() == 2.0
    with pytest.raises(RuntimeError, match="boolean masks"):
        x.masked_fill(tensor([1, 0, 1]), 0.0)
    with pytest.raises(RuntimeError, match="0-dimensional value"):
        x.masked_fill(tensor([True, False, True]), tensor([1.0]))


def test_masked_select_nonzero_and_one_hot():
    x = tensor([0.0, 1.0, 2.0], requires_grad=True)
    picked = x.masked_select(tensor([[True, False, True], [False, True, False]]))
    assert picked.tolist() == [0.0, 2.0, 1.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    positions = tensor([[0, 1], [1, 1]]).nonzero()
    assert positions.dtype == "int64" and not positions.requires_grad
    assert positions.tolist() == [[0, 1], [1, 0], [1, 1]]
    rows, columns = tensor([[0, 1], [1, 1]]).nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and columns.tolist() == [1, 0, 1]
    assert tensor(3.0).nonzero().shape == (1, 0)
    hot = F.one_hot(tensor([0, 2]))
    assert hot.dtype == "int64" and hot.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(tensor(1), 3).tolist() == [0, 1, 0]
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tensor([-1]))


def test_tril_triu_keep_dtype_and_zero_even_infinities():
    assert tensor([[1, 1, 1], [1, 1, 1]]).tril(1).tolist() == [[1, 1, 0], [1, 1, 1]]
    inf = float("inf")
    assert tensor([[inf, inf], [inf, inf]]).tril().tolist() == [[inf, 0.0], [inf, inf]]
    assert tensor([[True] * 3] * 2).triu(-1).tolist() == [[True] * 3] * 2
    assert arange(2, 3, 3).triu(1)[1].tolist() == [[0.0, 10.0, 11.0], [0.0, 0.0, 14.0],
                                                   [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        tensor([1.0]).tril()


def test_where_with_python_scalars_follows_torch_dtypes():
    # was: where(cond, 1.0, 0.0) raised TypeError; an int cond was read as truthy
    cond = tensor([True, False])
    both = F.where(cond, 1.0, 0.0)
    assert both.dtype == "float32" and both.tolist() == [1.0, 0.0]
    assert F.where(cond, 1, 0).dtype == "int64"
    assert F.where(cond, tensor([1, 2], dtype="int32"), 0).dtype == "int32"
    assert F.where(cond, tensor([1, 2]), 0.5).tolist() == [1.0, 0.5]
    assert F.where(cond, tensor([1, 2]), 0.5).dtype == "float32"
    assert tensor([1.0, 2.0]).where(cond, -1.0).tolist() == [1.0, -1.0]  # Tensor.where
    rows, columns = F.where(tensor([[True, False], [True, True]]))
    assert rows.tolist() == [0, 1, 1] and columns.tolist() == [0, 0, 1]
    with pytest.raises(RuntimeError, match="boolean"):
        F.where(tensor([1, 0]), 1.0, 0.0)


def test_pad_last_dim_first_with_torch_modes():
    x = arange(2, 3)
    assert F.pad(x, (1, 2)).tolist() == [[0.0, 0.0, 1.0, 2.0, 0.0, 0.0],
                                         [0.0, 3.0, 4.0, 5.0, 0.0, 0.0]]
    assert F.pad(x, (0, 0, 1, 0), value=-1.0).tolist()[0] == [-1.0, -1.0, -1.0]
    assert F.pad(x, (-1, 1)).tolist() == [[1.0, 2.0, 0.0], [4.0, 5.0, 0.0]]  # negative crops
    assert F.pad(x, (2, 1), mode="reflect").tolist()[0] == [2.0, 1.0, 0.0, 1.0, 2.0, 1.0]
    assert F.pad(x, (2, 1), mode="replicate").tolist()[0] == [0.0, 0.0, 0.0, 1.0, 2.0, 2.0]
    assert F.pad(x[None], (2, 1), mode="circular").tolist()[0][0] == [1.0, 2.0, 0.0, 1.0,
                                                                      2.0, 0.0]
    assert F.pad(x[None], (-1, 2), mode="circular").tolist()[0][0] == [1.0, 2.0, 1.0, 2.0]
    leaf = arange(1, 3, requires_grad=True)
    F.pad(leaf, (2, 0), mode="replicate").sum().backward()
    assert leaf.grad.tolist() == [[3.0, 1.0, 1.0]]  # the edge was used three times
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(NotImplementedError, match="mode"):
        F.pad(x, (1, 1), mode="zeros")
    with pytest.raises(NotImplementedError, match="3-D or 4-D"):
        F.pad(x, (1, 1, 1, 1), mode="reflect")


# ---------------------------------------------------------------------- casts, spellings, layout


def test_a_cast_is_differentiable():
    # was: .to(dtype), .float(), .double() returned a detached leaf: gradients stopped there
    x = tensor([1.5, -2.0], requires_grad=True)
    y = x.to("float64")
    assert y.dtype == np.float64 and y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, -4.0]
    x.grad = None
    (x.double().float() * 3.0 + x.type("float64")).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_casts_to_integers_have_no_gradient_and_no_change_is_no_copy():
    from gradzoo import engine

    x = tensor([1.7, -2.5], requires_grad=True)
    assert x.long().tolist() == [1, -2] and x.long().dtype == np.int64
    assert not x.long().requires_grad and not x.int().requires_grad and x.int().dtype == np.int32
    assert x.bool().tolist() == [True, True] and not x.bool().requires_grad
    assert x.to("float32") is x and x.float() is x and x.to(x) is x  # as torch: self
    assert x.to(engine.float64).dtype == engine.float64 == engine.double
    assert x.to(tensor([1], dtype="int32")).dtype == engine.int32
    assert x.to("cpu", "float64", copy=True).dtype == np.float64
    assert x.clone() is not x and x.clone().requires_grad
    assert (x.type(), x.long().type(), x.bool().type()) == (
        "torch.FloatTensor", "torch.LongTensor", "torch.BoolTensor")


def test_a_move_between_devices_is_differentiable(fake_gpu):
    # was: .to(device) started a new leaf: the gradient never came back to the CPU tensor
    x = tensor([1.0, 2.0], requires_grad=True, device="cpu")
    y = x.to("gpu")
    assert y.device == "gpu" and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]


def test_arithmetic_methods_and_alpha():
    x = tensor([1.0, 2.0, 3.0])
    assert x.add(tensor([1.0, 1.0, 1.0]), alpha=2).tolist() == [3.0, 4.0, 5.0]
    assert x.sub(1, alpha=0.5).tolist() == [0.5, 1.5, 2.5]
    assert x.mul(2).div(4).neg().pow(2).tolist() == [0.25, 1.0, 2.25]
    assert tensor([[1.0, 2.0]]).matmul(tensor([[3.0], [4.0]])).tolist() == [[11.0]]
    with pytest.raises(RuntimeError, match="alpha"):
        tensor([1, 2]).add(tensor([1, 2]), alpha=0.5)


def test_div_rounding_modes_and_their_zero_gradient():
    assert tensor([7, -7]).div(2, rounding_mode="trunc").tolist() == [3, -3]
    assert tensor([7, -7]).div(2, rounding_mode="floor").tolist() == [3, -4]
    x = tensor([7.0, -7.0], requires_grad=True)
    y = x.div(2.0, rounding_mode="trunc") + x.div(2.0, rounding_mode="floor")
    assert y.tolist() == [6.0, -7.0] and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]  # torch: zeros (its x // y refuses a backward)
    with pytest.raises(RuntimeError, match="rounding_mode"):
        x.div(2.0, rounding_mode="round")


def test_view_flatten_unsqueeze_t():
    x = arange(2, 3, 4)
    assert x.view(-1, 4).shape == (6, 4) and x.view((24,)).shape == (24,)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4) and tensor(3.0).flatten().shape == (1,)
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1) and x.unsqueeze(3).shape == (2, 3, 4, 1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unsqueeze(5)  # was: (2, 3, 4, 1) silently
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        x.flatten(2, 1)
    assert arange(2, 3).t().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert not arange(2, 3).t().is_contiguous() and arange(2, 3).t().contiguous().is_contiguous()


def test_expand_repeat_flip_values_and_gradients():
    x = tensor([[1.0], [2.0]], requires_grad=True)
    assert x.expand(2, 3).tolist() == [[1.0] * 3, [2.0] * 3]
    assert x.expand(2, -1, 2).shape == (2, 2, 2)
    x.expand(2, 2, 3).sum().backward()
    assert x.grad.tolist() == [[6.0], [6.0]]  # each element used 2 * 3 times
    with pytest.raises(RuntimeError, match="must match the existing size"):
        x.expand(3, 3)
    y = tensor([1.0, 2.0], requires_grad=True)
    assert y.repeat(2).tolist() == [1.0, 2.0, 1.0, 2.0]
    assert y.repeat(2, 2).tolist() == [[1.0, 2.0, 1.0, 2.0]] * 2
    (y.repeat(3, 1) * tensor([1.0, 10.0])).sum().backward()
    assert y.grad.tolist() == [3.0, 30.0]
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        arange(2, 2).repeat(2)
    z = arange(2, 3)
    assert z.flip(0).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    assert z.flip([0, 1]).tolist() == [[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]
    assert z.flip(-1).tolist() == [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]


def test_split_and_chunk_sizes_as_torch():
    x = arange(6)
    assert [p.tolist() for p in x.split(4)] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
    assert [p.shape for p in x.split([1, 5])] == [(1,), (5,)]
    assert [p.shape for p in x.chunk(4)] == [(2,), (2,), (2,)]  # ceil(6 / 4) = 2 each
    assert [p.shape for p in arange(5).chunk(3)] == [(2,), (2,), (1,)]
    assert [p.shape for p in arange(2, 5).split(2, dim=1)] == [(2, 2), (2, 2), (2, 1)]
    with pytest.raises(RuntimeError, match="sum exactly to 6"):
        x.split([2, 3])


def test_size_numel_dim_and_axis_spellings():
    x = arange(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2 and x.size(dim=0) == 2
    assert x.size == 6 and x.numel() == 6 and x.dim() == 2  # size stays NumPy's count too
    assert x.sum(axis=0).tolist() == [3.0, 5.0, 7.0]  # torch takes NumPy's names as aliases
    assert x.mean(axis=1, keepdims=True).tolist() == [[1.0], [4.0]]
    with pytest.raises(IndexError):
        x.size(2)


def test_factories_dtypes_and_shapes():
    from gradzoo import engine

    assert engine.zeros(2, 3).shape == engine.zeros((2, 3)).shape == (2, 3)
    assert engine.zeros(2).dtype == np.float32 and engine.ones(()).shape == ()
    assert engine.arange(5).dtype == np.int64 and engine.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert engine.arange(1.0, 2.0, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert engine.arange(0, 1, 0.5).dtype == np.float32
    assert engine.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    assert engine.full((2,), 7).dtype == np.int64 and engine.full((2,), 7.0).dtype == np.float32
    assert engine.full((1,), True).dtype == np.bool_
    assert engine.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert engine.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert engine.full_like(tensor([1, 2]), 2.7).tolist() == [2, 2]  # input's dtype
    assert engine.zeros_like(tensor([1.0]), dtype="float64").dtype == np.float64
    assert engine.ones(2, requires_grad=True).is_leaf and engine.rand(3).requires_grad is False
    with pytest.raises(RuntimeError):
        engine.zeros(2, dtype="int64", requires_grad=True)


def test_random_factories_draw_from_the_seeded_generator():
    from gradzoo import engine

    engine.manual_seed(3)
    first = (engine.rand(4).tolist(), engine.randn(2, 2).tolist(), engine.randint(5, (6,)))
    engine.manual_seed(3)
    again = (engine.rand(4).tolist(), engine.randn(2, 2).tolist(), engine.randint(5, (6,)))
    assert first[:2] == again[:2] and first[2].tolist() == again[2].tolist()
    values = engine.randint(3, 6, (200,)).numpy()
    assert values.dtype == np.int64 and values.min() == 3 and values.max() == 5
    assert engine.rand_like(tensor([1.0], dtype="float64")).dtype == np.float64
    assert engine.randint_like(tensor([1.0, 2.0]), 4).dtype == np.float32
    assert sorted(engine.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert tensor([1.0]).new_zeros(2, 3).shape == (2, 3)
    assert tensor([1]).new_full((2,), 5).tolist() == [5, 5]


def test_cat_is_concat_along_dim_0():
    from gradzoo import engine

    a, b = tensor([[1.0]]), tensor([[2.0]])
    assert F.cat([a, b]).tolist() == [[1.0], [2.0]] == engine.cat((a, b)).tolist()
    assert F.cat([a, b], 1).tolist() == [[1.0, 2.0]]


# ---- losses, einsum and attention ----


def test_attention_float_mask_that_requires_grad_gets_its_gradient():
    """Divergence: a float attn_mask requiring grad got none (nor did the output)."""
    q = k = v = tensor(np.eye(2)[None])
    mask = tensor([[0.0, 1.0], [0.5, 0.0]], requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.requires_grad
    out[..., 0].sum().backward()
    # torch: d out[i, 0] / d mask[i, j] = P_i0 (delta_j0 - P_ij), P = softmax(q k^T / sqrt(2) + M)
    scores = np.eye(2) / np.sqrt(2) + np.array([[0.0, 1.0], [0.5, 0.0]])
    p = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    expected = p[:, :1] * (np.eye(2)[0][None, :] - p)
    np.testing.assert_allclose(mask.grad.numpy(), expected, rtol=1e-5)


def test_attention_refuses_is_causal_with_a_mask():
    """Divergence: is_causal=True with an attn_mask was accepted; PyTorch raises RuntimeError."""
    q = tensor(np.ones((1, 2, 2)))
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tensor([[True, True]] * 2),
                                       is_causal=True)


def test_loss_reductions_as_torch():
    """Every loss takes reduction='mean'|'sum'|'none' (values from PyTorch's formulas)."""
    a, b = tensor([1.0, -2.0, 0.5]), tensor([0.0, 0.0, 0.0])
    assert F.mse_loss(a, b, reduction="sum").item() == pytest.approx(5.25)
    assert F.mse_loss(a, b, reduction="none").tolist() == [1.0, 4.0, 0.25]
    assert F.l1_loss(a, b).item() == pytest.approx(3.5 / 3)
    assert F.smooth_l1_loss(a, b, reduction="none").tolist() == [0.5, 1.5, 0.125]
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(a, b, reduction="avg")


def test_cross_entropy_reduction_weight_label_smoothing():
    """Divergence: cross_entropy had no reduction, weight, label_smoothing or soft targets."""
    logits = tensor([[0.0, 0.0], [0.0, 0.0]])
    target = tensor([0, 1])
    log_half = np.log(0.5)
    assert F.cross_entropy(logits, target, reduction="none").tolist() == \
        pytest.approx([-log_half, -log_half])
    assert F.cross_entropy(logits, target, reduction="sum").item() == pytest.approx(-2 * log_half)
    # uniform logits: every smoothing and weighting gives -log(1/2) per counted weight
    assert F.cross_entropy(logits, target, weight=tensor([1.0, 3.0]),
                           label_smoothing=0.3).item() == pytest.approx(-log_half)
    assert F.cross_entropy(logits, tensor([[0.25, 0.75], [1.0, 0.0]])).item() == \
        pytest.approx(-log_half)
    # label smoothing 0.2 on logits [0, log 3] (p = [1/4, 3/4]), target 1:
    # 0.9 * -log(3/4) + 0.1 * -log(1/4)
    smoothed = F.cross_entropy(tensor([[0.0, np.log(3.0)]]), tensor([1]), label_smoothing=0.2)
    assert smoothed.item() == pytest.approx(-0.9 * np.log(0.75) - 0.1 * np.log(0.25), rel=1e-6)


def test_nll_loss_classes_on_dim_1():
    """nll_loss follows PyTorch: (N, C, d) inputs take the classes on dim 1."""
    x = tensor(np.arange(12.0).reshape(1, 3, 4))  # classes on dim 1
    target = tensor([[0, 1, 2, -100]])
    loss = F.nll_loss(x, target, reduction="none")
    assert loss.tolist() == [[-0.0, -5.0, -10.0, 0.0]]
    assert F.nll_loss(x, target).item() == pytest.approx(-5.0)


def test_binary_cross_entropy_clamps_its_logs_and_is_stable_with_logits():
    """BCE of a certain wrong answer is 100 (log clamped at -100); with logits it is finite."""
    assert F.binary_cross_entropy(tensor([0.0, 1.0]), tensor([1.0, 0.0]),
                                  reduction="none").tolist() == [100.0, 100.0]
    loss = F.binary_cross_entropy_with_logits(tensor([200.0, -200.0]), tensor([0.0, 1.0]),
                                              reduction="none")
    assert loss.tolist() == [200.0, 200.0]
    x = tensor([0.5], requires_grad=True)
    F.binary_cross_entropy_with_logits(x, tensor([1.0]), pos_weight=tensor([2.0])).backward()
    assert x.grad.item() == pytest.approx(-2.0 / (1.0 + np.exp(0.5)), rel=1e-6)


def test_kl_div_mean_is_over_elements_and_batchmean_over_the_batch():
    log_q, p = tensor([[np.log(0.5), np.log(0.5)]] * 2), tensor([[1.0, 0.0]] * 2)
    assert F.kl_div(log_q, p, reduction="sum").item() == pytest.approx(2 * np.log(2))
    assert F.kl_div(log_q, p).item() == pytest.approx(np.log(2) / 2)
    assert F.kl_div(log_q, p, reduction="batchmean").item() == pytest.approx(np.log(2))


def test_einsum_two_operand_contractions():
    a, b = tensor([[1.0, 2.0], [3.0, 4.0]]), tensor([[5.0, 6.0], [7.0, 8.0]])
    assert F.einsum("ij,jk->ik", a, b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert F.einsum("ij,jk", a, b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert F.einsum("ij->ji", a).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert F.einsum("ii->", a).item() == 5.0
    assert F.einsum("i,i->", a[0], b[0]).item() == 17.0
    assert F.einsum("ba,ca", a, b).tolist() == [[17.0, 23.0], [39.0, 53.0]]


def test_loss_modules():
    from gradzoo.engine import nn

    logits, target = tensor([[0.0, 0.0]]), tensor([1])
    assert nn.CrossEntropyLoss(reduction="sum")(logits, target).item() == \
        pytest.approx(np.log(2))
    assert nn.NLLLoss()(logits, target).item() == 0.0
    assert nn.MSELoss()(tensor([2.0]), tensor([0.0])).item() == 4.0
    assert nn.L1Loss(reduction="none")(tensor([2.0]), tensor([0.0])).tolist() == [2.0]
    assert "weight" in nn.BCELoss(weight=tensor([1.0])).state_dict()


def test_functional_normalize_gives_unit_vectors_and_leaves_zeros():
    # torch: F.normalize(x, p=2, dim=1, eps=1e-12) divides by max(norm, eps)
    x = tensor([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(F.normalize(x).numpy(), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(F.normalize(x, p=1, dim=0).numpy(), [[1.0, 1.0], [0.0, 0.0]])
