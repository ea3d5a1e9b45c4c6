"""Convolution: values worked out by hand, the adjoint identity, the layers' names and init.

The gradients are checked against finite differences in test_ops_grad.py, the fused
ops against their composed twins in test_fused_ops.py, and both against PyTorch in a
scratch environment (the suite itself needs no torch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradzoo.engine import F, manual_seed, nn, tensor
from gradzoo.engine.ops import conv

X33 = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)       # 1 2 3 / 4 5 6 / 7 8 9
DIAGONAL = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # y[i, j] = x[i, j] - x[i + 1, j + 1]


def close(actual, expected, tol=1e-6):
    np.testing.assert_allclose(actual.numpy(), np.asarray(expected, dtype=np.float32),
                               rtol=tol, atol=tol)


def test_conv2d_by_hand_values_and_gradients(device):
    x = tensor(X33, requires_grad=True)
    w, b = tensor(DIAGONAL, requires_grad=True), tensor([0.5], requires_grad=True)
    y = F.conv2d(x, w, b)
    close(y, [[[[-3.5, -3.5], [-3.5, -3.5]]]])
    y.sum().backward()
    # each pixel: +1 for each window it opens (top left), -1 for each it closes
    close(x.grad, [[[[1, 1, 0], [1, 0, -1], [0, -1, -1]]]])
    # dL/dW[u, v] = sum of the pixels that weight met: the four 2x2 corners of X
    close(w.grad, [[[[12, 16], [24, 28]]]])
    close(b.grad, [4])


def test_conv2d_padding_and_stride_by_hand(device):
    # padded to 5x5 and read every second position: windows at (0,0) (0,2) (2,0) (2,2)
    y = F.conv2d(tensor(X33), tensor(DIAGONAL), stride=2, padding=1)
    close(y, [[[[0 - 1, 0 - 3], [0 - 7, 5 - 9]]]])


def test_conv_transpose2d_by_hand(device):
    x = tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    w = tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    # stride 2: each pixel paints its own 2x2 block
    close(F.conv_transpose2d(x, w, stride=2),
          [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]])
    # stride 1: the blocks overlap and add up
    y = F.conv_transpose2d(x, w)
    close(y, [[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]])
    y.sum().backward()
    close(x.grad, np.full((1, 1, 2, 2), 4.0))
    close(w.grad, np.full((1, 1, 2, 2), 10.0))
    # padding crops the border, output_padding adds a row and a column at the end
    assert F.conv_transpose2d(x, w, stride=2, padding=1).shape == (1, 1, 2, 2)
    assert F.conv_transpose2d(x, w, stride=2, output_padding=1).shape == (1, 1, 5, 5)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((3, 1), (0, 2))])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(device, stride, padding):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)> for every x and y."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    y_shape = F.conv2d(tensor(x), tensor(w), stride=stride, padding=padding).shape
    y = rng.standard_normal(y_shape)
    conv_x = F.conv2d(tensor(x, dtype="float64"), tensor(w, dtype="float64"), stride=stride,
                      padding=padding)
    back = F.conv_transpose2d(tensor(y, dtype="float64"), tensor(w, dtype="float64"),
                              stride=stride, padding=padding,
                              output_padding=_missing(x.shape, y_shape, w.shape, stride,
                                                      padding))
    assert back.shape == x.shape
    np.testing.assert_allclose((conv_x.numpy() * y).sum(), (x * back.numpy()).sum(), rtol=1e-10)


def _missing(x_shape, y_shape, w_shape, stride, padding):
    """The output_padding that brings conv_transpose2d back to x's size (a stride drops rows)."""
    (sh, sw), (ph, pw) = conv.pair(stride, "s"), conv.pair(padding, "p")
    return tuple(size - ((out - 1) * s - 2 * p + k)
                 for size, out, s, p, k in zip(x_shape[2:], y_shape[2:], (sh, sw), (ph, pw),
                                               w_shape[2:]))


def test_im2col_is_a_strided_view_of_the_input():
    x = np.arange(2 * 3 * 5 * 4, dtype=np.float32).reshape(2, 3, 5, 4)
    cols = conv.im2col(x, (2, 3), (2, 1), (2, 2))
    assert cols.shape == (3 * 2 * 3, 2 * 2 * 2)
    # column (n, i, j) is the receptive field of image n at rows 2i.., columns j..
    np.testing.assert_array_equal(cols[:, 1 * 4 + 1 * 2 + 1], x[1, :, 2:4, 1:4].reshape(-1))


def test_conv1d_is_conv2d_on_rows(device):
    y = F.conv1d(tensor([[[1.0, 2.0, 4.0, 8.0]]]), tensor([[[1.0, -1.0]]]), tensor([1.0]),
                 stride=2, padding=1)
    close(y, [[[0 - 1 + 1, 2 - 4 + 1, 8 - 0 + 1]]])


def test_conv_errors_say_what_is_wrong():
    x = tensor(np.ones((1, 3, 4, 4)))
    with pytest.raises(RuntimeError, match=r"3 channels.*expects 2"):
        F.conv2d(x, tensor(np.ones((5, 2, 3, 3))))
    with pytest.raises(RuntimeError, match=r"4-D input"):
        F.conv2d(tensor(np.ones((3, 4, 4))), tensor(np.ones((5, 3, 3, 3))))
    with pytest.raises(RuntimeError, match=r"smaller than the kernel"):
        F.conv2d(x, tensor(np.ones((5, 3, 5, 5))))
    with pytest.raises(RuntimeError, match=r"bias of shape"):
        F.conv2d(x, tensor(np.ones((5, 3, 3, 3))), tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match=r"output_padding"):
        F.conv_transpose2d(x, tensor(np.ones((3, 2, 3, 3))), stride=2, output_padding=2)


# ---------------------------------------------------------------------- layers


@pytest.mark.parametrize("layer, shapes", [
    (lambda: nn.Conv2d(3, 8, 3, stride=2, padding=1), {"weight": (8, 3, 3, 3), "bias": (8,)}),
    (lambda: nn.Conv2d(2, 4, (3, 5), bias=False), {"weight": (4, 2, 3, 5)}),
    (lambda: nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1),
     {"weight": (8, 3, 4, 4), "bias": (3,)}),
    (lambda: nn.Conv1d(3, 6, 5, padding=2), {"weight": (6, 3, 5), "bias": (6,)}),
])
def test_layers_have_pytorchs_names_shapes_and_init(layer, shapes):
    manual_seed(0)
    module = layer()
    state = module.state_dict()
    assert {name: tuple(t.shape) for name, t in state.items()} == shapes
    weight = state["weight"].numpy()
    bound = 1 / math.sqrt(math.prod(weight.shape[1:]))  # fan_in = weight.shape[1] * kH * kW
    for values in (state[name].numpy() for name in shapes):
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
    assert np.abs(weight).max() > 0.8 * bound and abs(weight.mean()) < 0.25 * bound


def test_conv_layers_state_dict_round_trip(device):
    manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                          nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1))
    manual_seed(2)
    copy = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = tensor(np.random.default_rng(0).standard_normal((2, 1, 5, 6)))
    assert model(x).shape == (2, 2, 10, 12)
    assert not np.allclose(model(x).numpy(), copy(x).numpy())
    copy.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(model(x).numpy(), copy(x).numpy())


def test_conv_layer_repr_reads_like_pytorchs():
    assert repr(nn.Conv2d(3, 8, 3, stride=2)) == (
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), bias=True)")
