"""Cross-entropy: log_softmax and the negative log-likelihood fused into one op.

For logits z (classes on the last axis), integer targets t of the leading shape,
class weights w (all 1 by default), label smoothing eps and C classes, each
counted position n (t_n != ignore_index; c_n = 1, else 0) has the target
distribution q_n and the loss l_n (as ``torch.nn.functional.cross_entropy``):

    q_n = c_n ((1 - eps) w[t_n] onehot(t_n) + (eps / C) w)
    l_n = -sum_k q_nk log softmax(z_n)_k,   log softmax(z)_k = z_k - log sum_j exp(z_j)

    reduction "mean": sum_n l_n / sum_n c_n w[t_n]   (eps = 0, no weight: the mean over counted)
              "sum":  sum_n l_n;   "none": l_n of each position (0 where ignored)

Backward (softmax and log fused, so no division by a tiny probability):

    dl_n/dz_n = softmax(z_n) sum_k q_nk - q_n   (= softmax(z_n) - onehot(t_n) for eps = 0, w = 1)

With no counted position the mean is 0/0 = NaN, as in PyTorch.
"""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, max_last_axis, overridable, sum_last_axis, xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.softmax import LogSoftmax, log_softmax_composed
from gradzoo.engine.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


class TargetTypeError(TypeError, RuntimeError):
    """A target of the wrong dtype (PyTorch raises RuntimeError; a TypeError too, to catch)."""


def check_reduction(reduction, allowed=REDUCTIONS) -> None:
    """``reduction`` is one of PyTorch's names (a ValueError otherwise, as in PyTorch)."""
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction; "
                         f"use one of {', '.join(map(repr, allowed))}")


def check_label_smoothing(label_smoothing: float) -> None:
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                           f"got {label_smoothing}")


def check_target(logits_shape, target) -> None:
    """Readable errors for a target that does not fit the logits."""
    if not is_integer(target.dtype):
        raise TargetTypeError(f"cross_entropy: target must hold integer class indices, "
                              f"not {target.dtype} (or class probabilities of the logits' "
                              f"shape {tuple(logits_shape)})")
    if target.shape != logits_shape[:-1]:
        raise ValueError(f"cross_entropy: target shape {target.shape} must equal the logits' "
                         f"shape without its last (class) axis, {logits_shape[:-1]}")


def check_classes(counted_target, classes: int, ignore_index: int) -> None:
    """A class index outside [0, classes) would silently pick a wrong class (-1: the last)."""
    if counted_target.size == 0:
        return
    low, high = int(counted_target.min()), int(counted_target.max())
    if low < 0 or high >= classes:
        raise IndexError(f"cross_entropy: target values must lie in [0, {classes - 1}] (or equal "
                         f"ignore_index={ignore_index}), got values from {low} to {high}")


def check_weight(weight, classes: int) -> None:
    if weight is not None and tuple(weight.shape) != (classes,):
        raise RuntimeError(f"cross_entropy: weight must hold one number per class, shape "
                           f"({classes},), got {tuple(weight.shape)}")


def reduce_loss(losses, reduction: str, denominator=None):
    """Tensor ``losses`` reduced as PyTorch does: mean (over ``denominator``), sum, or none."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denominator if denominator is not None else losses.mean()


def cross_entropy_composed(logits, target, weight=None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0):
    """cross_entropy with the small ops: log_softmax, pick each target's entry, weigh, reduce.

    ``target`` as ``F.cross_entropy`` takes it: class indices (a tensor, array or list),
    or class probabilities of the logits' shape (a float tensor).
    """
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    classes = logits.shape[-1]
    if isinstance(target, Tensor) and target.shape == logits.shape and \
            not is_integer(target.dtype):
        return probability_cross_entropy(logits, target, weight, ignore_index, reduction,
                                         label_smoothing)
    target = target.data if isinstance(target, Tensor) else \
        Tensor(target, device=logits.device).data
    check_target(logits.shape, target)
    flat_target = target.reshape(-1)
    counted = flat_target != ignore_index
    check_classes(flat_target[counted], classes, ignore_index)
    xp = xp_of(flat_target)
    safe_target = xp.where(counted, flat_target, 0)
    w = xp.ones(classes, dtype=logits.dtype) if weight is None else \
        (weight.data if isinstance(weight, Tensor) else xp.asarray(weight)).astype(logits.dtype)
    check_weight(w, classes)
    log_probs = log_softmax_composed(logits.reshape(-1, classes))
    picked = log_probs[xp.arange(flat_target.shape[0]), safe_target]
    row_weight = Tensor._make((w[safe_target] * counted).astype(logits.dtype), False, None)
    losses = -(picked * row_weight) * (1.0 - label_smoothing)
    if label_smoothing:
        smooth = (log_probs * Tensor._make(w, False, None)).sum(dim=-1)
        counted_t = Tensor._make(counted.astype(logits.dtype), False, None)
        losses = losses - smooth * counted_t * (label_smoothing / classes)
    return reduce_loss(losses.reshape(target.shape), reduction, row_weight.sum())


def probability_cross_entropy(logits, target, weight=None, ignore_index: int = -100,
                              reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy against class probabilities ``target`` (the logits' shape, classes last).

    l_n = -sum_k w_k q_nk log softmax(z_n)_k with q = (1 - eps) target + eps / C; "mean"
    divides by the number of positions (the weights do not enter it), as in PyTorch. The
    target gets its gradient too. Composed from the small ops (``F.log_softmax`` fused).
    """
    if ignore_index >= 0:
        raise RuntimeError("cross_entropy: ignore_index is not supported for class-probability "
                           "targets (it applies to class indices)")
    classes = logits.shape[-1]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    weighted = LogSoftmax.apply(logits, dim=-1) * target
    if weight is not None:
        weighted = weighted * weight
    losses = -weighted.sum(dim=-1)
    if reduction == "mean" and logits.data.size == 0:
        return losses.sum() * float("nan")
    return reduce_loss(losses, reduction)


