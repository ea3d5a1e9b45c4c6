"""The other losses of ``torch.nn.functional``: binary cross-entropy (two ops), and compositions.

Binary cross-entropy of probabilities x and targets t (weights w, 1 by default):

    l = -w (t log x + (1 - t) log(1 - x)),   each log clamped at -100 (so x = 0 or 1 is finite)
    dl/dx = w (x - t) / max(x (1 - x), 1e-12),   dl/dt = w (log(1 - x) - log x)   (as PyTorch)

and of logits z (stable: log sigmoid(z) = min(z, 0) - log(1 + exp(-|z|)) never overflows),
with the positive-class weight p (1 by default) and lw = 1 + (p - 1) t:

    l = w ((1 - t) z - lw log sigmoid(z))
    dl/dz = w ((1 - t) - lw sigmoid(-z))   (= w (sigmoid(z) - t) for p = 1)
    dl/dt = w (-z - (p - 1) log sigmoid(z))

The reduction then takes the mean over the elements, their sum, or nothing ("none").
``nll_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss`` and ``kl_div`` are compositions
of the small ops, exact at their kinks as PyTorch is (|d|'(0) = 0: the sign of the
difference enters as a constant, so the slope at 0 is 0).
"""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, xp_of
from gradzoo.engine.function import Function, unbroadcast
from gradzoo.engine.ops.cross_entropy import TargetTypeError, check_reduction, reduce_loss
from gradzoo.engine.ops.mse_loss import LossShapeError, check_same_shape
from gradzoo.engine.ops.shape import Where
from gradzoo.engine.tensor import Tensor


def _reduce_array(losses, reduction: str):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _grad_of_reduction(grad, shape, size: int, reduction: str):
    """dL/dl for each element l of the unreduced losses (``shape``)."""
    if reduction == "none":
        return grad
    xp = xp_of(grad)
    return xp.broadcast_to(grad / size if reduction == "mean" else grad, shape)


def _check_bce_shapes(input_shape, target_shape, weight, what: str) -> None:
    if tuple(input_shape) != tuple(target_shape):
        raise ValueError(f"{what}: target shape {tuple(target_shape)} must be the same as "
                         f"the input shape {tuple(input_shape)}")
    if weight is not None and _broadcast(weight.shape, input_shape) != tuple(input_shape):
        raise LossShapeError(f"{what}: weight of shape {tuple(weight.shape)} must broadcast "
                             f"to the input shape {tuple(input_shape)}")


