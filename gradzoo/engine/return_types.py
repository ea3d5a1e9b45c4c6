"""The named pairs of ``max(dim)``, ``min(dim)``, ``sort``, ``topk``, ``kthvalue``, ``median``.

As in ``torch.return_types``: a tuple of two tensors that also has names, so both
``values, indices = x.max(dim=1)`` and ``x.max(dim=1).values`` read as in PyTorch.

>>> from gradzoo.engine import tensor
>>> pair = tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
>>> pair.values.tolist(), pair.indices.tolist(), pair[1].tolist()
([5.0, 7.0], [1, 0], [1, 0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gradzoo.engine.tensor import Tensor


class max(NamedTuple):  # noqa: A001  (torch.return_types.max)
    """The largest values along a dim and where they are (the first one of ties)."""

    values: Tensor
    indices: Tensor


class min(NamedTuple):  # noqa: A001  (torch.return_types.min)
    """The smallest values along a dim and where they are (the first one of ties)."""

    values: Tensor
    indices: Tensor


class sort(NamedTuple):
    """The values sorted along a dim, and the positions they came from."""

    values: Tensor
    indices: Tensor


class topk(NamedTuple):
    """The k largest (or smallest) values along a dim, and the positions they came from."""

    values: Tensor
    indices: Tensor


class kthvalue(NamedTuple):
    """The k-th smallest value along a dim and where it is."""

    values: Tensor
    indices: Tensor


class median(NamedTuple):
    """The median along a dim (the lower of the two middle values) and where it is."""

    values: Tensor
    indices: Tensor