@overridable
def log_sum_exp_rows(flat):
    """log sum_k exp(z_k) of each row, as m + log sum_k exp(z_k - m) (m: the row's max)."""
    xp = xp_of(flat)
    row_max = max_last_axis(flat)
    e = flat - row_max
    xp.exp(e, out=e)
    return row_max + xp.log(sum_last_axis(e))


@overridable
def cross_entropy_grad(flat, log_norm, target, scale):
    """dL/dz = (softmax(z) - onehot(t)) * scale of each row; softmax(z) = exp(z - log_norm)."""
    xp = xp_of(flat)
    d = flat - log_norm
    xp.exp(d, out=d)                                  # softmax(z)
    d[xp.arange(d.shape[0]), target] -= 1.0           # - onehot(t)
    d *= scale[:, None]
    return d


class CrossEntropy(Function):
    """Negative log-probability of the target class, classes on the last axis (see above).

    ``target``: the integer class indices (an array); ``weight``: None or an array of C
    class weights (constants, as in PyTorch). The common case (no weight, no smoothing,
    mean) runs exactly the passes it always did.
    """

    parameters = ("target", "ignore_index", "weight", "reduction", "label_smoothing")
    ignore_index = -100
    weight = None
    reduction = "mean"
    label_smoothing = 0.0
    composed = staticmethod(cross_entropy_composed)

    def forward(self, logits):
        xp, target = xp_of(logits), self.target
        check_target(logits.shape, target)
        self.flat_logits = flat = logits.reshape(-1, logits.shape[-1])
        classes = flat.shape[1]
        flat_target = target.reshape(-1)
        self.counted = flat_target != self.ignore_index
        check_classes(flat_target[self.counted], classes, self.ignore_index)
        self.safe_target = xp.where(self.counted, flat_target, 0)
        self.log_norm = log_sum_exp_rows(flat)
        picked = flat[xp.arange(flat.shape[0]), self.safe_target] - self.log_norm[:, 0]
        if self.weight is None:
            self.row_weight = self.counted                  # c_n w[t_n], w = 1
        else:
            check_weight(self.weight, classes)
            self.weight = self.weight.astype(logits.dtype, copy=False)
            self.row_weight = self.weight[self.safe_target] * self.counted
        if self.reduction == "mean":
            self.total = xp.asarray(self.row_weight.sum(), dtype=logits.dtype)  # sum c_n w[t_n]
        if self.label_smoothing == 0.0 and self.reduction == "mean":  # the common path
            picked = picked * self.row_weight
            return (0.0 - picked.sum()) / self.total
        losses = picked * self.row_weight
        losses *= self.label_smoothing - 1.0                    # -(1 - eps) w[t] log p_t
        if self.label_smoothing:
            w_sum = classes if self.weight is None else self.weight.sum()
            weighted = flat.sum(axis=1) if self.weight is None else flat @ self.weight
            smooth = weighted - w_sum * self.log_norm[:, 0]     # sum_k w_k log p_k
            losses -= smooth * self.counted * (self.label_smoothing / classes)
        losses = losses.astype(logits.dtype, copy=False)
        if self.reduction == "none":
            return losses.reshape(target.shape)
        total = losses.sum()
        return total / self.total if self.reduction == "mean" else total

    def backward(self, grad):
        row_grad = grad.reshape(-1) if self.reduction == "none" else grad  # dL/dl_n
        if self.reduction == "mean":
            row_grad = row_grad / self.total
        eps = self.label_smoothing
        scale = (self.row_weight * (row_grad * (1.0 - eps))).astype(grad.dtype)
        d = cross_entropy_grad(self.flat_logits, self.log_norm, self.safe_target, scale)
        if eps:
            xp = xp_of(d)
            classes = d.shape[1]
            w = xp.ones(classes, dtype=d.dtype) if self.weight is None else self.weight
            softmax = xp.exp(self.flat_logits - self.log_norm)
            smooth_scale = (self.counted * (row_grad * (eps / classes))).astype(d.dtype)
            d += (softmax * w.sum() - w) * smooth_scale[:, None]  # p sum_k w_k - w
        return (d.reshape(self.inputs[0].shape),)
