"""The gradient checker itself: it passes right backwards, catches wrong ones, and says where."""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import Function, GradcheckError, gradcheck, tensor
from gradzoo.engine.gradcheck import GradcheckReport


class SquareMissingFactor(Function):
    """x^2 with the factor 2 forgotten in backward: a classic slip."""

    def forward(self, x):
        return x * x

    def backward(self, grad):
        return (grad * self.inputs[0].data,)


class WrongOnlyAtLastElement(Function):
    """Doubling whose gradient is wrong for the last element only."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        g = 2 * grad
        g.reshape(-1)[-1] += 1.0
        return (g,)


class ToFloat32(Function):
    """An op that silently drops float64 to float32."""

    def forward(self, x):
        return x.astype("float32")

    def backward(self, grad):
        return (grad.astype(self.inputs[0].dtype),)


def test_report_for_a_correct_gradient():
    report = gradcheck(lambda a, b: (a * b).tanh(), [np.ones((2, 3)), tensor([0.5, -1.0, 2.0])])
    assert isinstance(report, GradcheckReport) and report.passed
    assert [check.checked for check in report.inputs] == [6, 3]
    assert report.checked == 9
    assert report.max_abs_error < 1e-8 and report.max_rel_error < 1e-6
    assert report.inputs[0].worst_element is not None and len(report.inputs[0].worst_element) == 2
    text = str(report)
    assert "gradcheck passed" in text and "input 0: shape (2, 3), 6 elements" in text


def test_wrong_backward_raises_naming_input_element_and_values():
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareMissingFactor.apply, [tensor([3.0, 1.0])])
    error = info.value
    assert isinstance(error, AssertionError)
    assert error.input_index == 0 and error.element in {(0,), (1,)}
    assert error.numerical == pytest.approx(2 * error.analytic, rel=1e-6)
    message = str(error)
    assert "input 0" in message and f"element {error.element}" in message
    assert "SquareMissingFactor.apply" in message
    for label in ("analytic", "numerical", "difference"):
        assert label in message
    assert repr(error.analytic) in message and repr(error.numerical) in message


def test_the_worst_element_is_reported_with_its_multi_index():
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongOnlyAtLastElement.apply, [np.zeros((2, 3))])
    assert info.value.element == (1, 2)
    assert "1 of 6 elements of this input disagree" in str(info.value)


def test_each_input_is_checked_and_the_failing_one_named():
    def mixed(a, b):
        return a * 2 + SquareMissingFactor.apply(b)

    with pytest.raises(GradcheckError, match="failed for input 1 "):
        gradcheck(mixed, [np.ones(2), np.full(2, 3.0)])


def test_integer_inputs_are_passed_through_unchecked():
    report = gradcheck(lambda x, i: x[i], [np.arange(4.0), np.array([3, 3, 0])])
    assert [check.checked for check in report.inputs] == [4, 0]
    assert "input 1: shape (3,), nothing to check (integer or empty)" in str(report)


def test_non_scalar_outputs_are_fully_checked():
    """A backward that is wrong for one output element only must still be caught."""

    class WrongForSecondOutput(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            g = grad.copy()
            g[1] *= 3.0
            return (g,)

    with pytest.raises(GradcheckError):
        gradcheck(WrongForSecondOutput.apply, [np.ones(3)])


def test_the_inputs_themselves_are_left_untouched():
    x = tensor([1.0, 2.0], requires_grad=True)
    gradcheck(lambda x: x * x, [x])
    assert x.grad is None and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


def test_float64_must_be_kept():
    with pytest.raises(TypeError, match="returned a float32 tensor for float64 inputs"):
        gradcheck(ToFloat32.apply, [np.ones(2)])


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor, it returned ndarray"):
        gradcheck(lambda x: x.numpy(), [np.ones(2)])


def test_tolerances_are_respected():
    """A gradient off by 1e-3 passes with rtol=1e-2 and fails with the defaults."""

    class SlightlyOff(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            return (grad * 1.001,)

    gradcheck(SlightlyOff.apply, [np.ones(3)], rtol=1e-2)
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, [np.ones(3)], atol=0.0, rtol=1e-4)


def test_output_that_ignores_the_input_has_zero_gradient():
    report = gradcheck(lambda x, y: y * 2, [np.ones(2), np.ones(3)])
    assert report.passed and report.inputs[0].max_abs_error == 0.0
