"""Training helpers that work on the gradients of many Parameters at once."""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.engine.tensor import Tensor


def clip_grad_norm_(parameters, max_norm: float, eps: float = 1e-6) -> Tensor:
    """Scale all gradients together so that their joint L2 norm is at most ``max_norm``.

        total_norm = sqrt(sum over every gradient element g of g^2)
        if total_norm > max_norm:  every g *= max_norm / (total_norm + eps)

    The direction of the whole gradient is kept; only its length shrinks. This
    tames the exploding gradients of recurrent networks. Returns the norm
    measured BEFORE clipping, as a 0-d Tensor (like PyTorch). Parameters
    without a gradient are skipped.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    xp = backend.xp_of(grads[0])
    total_norm = xp.sqrt(sum((g * g).sum() for g in grads))
    # min(.., 1) instead of an `if`: no GPU -> host transfer to decide, and g * 1 = g.
    scale = xp.minimum(max_norm / (total_norm + eps), 1.0).astype(grads[0].dtype)
    for g in grads:
        g *= scale  # in place: each .grad holds its own array (never shared)
    return Tensor._make(total_norm, False, None)
