"""Gradient checking: compare an op's analytic backward with finite differences.

For a function ``f`` of tensors, the analytic gradient comes from
``backward``; the numerical one from the central difference

    df/dx_i ~= (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

one element ``i`` at a time. Both are taken of the scalar ``L = sum(f(x) * R)``
for a fixed random ``R``, so every element of a non-scalar output is checked
(``dL/dx = J^T R``, a random mix of all the rows of the Jacobian ``J``).
Everything runs in float64, where the difference quotient is accurate to
about 1e-9.

>>> from gradzoo.engine import gradcheck, tensor
>>> x = tensor([[0.5, -1.0], [2.0, 0.25]])
>>> report = gradcheck(lambda x: (x * x).tanh(), [x])
>>> report.inputs[0].checked
4
>>> report.max_abs_error < 1e-8
True

A wrong backward is caught, and the error names the input and the element:

>>> from gradzoo.engine import Function
>>> class BadSquare(Function):
...     def forward(self, x):
...         return x * x
...     def backward(self, grad):
...         return (grad * self.inputs[0].data,)  # forgot the factor 2
>>> gradcheck(BadSquare.apply, [tensor([3.0])])  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
gradzoo.engine.gradcheck.GradcheckError: gradcheck failed for input 0 ... at element (0,):
    analytic   ...
    numerical  ...
    difference ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradzoo.engine import backend
from gradzoo.engine.autograd_mode import no_grad
from gradzoo.engine.tensor import Tensor

RANDOM_WEIGHTS_SEED = 0


class GradcheckError(AssertionError):
    """The analytic gradient of an input disagrees with the numerical one.

    Attributes name the first input that failed and its worst element:
    ``input_index``, ``element`` (a tuple index), ``analytic``, ``numerical``.
    """

    def __init__(self, message, input_index, element, analytic, numerical):
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.analytic = analytic
        self.numerical = numerical


@dataclass(frozen=True)
class InputCheck:
    """How the gradient of one input compared (``checked == 0``: an integer or empty input)."""

    index: int
    shape: tuple
    checked: int
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst_element: tuple | None = None
    mismatches: int = 0

    def __str__(self) -> str:
        if not self.checked:
            return f"input {self.index}: shape {self.shape}, nothing to check (integer or empty)"
        return (f"input {self.index}: shape {self.shape}, {self.checked} elements, "
                f"max abs error {self.max_abs_error:.3g}, max rel error "
                f"{self.max_rel_error:.3g}, worst at {self.worst_element}")


@dataclass(frozen=True)
class GradcheckReport:
    """The outcome of ``gradcheck``: one ``InputCheck`` per input, and the settings used."""

    inputs: tuple[InputCheck, ...]
    eps: float
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        return all(check.mismatches == 0 for check in self.inputs)

    @property
    def max_abs_error(self) -> float:
        return max((check.max_abs_error for check in self.inputs), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((check.max_rel_error for check in self.inputs), default=0.0)

    @property
    def checked(self) -> int:
        """Number of gradient elements compared, over all inputs."""
        return sum(check.checked for check in self.inputs)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"gradcheck {verdict} (eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"]
        lines += [f"  {check}" for check in self.inputs]
        return "\n".join(lines)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3) -> GradcheckReport:
    """Check the gradients of ``fn(*inputs)`` against central differences, in float64.

    ``fn`` takes tensors and returns one tensor; ``inputs`` is a list or tuple
    of tensors (or arrays). Floating inputs are copied to float64 on their
    device and all checked; integer inputs (indices, targets) are passed as
    they are. An element passes when ``|analytic - numerical| <= atol + rtol *
    |numerical|``. Returns a ``GradcheckReport``; raises ``GradcheckError``
    naming the input, the element, both values and their difference otherwise.
    """
    tensors = [_float64_copy(x) for x in inputs]
    output = _call(fn, tensors)
    weights = _random_weights(output)
    analytic = _analytic_gradients(output, weights, tensors)
    checks, numerical = [], []
    for i, x in enumerate(tensors):
        if not x.requires_grad:  # an integer input: nothing to differentiate
            numerical.append(None)
            checks.append(InputCheck(i, x.shape, 0))
            continue
        numerical.append(_numerical_gradient(fn, tensors, x, weights, eps))
        checks.append(_compare(i, x, analytic[i], numerical[i], atol, rtol))
    report = GradcheckReport(tuple(checks), eps, atol, rtol)
    for check in checks:
        if check.mismatches:
            raise _error(fn, check, analytic[check.index], numerical[check.index], report)
    return report


# ---------------------------------------------------------------------- the two gradients


def _float64_copy(x) -> Tensor:
    """A fresh float64 leaf requiring grad for a floating input; integer inputs unchanged."""
    if not isinstance(x, Tensor):
        as_given = Tensor(x)
        x = Tensor(x, dtype="float64") if backend.is_floating(as_given.dtype) else as_given
    if not backend.is_floating(x.dtype):
        return x
    copy = x.data.astype(backend.float64)  # a copy: gradcheck nudges it in place
    return Tensor(copy, requires_grad=True, dtype="float64", device=x.device)


def _call(fn, tensors) -> Tensor:
    output = fn(*tensors)
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, it returned {type(output).__name__}")
    if output.dtype != backend.float64:
        raise TypeError(f"gradcheck: fn returned a {output.dtype} tensor for float64 inputs; "
                        f"every op must keep float64 (no silent conversion)")
    return output


def _random_weights(output: Tensor):
    """The fixed random R of L = sum(output * R), on the output's device."""
    values = backend.new_rng(RANDOM_WEIGHTS_SEED).standard_normal(output.shape)
    return backend.make_array(values, backend.float64, output.device)


