"""Group and batch normalisation: values worked out by hand, the running estimates,
PyTorch's state_dict names, and the errors for shapes that do not fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradzoo.engine import F, nn, tensor

R = 1 / math.sqrt(2 / 3 + 1e-5)  # 1 / sqrt(var + eps) of [0, 1, 2]: var = 2/3


def close(t, expected, tol=1e-5):
    np.testing.assert_allclose(t.numpy(), expected, rtol=tol, atol=tol)
    assert t.shape == np.shape(expected)


# ---------------------------------------------------------------------- F.group_norm


def test_group_norm_by_hand(device):
    x = tensor([[[1.0, 3.0], [5.0, 5.0]]], device=device, requires_grad=True)  # (1, 2, 2)
    # two groups, one channel each: [1, 3] -> mean 2, var 1; [5, 5] is constant -> 0
    close(F.group_norm(x, 2), [[[-0.999995, 0.999995], [0.0, 0.0]]])
    # one group of [1, 3, 5, 5]: mean 3.5, var (6.25 + 0.25 + 2.25 + 2.25) / 4 = 2.75;
    # then weight [2, -1] and bias [0, 1] per channel
    x_hat = np.array([-2.5, -0.5, 1.5, 1.5]) / math.sqrt(2.75 + 1e-5)
    weight = tensor([2.0, -1.0], device=device, requires_grad=True)
    bias = tensor([0.0, 1.0], device=device, requires_grad=True)
    y = F.group_norm(x, 1, weight, bias)
    close(y, [[[2 * x_hat[0], 2 * x_hat[1]], [1 - x_hat[2], 1 - x_hat[3]]]])
    y[0, 0, 0].backward()  # g = 1 at one element: dweight[0] = x_hat[0], dbias[0] = 1
    close(weight.grad, [x_hat[0], 0.0])
    close(bias.grad, [1.0, 0.0])
    # dL/dx = r (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)), g_hat = [2, 0, 0, 0]
    g_hat = np.array([2.0, 0, 0, 0])
    expected = (g_hat - g_hat.mean() - x_hat * (g_hat * x_hat).mean()) / math.sqrt(2.75 + 1e-5)
    close(x.grad, expected.reshape(1, 2, 2))


def test_group_norm_keeps_samples_apart_and_spatial_dims():
    x = tensor(np.arange(2 * 4 * 3 * 2, dtype=np.float32).reshape(2, 4, 3, 2))
    y = F.group_norm(x, 2).numpy().reshape(2, 2, 12)  # each (sample, group): 0..11 shifted
    ramp = (np.arange(12) - 5.5) / math.sqrt(np.var(np.arange(12)) + 1e-5)
    np.testing.assert_allclose(y, np.broadcast_to(ramp, (2, 2, 12)), rtol=1e-5, atol=1e-5)


def test_group_norm_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(RuntimeError, match=r"group_norm: .*5 channels|num_groups=2.*\(1, 5, 3\)"):
        F.group_norm(tensor(np.ones((1, 5, 3))), 2)
    with pytest.raises(RuntimeError, match=r"weight must have one number per channel"):
        F.group_norm(tensor(np.ones((1, 4, 3))), 2, tensor(np.ones(2)))
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups"):
        nn.GroupNorm(2, 5)


# ---------------------------------------------------------------------- F.batch_norm


def test_batch_norm_training_by_hand(device):
    x = tensor([[0.0], [1.0], [2.0]], device=device, requires_grad=True)  # (N 3, C 1)
    mean, var = tensor([0.0], device=device), tensor([1.0], device=device)
    weight = tensor([2.0], device=device, requires_grad=True)
    y = F.batch_norm(x, mean, var, weight, training=True, momentum=0.1)
    close(y, [[-2 * 1.0 * R], [0.0], [2 * 1.0 * R]])       # x_hat = (x - 1) * R
    close(mean, [0.1])                                      # 0.9 * 0 + 0.1 * 1
    close(var, [0.9 + 0.1 * 1.0])                           # unbiased variance of [0, 1, 2]: 1
    y[0, 0].backward()
    # g = [1, 0, 0]: dweight = x_hat[0] = -R; dx = w R (g - 1/3 - x_hat * (-R / 3))
    close(weight.grad, [-R])
    x_hat = np.array([-R, 0.0, R])
    close(x.grad, (2 * R * (np.array([1.0, 0, 0]) - 1 / 3 + x_hat * R / 3)).reshape(3, 1))


def test_batch_norm_eval_uses_the_running_estimates(device):
    x = tensor([[[1.0, 3.0]], [[5.0, 7.0]]], device=device, requires_grad=True)  # (2, 1, 2)
    mean, var = tensor([2.0], device=device), tensor([4.0], device=device)
    y = F.batch_norm(x, mean, var, eps=0.0)
    close(y, [[[-0.5, 0.5]], [[1.5, 2.5]]])                 # (x - 2) / 2
    y.sum().backward()
    close(x.grad, np.full((2, 1, 2), 0.5))                  # the statistics are constants
    close(mean, [2.0])
    close(var, [4.0])


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        F.batch_norm(tensor(np.ones((1, 3))), None, None, training=True)
    with pytest.raises(RuntimeError, match=r"running_mean and running_var must be given"):
        F.batch_norm(tensor(np.ones((2, 3))), None, None)
    with pytest.raises(RuntimeError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(tensor(np.ones((2, 3))), tensor(np.zeros(2)), tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected a 4D input \(got 3D"):
        nn.BatchNorm2d(3)(tensor(np.ones((2, 3, 4))))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected a 2D or 3D input"):
        nn.BatchNorm1d(3)(tensor(np.ones((2, 3, 4, 4))))


# ---------------------------------------------------------------------- the layers


def test_layers_have_pytorchs_parameters_buffers_and_defaults():
    norm = nn.GroupNorm(2, 4)
    assert {name: t.shape for name, t in norm.state_dict().items()} == \
        {"weight": (4,), "bias": (4,)}
    close(norm.weight, np.ones(4))
    close(norm.bias, np.zeros(4))
    assert [name for name, _ in nn.GroupNorm(2, 4, affine=False).named_parameters()] == []
    batch = nn.BatchNorm2d(3)
    state = batch.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var",
                           "num_batches_tracked"]
    assert [name for name, _ in batch.named_parameters()] == ["weight", "bias"]
    close(state["running_mean"], np.zeros(3))
    close(state["running_var"], np.ones(3))
    assert state["num_batches_tracked"].shape == () and state["num_batches_tracked"].item() == 0
    assert str(state["num_batches_tracked"].dtype) == "int64"
    assert list(nn.BatchNorm2d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert list(nn.BatchNorm1d(3, bias=False).state_dict())[:2] == ["weight", "running_mean"]
    assert repr(batch) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                           "track_running_stats=True)")
    assert repr(norm) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"


def test_batch_norm_layer_trains_then_evaluates(device):
    norm = nn.BatchNorm1d(1, momentum=0.5, device=device)
    for batch in ([[0.0], [2.0]], [[4.0], [4.0], [7.0]]):
        norm(tensor(batch, device=device))
    # running_mean: 0.5 * 0 + 0.5 * 1 = 0.5, then 0.5 * 0.5 + 0.5 * 5 = 2.75
    # running_var: 0.5 * 1 + 0.5 * 2 = 1.5 (unbiased), then 0.5 * 1.5 + 0.5 * 3 = 2.25
    close(norm.running_mean, [2.75])
    close(norm.running_var, [2.25])
    assert norm.num_batches_tracked.item() == 2
    norm.eval()
    close(norm(tensor([[2.75], [4.25]], device=device)), [[0.0], [1.5 / math.sqrt(2.25001)]])
    assert norm.num_batches_tracked.item() == 2               # eval moves nothing
    close(norm.running_mean, [2.75])


def test_momentum_none_is_the_average_of_every_batch():
    norm = nn.BatchNorm1d(1, momentum=None)
    for batch in ([[0.0], [2.0]], [[4.0], [6.0]], [[5.0], [9.0]]):
        norm(tensor(batch))
    close(norm.running_mean, [(1.0 + 5.0 + 7.0) / 3])
    close(norm.running_var, [(2.0 + 2.0 + 8.0) / 3])


def test_without_running_stats_eval_normalises_by_the_batch():
    norm = nn.BatchNorm1d(1, track_running_stats=False).eval()
    close(norm(tensor([[1.0], [3.0]])), [[-0.999995], [0.999995]])


def test_state_dict_round_trip_keeps_outputs_and_counts(device):
    rng = np.random.default_rng(0)
    source = nn.BatchNorm2d(3, device=device)
    for _ in range(3):
        source(tensor(rng.standard_normal((4, 3, 5, 5)), device=device))
    source.weight.data[...] = source.weight.data * 1.5
    target = nn.BatchNorm2d(3, device=device)
    target.load_state_dict(source.state_dict())
    assert target.num_batches_tracked.item() == 3
    assert str(target.num_batches_tracked.dtype) == "int64"
    x = tensor(rng.standard_normal((2, 3, 4, 4)), device=device)
    for mode in ("train", "eval"):
        getattr(source, mode)(), getattr(target, mode)()
        np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())
    groups = nn.GroupNorm(3, 6, device=device)
    groups.bias.data[...] = groups.bias.data + 0.25
    copy = nn.GroupNorm(3, 6, device=device)
    copy.load_state_dict(groups.state_dict())
    x = tensor(rng.standard_normal((2, 6, 3, 3)), device=device)
    np.testing.assert_array_equal(copy(x).numpy(), groups(x).numpy())


def test_float64_conversion_keeps_the_batch_counter_an_integer():
    norm = nn.BatchNorm2d(2).to("float64")
    assert str(norm.running_mean.dtype) == "float64"
    assert str(norm.num_batches_tracked.dtype) == "int64"
    y = norm(tensor(np.arange(16.0).reshape(2, 2, 2, 2), dtype="float64"))
    assert str(y.dtype) == "float64" and norm.num_batches_tracked.item() == 1
