"""Pooling, upsampling and flattening: values worked out by hand, PyTorch's errors and layers."""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import F, nn, tensor

PICTURE = np.array([[[[1.0, 5.0, 2.0, 0.0],
                      [3.0, 4.0, 2.0, 1.0],
                      [0.0, 1.0, 6.0, 6.0],
                      [2.0, 3.0, 6.0, 0.0]]]])


def test_max_pool2d_by_hand_gradient_to_the_first_of_ties():
    x = tensor(PICTURE, requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert y.tolist() == [[[[5.0, 2.0], [3.0, 6.0]]]]
    y.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # windows: top right has 2, 2 (first: row 0), bottom right 6, 6, 6 (first: row 2, col 2)
    assert x.grad.tolist() == [[[[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                                 [0.0, 0.0, 4.0, 0.0], [0.0, 3.0, 0.0, 0.0]]]]


def test_max_pool2d_overlapping_windows_add_up_and_padding_is_minus_infinity():
    x = tensor(-np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1, padding=1)   # all values <= 0: padding never wins
    assert y.shape == (1, 1, 4, 4)
    assert y.numpy()[0, 0, 0].tolist() == [0.0, 0.0, -1.0, -2.0]
    y.sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [[4.0, 2.0, 2.0], [2.0, 1.0, 1.0], [2.0, 1.0, 1.0]]


def test_avg_pool2d_by_hand_padding_counted():
    x = tensor(PICTURE, requires_grad=True)
    assert F.avg_pool2d(x, 2).tolist() == [[[[3.25, 1.25], [1.5, 4.5]]]]
    y = F.avg_pool2d(x, 3, stride=3, padding=1)   # corner window: 1 + 5 + 3 + 4 over 9
    np.testing.assert_allclose(y.numpy()[0, 0, 0, 0], 13 / 9)
    F.avg_pool2d(x, (1, 2), stride=(1, 1)).sum().backward()
    assert x.grad.numpy()[0, 0, 0].tolist() == [0.5, 1.0, 1.0, 0.5]


def test_interpolate_nearest_by_hand_and_its_gradient_sums_each_block():
    x = tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    y = F.interpolate(x, scale_factor=(1, 3))
    assert y.tolist() == [[[[1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 4.0, 4.0, 4.0]]]]
    y.backward(np.arange(12.0).reshape(1, 1, 2, 6))
    assert x.grad.tolist() == [[[[3.0, 12.0], [21.0, 30.0]]]]
    assert F.interpolate(x, size=(4, 4)).tolist() == F.interpolate(x, scale_factor=2).tolist()
    assert F.interpolate(x, scale_factor=2.0).shape == (1, 1, 4, 4)


def test_float32_stays_float32():
    x = tensor(PICTURE, dtype="float32", requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1), F.interpolate(x, scale_factor=2)):
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), NotImplementedError,
     "mode 'bilinear' is not supported"),
    (lambda x: F.interpolate(x, scale_factor=1.5), NotImplementedError, "whole factors"),
    (lambda x: F.interpolate(x, size=(6, 5)), NotImplementedError, "multiple of the input"),
    (lambda x: F.interpolate(x, scale_factor=3, size=8), ValueError, "only one of"),
    (lambda x: F.interpolate(x, scale_factor=None), ValueError, "either size or scale_factor"),
    (lambda x: F.max_pool2d(x, 5), RuntimeError, "does not fit"),
    (lambda x: F.max_pool2d(x, 2, padding=2), RuntimeError, "at most half"),
    (lambda x: F.avg_pool2d(x[0, 0], 2), RuntimeError, r"\(N, C, H, W\)"),
])
def test_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(tensor(PICTURE))


def test_layers_and_a_state_dict_round_trip_in_torchs_numbering():
    def lenet():
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.SiLU(), nn.MaxPool2d(2),
                             nn.Conv2d(2, 2, 3, padding=1), nn.AvgPool2d(2, stride=2),
                             nn.Upsample(scale_factor=2), nn.Flatten(), nn.Linear(8, 3))
    model, copy = lenet(), lenet()
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias",
                                        "7.weight", "7.bias"]   # torch.nn.Sequential's names
    copy.load_state_dict(model.state_dict())
    x = tensor(PICTURE)
    np.testing.assert_array_equal(copy(x).numpy(), model(x).numpy())
    assert model(x).shape == (1, 3)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2, mode='nearest')"
    assert nn.Flatten(0, 2)(x).shape == (4, 4)
    assert nn.MaxPool2d(3, 1, 1)(x[0]).shape == (1, 4, 4)   # one picture (C, H, W)
    with pytest.raises(ValueError, match="exactly one of scale_factor or size"):
        nn.Upsample()


def test_avg_pool2d_refuses_integers_rather_than_giving_float64():
    with pytest.raises(RuntimeError, match="float tensor"):
        F.avg_pool2d(tensor(np.arange(16).reshape(1, 1, 4, 4)), 2)
