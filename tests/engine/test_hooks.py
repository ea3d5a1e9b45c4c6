"""engine/hooks.py: the public way for a tool to watch ops, module calls and backward steps."""

from __future__ import annotations

import doctest

import pytest

from gradzoo.engine import hooks, nn, no_grad, tensor


def test_op_recorded_sees_each_recorded_op_in_order():
    x = tensor(2.0, requires_grad=True)
    seen = []
    with hooks.op_recorded(seen.append):
        y = (x * x + 1.0).tanh()
        with no_grad():
            x * 3.0  # not recorded for backward: not seen
    (x * x).sum()  # after the with: not seen
    assert [fn.name for fn in seen] == ["Mul", "Add", "Tanh"]
    assert seen[-1] is y.creator
    assert [fn.sequence for fn in seen] == sorted(fn.sequence for fn in seen)


def test_every_active_op_callback_is_told():
    first, second = [], []
    with hooks.op_recorded(first.append), hooks.op_recorded(second.append):
        tensor(1.0, requires_grad=True).exp()
    assert len(first) == len(second) == 1


def test_module_wrappers_nest_the_first_outermost():
    order = []

    def wrapper(label):
        def run(module, forward, *args, **kwargs):
            order.append(f"{label} in {type(module).__name__}")
            output = forward(*args, **kwargs)
            order.append(f"{label} out")
            return output
        return run

    with hooks.module_called(wrapper("outer")), hooks.module_called(wrapper("inner")):
        y = nn.ReLU()(tensor([-1.0, 2.0]))
    assert y.numpy().tolist() == [0.0, 2.0]
    assert order == ["outer in ReLU", "inner in ReLU", "inner out", "outer out"]


def test_backward_step_sees_the_walk_in_the_engines_order():
    x = tensor(3.0, requires_grad=True)
    y = (x * x).tanh()
    steps = []
    with hooks.backward_step(lambda fn, grad, input_grads: steps.append(fn.name)):
        y.backward()
    assert steps == ["Tanh", "Mul"]
    assert x.grad is not None


def test_a_hook_goes_when_its_block_raises():
    with pytest.raises(KeyError), hooks.op_recorded(print):
        raise KeyError("the block stops here")
    assert not hooks._op_callbacks and not hooks._module_wrappers
    assert not hooks._backward_callbacks


def test_docstring_examples():
    assert doctest.testmod(hooks).failed == 0
