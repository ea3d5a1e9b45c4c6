"""Loss functions: cross-entropy (log_softmax and negative log-likelihood fused) and MSE."""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, max_last_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.gpu_kernels import kernels_for


class CrossEntropy(Function):
    """Mean negative log-probability of the target class, classes on the last axis.

        loss = -(1/N) sum_n log softmax(z_n)[t_n]   over positions with t_n != ignore_index

    Backward (softmax and log fused, so no division by a tiny probability):
        dL/dz_n = (softmax(z_n) - onehot(t_n)) / N   (0 at ignored positions)
    """

    ignore_index = -100

    def forward(self, logits):
        xp = xp_of(logits)
        target = self.target
        check_target(logits.shape, target)
        classes = logits.shape[-1]
        flat = logits.reshape(-1, classes)
        flat_target = target.reshape(-1)
        self.counted = flat_target != self.ignore_index
        check_classes(flat_target[self.counted], classes, self.ignore_index)
        self.safe_target = xp.where(self.counted, flat_target, 0)
        self.rows = xp.arange(flat.shape[0])
        self.count = int(self.counted.sum())
        row_max = max_last_axis(flat)
        kernels = kernels_for(logits)
        if kernels is not None:  # keep log sum exp only: backward rebuilds softmax from it
            total = kernels.sum_exp(flat, row_max, axis=1, keepdims=True)
            self.log_norm = row_max + xp.log(total)          # log sum_j exp(z_j)
            self.flat_logits = flat
            picked = flat[self.rows, self.safe_target] - self.log_norm[:, 0]
        else:
            shifted = flat - row_max
            log_norm = xp.log(sum_last_axis(xp.exp(shifted)))
            shifted -= log_norm                               # log softmax, in place
            self.log_probs = shifted
            picked = shifted[self.rows, self.safe_target]
        picked = picked * self.counted
        return (0.0 - picked.sum()) / xp.asarray(self.count, dtype=logits.dtype)

    def backward(self, grad):
        xp = xp_of(grad)
        scale = (self.counted * (grad / self.count)).astype(grad.dtype)  # 1/N, 0 if ignored
        kernels = kernels_for(grad)
        if kernels is not None:
            d = kernels.cross_entropy_backward(self.flat_logits, self.log_norm,
                                               self.safe_target[:, None], scale[:, None],
                                               self.flat_logits.shape[1])
            return (d.reshape(self.inputs[0].shape),)
        d = xp.exp(self.log_probs)                    # softmax(z)
        d[self.rows, self.safe_target] -= 1.0         # - onehot(t)
        d *= scale[:, None]
        return (d.reshape(self.inputs[0].shape),)


def cross_entropy_composed(logits, target, ignore_index: int = -100):
    """The teaching version: log_softmax, pick the target's entry, mean over counted positions.

    ``target`` is an integer array of the leading shape (no gradient).
    """
    from gradzoo.engine.ops.softmax import log_softmax_composed

    classes = logits.shape[-1]
    log_probs = log_softmax_composed(logits.reshape(-1, classes))
    flat_target = target.reshape(-1)
    counted = flat_target != ignore_index
    xp = xp_of(flat_target)
    picked = log_probs[xp.arange(flat_target.shape[0]), xp.where(counted, flat_target, 0)]
    weights = counted.astype(logits.dtype) / max(int(counted.sum()), 1)
    return -(picked * weights).sum()


def check_target(logits_shape, target) -> None:
    """Readable errors for a target that does not fit the logits."""
    if not is_integer(target.dtype):
        raise TypeError(f"cross_entropy: target must hold integer class indices, "
                        f"not {target.dtype}")
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


class MSELoss(Function):
    """loss = mean((a - b)^2);  dL/da = 2 (a - b) / n,  dL/db = -dL/da."""

    def forward(self, a, b):
        if a.shape != b.shape:
            raise ValueError(f"mse_loss: input shape {a.shape} and target shape {b.shape} differ")
        self.diff = a - b
        return (self.diff * self.diff).mean()

    def backward(self, grad):
        grad_a = self.diff * (2.0 * grad / self.diff.size)
        return grad_a, -grad_a
