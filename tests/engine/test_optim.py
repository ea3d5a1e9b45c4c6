"""Optimizers against two update steps worked out by hand, and exact resumption.

Tests that take ``device`` run on the CPU and on the GPU code path (tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import nn, optim, tensor


def run(optimizer_class, gradients, start=1.0, **options):
    """Apply one step per gradient to a one-element parameter; return its values after each."""
    param = nn.Parameter([start])
    optimizer = optimizer_class([param], **options)
    values = []
    for g in gradients:
        param.grad = tensor([g])
        optimizer.step()
        values.append(param.item())
    assert param.dtype == np.float32  # no float64 crept in
    return values


def test_sgd_by_hand(device):
    # p = p - lr * g:  1 - 0.1 * 2 = 0.8;  0.8 - 0.1 * (-1) = 0.9
    assert run(optim.SGD, [2.0, -1.0], lr=0.1) == pytest.approx([0.8, 0.9])


def test_sgd_momentum_and_weight_decay_by_hand(device):
    # step 1: g = 2 + 0.1 * 1 = 2.1;  b = g = 2.1 (first step);  p = 1 - 0.1 * 2.1 = 0.79
    # step 2: g = -1 + 0.1 * 0.79 = -0.921;  b = 0.9 * 2.1 - 0.921 = 0.969
    #         p = 0.79 - 0.1 * 0.969 = 0.6931
    values = run(optim.SGD, [2.0, -1.0], lr=0.1, momentum=0.9, weight_decay=0.1)
    assert values == pytest.approx([0.79, 0.6931], rel=1e-6)


def test_adam_by_hand_with_bias_correction(device):
    # lr 0.1, betas (0.9, 0.999), eps 1e-8, p = 1
    # step 1, g = 2:  m = 0.1 * 2 = 0.2,  v = 0.001 * 4 = 0.004
    #   m_hat = 0.2 / (1 - 0.9) = 2,  v_hat = 0.004 / (1 - 0.999) = 4
    #   p = 1 - 0.1 * 2 / (sqrt(4) + 1e-8) = 0.9
    # step 2, g = -1:  m = 0.9 * 0.2 + 0.1 * (-1) = 0.08,  v = 0.999 * 0.004 + 0.001 * 1 = 0.004996
    #   m_hat = 0.08 / (1 - 0.81) = 0.421053,  v_hat = 0.004996 / (1 - 0.998001) = 2.499250
    #   p = 0.9 - 0.1 * 0.421053 / 1.580902 = 0.873366
    values = run(optim.Adam, [2.0, -1.0], lr=0.1)
    assert values == pytest.approx([0.9, 0.873366], rel=1e-6)


def test_adam_first_step_is_lr_whatever_the_gradient_scale():
    # bias correction: m_hat / sqrt(v_hat) = g / |g| = 1 on step 1, so p moves by lr exactly
    assert run(optim.Adam, [1e-3], lr=0.1) == pytest.approx([0.9], rel=1e-5)
    assert run(optim.Adam, [1e3], lr=0.1) == pytest.approx([0.9], rel=1e-6)


def test_adam_weight_decay_is_l2_added_to_the_gradient(device):
    # step 1: g = 2 + 0.5 * 1 = 2.5;  m_hat = 2.5, v_hat = 6.25;  p = 1 - 0.1 * 2.5 / 2.5 = 0.9
    # step 2: g = -1 + 0.5 * 0.9 = -0.55;  m = 0.9 * 0.25 - 0.1 * 0.55 = 0.17
    #   v = 0.999 * 0.00625 + 0.001 * 0.3025 = 0.00654625
    #   m_hat = 0.17 / 0.19 = 0.894737,  v_hat = 0.00654625 / 0.001999 = 3.274762
    #   p = 0.9 - 0.1 * 0.894737 / 1.809630 = 0.850557
    values = run(optim.Adam, [2.0, -1.0], lr=0.1, weight_decay=0.5)
    assert values == pytest.approx([0.9, 0.850557], rel=1e-6)


def test_adamw_decays_the_weights_directly(device):
    # step 1: p = 1 * (1 - 0.1 * 0.5) = 0.95, then the plain Adam step of -0.1: 0.85
    # step 2: p = 0.85 * 0.95 = 0.8075, then Adam's second step of test_adam_by_hand
    #   (-0.1 * 0.421053 / 1.580902 = -0.026634): 0.780866
    values = run(optim.AdamW, [2.0, -1.0], lr=0.1, weight_decay=0.5)
    assert values == pytest.approx([0.85, 0.780866], rel=1e-6)
    assert optim.AdamW([nn.Parameter([1.0])]).weight_decay == 0.01  # PyTorch's default


def test_params_without_gradient_are_left_alone_and_zero_grad_clears():
    used, unused = nn.Parameter([1.0]), nn.Parameter([1.0])
    optimizer = optim.Adam([used, unused], lr=0.1)
    used.grad = tensor([1.0])
    optimizer.step()
    assert unused.item() == 1.0 and used.item() != 1.0
    optimizer.zero_grad()
    assert used.grad is None


def test_lr_can_be_changed_between_steps():
    param = nn.Parameter([1.0])
    optimizer = optim.SGD([param], lr=0.1)
    optimizer.lr = 0.5
    param.grad = tensor([1.0])
    optimizer.step()
    assert param.item() == pytest.approx(0.5)


def test_a_model_trains(device):
    model = nn.Linear(1, 1)
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    x, y = tensor([[1.0], [2.0], [3.0]]), tensor([[3.0], [5.0], [7.0]])  # y = 2x + 1
    for _ in range(300):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
    assert model.weight.item() == pytest.approx(2.0, abs=0.05)
    assert model.bias.item() == pytest.approx(1.0, abs=0.1)


def gradients(step):
    return [tensor(np.full((2, 2), np.sin(step + 1.0))), tensor([np.cos(step + 1.0)] * 2)]


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda p: optim.Adam(p, lr=0.1, weight_decay=0.01),
    lambda p: optim.AdamW(p, lr=0.1),
])
def test_state_dict_resumes_exactly(make, device):
    def fresh():
        return [nn.Parameter(np.ones((2, 2))), nn.Parameter([0.5, -0.5])]

    def steps(params, optimizer, numbers):
        for step in numbers:
            for p, g in zip(params, gradients(step), strict=True):
                p.grad = g
            optimizer.step()

    straight = fresh()
    steps(straight, make(straight), range(4))

    first = fresh()
    first_optimizer = make(first)
    steps(first, first_optimizer, range(2))
    saved = first_optimizer.state_dict()
    assert isinstance(saved["lr"], float)
    resumed = [nn.Parameter(p.numpy()) for p in first]
    resumed_optimizer = make(resumed)
    resumed_optimizer.load_state_dict(saved)
    steps(resumed, resumed_optimizer, range(2, 4))
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_is_flat_and_named_by_parameter_index():
    params = [nn.Parameter([1.0]), nn.Parameter([2.0, 3.0])]
    optimizer = optim.Adam(params, lr=0.01)
    for p in params:
        p.grad = tensor(np.ones(p.shape))
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"lr", "step.0", "exp_avg.0", "exp_avg_sq.0",
                          "step.1", "exp_avg.1", "exp_avg_sq.1"}
    assert state["step.1"] == 1 and state["exp_avg.1"].shape == (2,)
    state["lr"] = tensor(0.5, dtype="float64")  # as io.load gives a saved number back
    optimizer.load_state_dict(state)
    assert optimizer.lr == 0.5


def test_load_state_dict_errors_name_the_key():
    optimizer = optim.SGD([nn.Parameter([1.0, 2.0])], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="'exp_avg.0'.*momentum_buffer"):
        optimizer.load_state_dict({"lr": 0.1, "exp_avg.0": tensor([0.0, 0.0])})
    with pytest.raises(ValueError, match="'momentum_buffer.3'"):
        optimizer.load_state_dict({"momentum_buffer.3": tensor([0.0, 0.0])})
    with pytest.raises(ValueError, match=r"'momentum_buffer.0' has shape \(3,\)"):
        optimizer.load_state_dict({"momentum_buffer.0": tensor([0.0, 0.0, 0.0])})


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.SGD([nn.Parameter([1.0])], lr=-1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([nn.Parameter([1.0])], betas=(0.9, 1.0))
    p = nn.Parameter([1.0])
    with pytest.raises(ValueError, match="more than once"):
        optim.Adam([p, p])
