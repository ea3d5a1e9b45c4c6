"""Optimizers: turn gradients into parameter updates, with PyTorch's exact rules.

Each ``step()`` reads ``param.grad`` and changes ``param.data`` in place. It
works on the raw arrays, so no graph is recorded (the update itself is never
differentiated), and it keeps float32 parameters float32: every scalar is a
Python float.

``state_dict()`` returns a flat dict that ``gradzoo.engine.io.save`` can write
to a safetensors file: numbers (``lr``) and Tensors named ``<buffer>.<i>`` for
parameter number i (``exp_avg.0``, ``momentum_buffer.3``). Loading it back
into an optimizer over the same parameters resumes training exactly.
"""

from __future__ import annotations

import math

from gradzoo.engine import backend
from gradzoo.engine.tensor import Tensor


class Optimizer:
    """Holds the parameters to update, the learning rate ``lr`` and per-parameter state.

    ``lr`` is a plain attribute: a schedule sets ``optimizer.lr = ...`` before a step.
    Subclasses define ``update(index, param, grad)`` for one parameter.
    """

    state_names: tuple[str, ...] = ()  # the per-parameter buffers a subclass keeps

    def __init__(self, params, lr: float):
        self.params = list(params)
        _check_params(self.params, type(self).__name__)
        _check_non_negative(type(self).__name__, lr=lr)
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]  # state[i]: buffers of param i

    def step(self) -> None:
        """Update every parameter that has a gradient (others are left alone)."""
        for index, param in enumerate(self.params):
            if param.grad is not None:
                self.update(index, param.data, param.grad.data)

    def update(self, index: int, param, grad) -> None:
        """Change the array ``param`` in place, given its gradient array ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def zero_grad(self) -> None:
        """Forget the gradients (set them to None) before the next backward pass."""
        for param in self.params:
            param.grad = None

    def _buffer(self, index: int, name: str, param):
        """Buffer ``name`` of parameter ``index``, created as zeros on first use."""
        buffers = self.state[index]
        if name not in buffers:
            buffers[name] = backend.xp_of(param).zeros_like(param)
        return buffers[name]

    # ------------------------------------------------------------------ saving and resuming

    def state_dict(self) -> dict:
        """``{"lr": float, "<buffer>.<i>": Tensor copy, "step.<i>": int, ...}`` (flat, saveable)."""
        state = {"lr": self.lr}
        for index, buffers in enumerate(self.state):
            for name, value in buffers.items():
                key = f"{name}.{index}"
                state[key] = value if isinstance(value, int) else \
                    Tensor._make(value.copy(), False, None)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore ``lr`` and the buffers from ``state_dict()`` (or from ``io.load`` of it)."""
        new_state: list[dict] = [{} for _ in self.params]
        for key, value in state.items():
            if key == "lr":
                continue
            name, index = self._parse_key(key)
            new_state[index][name] = self._restored(key, value, self.params[index])
        # only now that every key was understood: a bad dict changes nothing
        self.lr = float(_number(state.get("lr", self.lr)))
        self.state = new_state

    def _parse_key(self, key: str) -> tuple[str, int]:
        """``"exp_avg.3"`` -> ("exp_avg", 3), with an error that says what is allowed."""
        name, _, number = key.rpartition(".")
        if name not in self.state_names or not number.isdigit() \
                or int(number) >= len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected key '{key}'; "
                             f"keys are 'lr' and '<name>.<i>' with name in "
                             f"{list(self.state_names)} and i < {len(self.params)}")
        return name, int(number)

    def _restored(self, key: str, value, param: Tensor):
        """A saved value as this optimizer keeps it: an int step, or an array like ``param``."""
        if key.startswith("step."):
            return int(_number(value))
        data = value.data if isinstance(value, Tensor) else value
        if tuple(data.shape) != param.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: '{key}' has shape "
                             f"{tuple(data.shape)}, but parameter {key.rpartition('.')[2]} "
                             f"has shape {param.shape}")
        return backend.make_array(data, param.dtype, param.device).copy()


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and L2 weight decay (PyTorch's rule).

        g = grad + weight_decay * p
        b = momentum * b + g      (only when momentum > 0; b starts at 0, so b = g at first)
        p = p - lr * b
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        _check_non_negative("SGD", momentum=momentum, weight_decay=weight_decay)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)

    def update(self, index: int, param, grad) -> None:
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0.0:
            buffer = self._buffer(index, "momentum_buffer", param)
            buffer *= self.momentum
            buffer += grad
            grad = buffer
        param -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's rule; ``weight_decay`` is L2 added to the gradient.

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g          (running mean of gradients)
        v = beta2 * v + (1 - beta2) * g^2        (running mean of squared gradients)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)   (bias correction, t = step)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    m and v start at 0, so early averages are too small; dividing by
    (1 - beta^t) corrects exactly for that.
    """

    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1), got {betas}")
        _check_non_negative(type(self).__name__, eps=eps, weight_decay=weight_decay)
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def update(self, index: int, param, grad) -> None:
        beta1, beta2 = self.betas
        step = self.state[index].get("step", 0) + 1
        self.state[index]["step"] = step
        exp_avg = self._buffer(index, "exp_avg", param)
        exp_avg_sq = self._buffer(index, "exp_avg_sq", param)
        if param.ndim == 0:  # 1-element views, so that the in-place steps below stay in place
            param, grad, exp_avg, exp_avg_sq = (a.reshape(1) for a in
                                                (param, grad, exp_avg, exp_avg_sq))
        step_size = self.lr / (1.0 - beta1 ** step)      # lr / (1 - beta1^t)
        correction2_sqrt = math.sqrt(1.0 - beta2 ** step)  # sqrt(1 - beta2^t)
        decay, l2 = self.decay_factors()
        adam_update(param, grad, exp_avg, exp_avg_sq, decay, l2, beta1, beta2, step_size,
                    correction2_sqrt, self.eps)

    def decay_factors(self) -> tuple[float, float]:
        """(decay, l2): p *= decay first, then g = grad + l2 * p (Adam: L2 in the gradient)."""
        return 1.0, self.weight_decay


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's rule.

        p = p * (1 - lr * weight_decay)     (shrink the weights directly, first)
        then the Adam step with the plain gradient (no L2 term in m and v)

    With L2 in Adam, the decay is divided by sqrt(v_hat) like the gradient, so
    weights with large gradients are barely decayed; AdamW decays all alike.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)

    def decay_factors(self) -> tuple[float, float]:
        """Decoupled decay: shrink ``param`` by (1 - lr * weight_decay), no L2 in the gradient."""
        return 1.0 - self.lr * self.weight_decay, 0.0


@backend.overridable
def adam_update(param, grad, exp_avg, exp_avg_sq, decay: float, l2: float, beta1: float,
                beta2: float, step_size: float, correction2_sqrt: float, eps: float) -> None:
    """One Adam step of one parameter, in place on ``param``, ``exp_avg`` and ``exp_avg_sq``.

        p = decay * p,   g = grad + l2 * p
        m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
        p = p - step_size * m / (sqrt(v) / correction2_sqrt + eps)
    with step_size = lr / (1 - beta1^t) and correction2_sqrt = sqrt(1 - beta2^t).
    """
    xp = backend.xp_of(param)
    if decay != 1.0:
        param *= decay
    if l2 != 0.0:
        grad = grad + l2 * param
    scratch = xp.multiply(grad, 1.0 - beta1)          # the one temporary array
    exp_avg *= beta1
    exp_avg += scratch                               # m = beta1 m + (1 - beta1) g
    xp.multiply(grad, 1.0 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq *= beta2
    exp_avg_sq += scratch                            # v = beta2 v + (1 - beta2) g^2
    denominator = xp.sqrt(exp_avg_sq, out=scratch)
    denominator /= correction2_sqrt
    denominator += eps                               # sqrt(v_hat) + eps
    update = xp.divide(exp_avg, denominator, out=scratch)
    update *= step_size
    param -= update                                  # p -= lr m_hat / (sqrt(v_hat) + eps)


# ---------------------------------------------------------------------- helpers


def _check_params(params: list, owner: str) -> None:
    if not params:
        raise ValueError(f"{owner} got an empty parameter list (did model.parameters() find "
                         f"no Parameters?)")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameter {i} is a {type(p).__name__}, not a Tensor")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{owner}: a parameter appears more than once in the list")


def _check_non_negative(owner: str, **values) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{owner}: {name} must be >= 0, got {value}")


def _number(value):
    """A Python number from a number or a one-element Tensor (as ``io.load`` returns them)."""
    return value.item() if isinstance(value, Tensor) else value