def _broadcast(a, b):
    ndim = max(len(a), len(b))
    a, b = (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def _clamped_log(xp, x):
    """max(log x, -100) without a log(0) warning: -100 where x is 0."""
    positive = x > 0
    return xp.maximum(xp.where(positive, xp.log(xp.where(positive, x, 1)), -100.0), -100.0)


class BinaryCrossEntropy(Function):
    """l = -w (t log x + (1 - t) log(1 - x)) (logs clamped at -100), reduced (see above)."""

    parameters = ("weight", "reduction")
    weight = None
    reduction = "mean"

    def forward(self, x, t):
        _check_bce_shapes(x.shape, t.shape, self.weight, "binary_cross_entropy")
        xp = xp_of(x)
        if x.size and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
            raise RuntimeError("binary_cross_entropy: all elements of input should be between "
                               "0 and 1 (probabilities; for logits use "
                               "binary_cross_entropy_with_logits)")
        self.log_x, self.log_1mx = _clamped_log(xp, x), _clamped_log(xp, 1.0 - x)
        losses = -(t * self.log_x + (1.0 - t) * self.log_1mx)
        if self.weight is not None:
            self.weight = self.weight.astype(x.dtype, copy=False)
            losses = losses * self.weight
        return _reduce_array(losses.astype(x.dtype, copy=False), self.reduction)

    def backward(self, grad):
        x, t = (tensor.data for tensor in self.inputs)
        xp = xp_of(x)
        g = _grad_of_reduction(grad, x.shape, x.size, self.reduction)
        if self.weight is not None:
            g = g * self.weight
        grad_x = grad_t = None
        if self.needs_input_grad[0]:
            grad_x = (g * (x - t) / xp.maximum(x * (1.0 - x), 1e-12)).astype(x.dtype, copy=False)
        if self.needs_input_grad[1]:  # -logit(x), unclamped (+-inf at 0 and 1) as PyTorch
            positive, below_one = x > 0, x < 1
            logit = xp.where(positive & below_one,
                             xp.log(xp.where(positive, x, 1)) - xp.log(xp.where(below_one,
                                                                                1.0 - x, 1)),
                             xp.where(positive, xp.inf, -xp.inf))
            grad_t = (-(g * logit)).astype(x.dtype, copy=False)
        return grad_x, grad_t


class BinaryCrossEntropyWithLogits(Function):
    """l = w ((1 - t) z - lw log sigmoid(z)), lw = 1 + (p - 1) t, reduced (see above)."""

    parameters = ("weight", "pos_weight", "reduction")
    weight = None
    pos_weight = None
    reduction = "mean"

    def forward(self, z, t):
        _check_bce_shapes(z.shape, t.shape, self.weight, "binary_cross_entropy_with_logits")
        xp = xp_of(z)
        self.log_sigmoid = xp.minimum(z, 0) - xp.log1p(xp.exp(-xp.abs(z)))  # log sigmoid(z)
        if self.pos_weight is not None:
            self.pos_weight = self.pos_weight.astype(z.dtype, copy=False)
            self.lw = 1.0 + (self.pos_weight - 1.0) * t
            losses = (1.0 - t) * z - self.lw * self.log_sigmoid
        else:
            losses = (1.0 - t) * z - self.log_sigmoid
        if self.weight is not None:
            self.weight = self.weight.astype(z.dtype, copy=False)
            losses = losses * self.weight
        self.shape = losses.shape
        return _reduce_array(losses.astype(z.dtype, copy=False), self.reduction)

    def backward(self, grad):
        z, t = (tensor.data for tensor in self.inputs)
        xp = xp_of(z)
        g = _grad_of_reduction(grad, self.shape, _size(self.shape), self.reduction)
        if self.weight is not None:
            g = g * self.weight
        grad_z = grad_t = None
        if self.needs_input_grad[0]:
            sigmoid_neg = xp.exp(self.log_sigmoid - z)          # sigmoid(-z) = sigmoid(z) e^-z
            lw = 1.0 if self.pos_weight is None else self.lw
            grad_z = unbroadcast(g * ((1.0 - t) - lw * sigmoid_neg), z.shape)
        if self.needs_input_grad[1]:
            d = -z if self.pos_weight is None else -z - (self.pos_weight - 1.0) * self.log_sigmoid
            grad_t = unbroadcast(g * d, t.shape)
        return grad_z, grad_t


def _size(shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


# ---------------------------------------------------------------------- compositions


def _constant(array):
    return Tensor._make(array, False, None)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities ``input``, classes on dim 1 as in PyTorch.

    ``input`` (C,), (N, C) or (N, C, d1, ...); ``target`` (an integer array) (), (N,) or
    (N, d1, ...). l_n = -w[t_n] input[n, t_n] (0 where t_n == ignore_index); "mean" divides
    by sum_n w[t_n] over the counted positions. Unlike ``F.cross_entropy`` (classes on the
    LAST axis in gradzoo), the classes of nll_loss are on dim 1, as in PyTorch.
    """
    check_reduction(reduction)
    if not is_integer(target.dtype):
        raise TargetTypeError(f"nll_loss: target must hold integer class indices, "
                              f"not {target.dtype}")
    if input.ndim == 0:
        raise ValueError("nll_loss: input must have at least one dimension (the classes)")
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if target.shape != expected:
        if input.ndim > 1 and (target.ndim == 0 or target.shape[0] != input.shape[0]):
            raise ValueError(f"nll_loss: Expected input batch_size ({input.shape[0]}) to match "
                             f"target batch_size ({target.shape[0] if target.ndim else 0}).")
        raise LossShapeError(f"nll_loss: target shape {tuple(target.shape)} must be the input "
                             f"shape {tuple(input.shape)} without its class dim (1): {expected}")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    if input.ndim > 2:  # classes last: (N, d1, ..., C)
        input = input.permute(0, *range(2, input.ndim), 1)
    xp = xp_of(target)
    flat_target = target.reshape(-1)
    counted = flat_target != ignore_index
    picked_target = flat_target[counted]
    if picked_target.size and (int(picked_target.min()) < 0 or
                               int(picked_target.max()) >= classes):
        raise IndexError(f"nll_loss: target values must lie in [0, {classes - 1}] (or equal "
                         f"ignore_index={ignore_index}), got values from "
                         f"{int(picked_target.min())} to {int(picked_target.max())}")
    safe_target = xp.where(counted, flat_target, 0)
    w = xp.ones(classes, dtype=input.dtype) if weight is None else weight.astype(input.dtype)
    if tuple(w.shape) != (classes,):
        raise RuntimeError(f"nll_loss: weight must hold one number per class, shape "
                           f"({classes},), got {tuple(w.shape)}")
    picked = input.reshape(-1, classes)[xp.arange(flat_target.shape[0]), safe_target]
    row_weight = _constant((w[safe_target] * counted).astype(input.dtype))
    losses = -(picked * row_weight)
    return reduce_loss(losses.reshape(target.shape), reduction, row_weight.sum())


def _abs_of(diff):
    """|d| as d * sign(d), the sign a constant: the slope is sign(d), 0 at d = 0 (as PyTorch)."""
    return diff * _constant(xp_of(diff.data).sign(diff.data))


def _weighted(losses, weight):
    return losses if weight is None else losses * weight


def l1_loss(input, target, reduction: str = "mean", weight=None):
    """l = w |input - target|, reduced ("mean" with a weight: sum(l) / sum(w), as PyTorch).

    Its slope at a difference of 0 is 0.
    """
    check_reduction(reduction)
    check_same_shape(input.shape, target.shape, "l1_loss")
    denominator = None if weight is None else weight.sum()  # "mean" with a weight: / sum(w)
    return reduce_loss(_weighted(_abs_of(input - target), weight), reduction, denominator)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """l = 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target).

    Its slope d / beta inside, sign(d) outside, is continuous; beta = 0 is l1_loss.
    """
    check_reduction(reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, "
                           f"got {beta}")
    check_same_shape(input.shape, target.shape, "smooth_l1_loss")
    if beta == 0:
        return l1_loss(input, target, reduction)
    diff = input - target
    inside = xp_of(diff.data).abs(diff.data) < beta
    losses = Where.apply(diff * diff * (0.5 / beta), _abs_of(diff) - 0.5 * beta, cond=inside)
    return reduce_loss(losses, reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """l = 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere.

    That is delta * smooth_l1(beta=delta), so the slopes are the same as its.
    """
    check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, "
                           f"got {delta}")
    check_same_shape(input.shape, target.shape, "huber_loss")
    losses = smooth_l1_loss(input, target, "none", beta=delta) * delta
    return reduce_loss(_weighted(losses, weight), reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    """KL divergence with ``input`` as log-probabilities, pointwise as PyTorch:

    l = t (log t - input)   (0 where t = 0),   or with log_target: l = exp(t) (t - input).
    "mean" averages over ALL elements (PyTorch's 'mean'); "batchmean" divides the sum by
    the batch size (input.shape[0]), which is the mathematical KL divergence per example.
    """
    check_reduction(reduction, ("mean", "batchmean", "sum", "none"))
    if log_target:
        losses = target.exp() * (target - input)
    else:
        xp = xp_of(target.data)
        nonzero = target.data != 0
        safe = Where.apply(target, 1.0, cond=nonzero) if target.requires_grad else \
            _constant(xp.where(nonzero, target.data, 1).astype(target.dtype))
        entropy = Where.apply(target * safe.log(), 0.0, cond=nonzero)  # xlogy(t, t)
        losses = entropy - target * input
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(losses, reduction)