def _analytic_gradients(output: Tensor, weights, tensors) -> list:
    """dL/dx for each input as a flat list of floats (zeros where no gradient arrives)."""
    if output.requires_grad:
        output.backward(weights)
    gradients = []
    for x in tensors:
        if x.grad is None:
            gradients.append([0.0] * x.size)
        else:
            gradients.append(backend.to_host(x.grad.data).reshape(-1).tolist())
    return gradients


def _numerical_gradient(fn, tensors, x: Tensor, weights, eps: float) -> list:
    """Central differences of L, one element of ``x`` at a time (``x.data`` is nudged in place)."""
    gradient = []
    with no_grad():
        for flat_index in range(x.size):
            element = _unravel(flat_index, x.shape)
            original = x.data[element].item()
            x.data[element] = original + eps
            above = _weighted_sum(fn, tensors, weights)
            x.data[element] = original - eps
            below = _weighted_sum(fn, tensors, weights)
            x.data[element] = original
            gradient.append((above - below) / (2 * eps))
    return gradient


def _weighted_sum(fn, tensors, weights) -> float:
    return float((fn(*tensors).data * weights).sum())


def _unravel(flat_index: int, shape) -> tuple:
    """The multi-index of element ``flat_index`` in C order: 5 in (2, 3) -> (1, 2)."""
    element = []
    for size in reversed(shape):
        element.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(element))


# ---------------------------------------------------------------------- comparing


def _compare(index, x: Tensor, analytic, numerical, atol, rtol) -> InputCheck:
    """Errors of one input; the worst element is the one furthest outside its tolerance."""
    max_abs = max_rel = 0.0
    worst, worst_ratio, mismatches = None, -1.0, 0
    for flat_index, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        difference = abs(a - n)
        allowed = atol + rtol * abs(n)
        if not difference <= allowed:  # NaN fails too
            mismatches += 1
        ratio = math.inf if math.isnan(difference) else difference / allowed
        if ratio > worst_ratio:
            worst, worst_ratio = flat_index, ratio
        max_abs = math.nan if math.isnan(difference) else max(max_abs, difference)
        max_rel = max(max_rel, _relative(difference, n))
    worst_element = None if worst is None else _unravel(worst, x.shape)
    return InputCheck(index, x.shape, len(numerical), max_abs, max_rel, worst_element, mismatches)


def _relative(difference: float, numerical: float) -> float:
    """|a - n| / |n|; 0 when both agree exactly, inf when only n is 0."""
    if difference == 0:
        return 0.0
    return difference / abs(numerical) if numerical != 0 else math.inf


def _error(fn, check: InputCheck, analytic, numerical, report) -> GradcheckError:
    """A Chainer-style message: which input, which element, both values, the difference."""
    element = check.worst_element
    flat_index = _flat_index(element, check.shape)
    a, n = analytic[flat_index], numerical[flat_index]
    allowed = report.atol + report.rtol * abs(n)
    name = _describe(fn)
    message = (
        f"gradcheck failed for input {check.index} (shape {check.shape}) of {name} "
        f"at element {element}:\n"
        f"    analytic   {a!r}\n"
        f"    numerical  {n!r}\n"
        f"    difference {abs(a - n)!r} (allowed: atol + rtol * |numerical| = {allowed:.3g})\n"
        f"{check.mismatches} of {check.checked} elements of this input disagree.\n{report}")
    return GradcheckError(message, check.index, element, a, n)


def _describe(fn) -> str:
    """A readable name for ``fn``: ``Exp.apply`` for an op, the qualified name otherwise."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):
        return f"{owner.__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", type(fn).__name__)


def _flat_index(element, shape) -> int:
    flat_index = 0
    for i, size in zip(element, shape, strict=True):
        flat_index = flat_index * size + i
    return flat_index
