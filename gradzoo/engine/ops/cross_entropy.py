"""Cross-entropy: log_softmax and the negative log-likelihood fused into one op.

For logits z (classes on the last axis) and integer targets t of the leading shape,

    loss = -(1/N) sum_n log softmax(z_n)[t_n]   over the N positions with t_n != ignore_index
    log softmax(z)_j = z_j - log sum_k exp(z_k)

Backward (softmax and log fused, so no division by a tiny probability):

    dL/dz_n = (softmax(z_n) - onehot(t_n)) / N   (0 at ignored positions)

With no counted position at all, N = 0 and the loss is NaN, as in PyTorch.
"""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, max_last_axis, overridable, sum_last_axis, xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.softmax import log_softmax_composed
from gradzoo.engine.tensor import Tensor


def cross_entropy_composed(logits, target, ignore_index: int = -100):
    """cross_entropy with the small ops: log_softmax, pick each target's entry, mean over counted.

    ``target`` as ``F.cross_entropy`` takes it: a tensor or array (or list) of class indices.
    """
    target = target.data if isinstance(target, Tensor) else \
        Tensor(target, device=logits.device).data
    check_target(logits.shape, target)
    classes = logits.shape[-1]
    flat_target = target.reshape(-1)
    counted = flat_target != ignore_index
    check_classes(flat_target[counted], classes, ignore_index)
    xp = xp_of(flat_target)
    log_probs = log_softmax_composed(logits.reshape(-1, classes))
    picked = log_probs[xp.arange(flat_target.shape[0]), xp.where(counted, flat_target, 0)]
    counted = Tensor(counted, dtype=logits.dtype, device=logits.device)
    return -(picked * counted).sum() / counted.sum()


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
    """Mean negative log-probability of the target class, classes on the last axis (see above)."""

    parameters = ("target", "ignore_index")
    ignore_index = -100
    composed = staticmethod(cross_entropy_composed)

    def forward(self, logits):
        xp, target = xp_of(logits), self.target
        check_target(logits.shape, target)
        self.flat_logits = flat = logits.reshape(-1, logits.shape[-1])
        flat_target = target.reshape(-1)
        self.counted = flat_target != self.ignore_index
        check_classes(flat_target[self.counted], flat.shape[1], self.ignore_index)
        self.safe_target = xp.where(self.counted, flat_target, 0)
        self.count = int(self.counted.sum())
        self.log_norm = log_sum_exp_rows(flat)
        picked = flat[xp.arange(flat.shape[0]), self.safe_target] - self.log_norm[:, 0]
        picked = picked * self.counted
        return (0.0 - picked.sum()) / xp.asarray(self.count, dtype=logits.dtype)

    def backward(self, grad):
        scale = (self.counted * (grad / self.count)).astype(grad.dtype)  # 1/N, 0 if ignored
        d = cross_entropy_grad(self.flat_logits, self.log_norm, self.safe_target, scale)
        return (d.reshape(self.inputs[0].shape),)
