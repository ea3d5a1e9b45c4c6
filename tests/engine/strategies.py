"""Hypothesis strategies that every op test draws from (after minitorch's tensor_strategies).

Shapes are small (at most 3 dims of side 3) and include size-1 dims and 0-d
shapes, so broadcasting and edge cases come up often while finite differences
stay cheap. Arrays are float64 with bounded values; the helpers below keep
values away from the points where an op has no derivative (relu at 0, ties in
max, log of a non-positive number).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_DIMS = 3
MAX_SIDE = 3


# ---------------------------------------------------------------------- shapes


def shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE):
    """Array shapes, 0-d included by default: (), (3,), (1, 2), (2, 1, 3)..."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=MAX_DIMS, max_side=MAX_SIDE):
    """A tuple of ``num_shapes`` shapes that broadcast together: ((2, 1), (3, 1, 4))..."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side,
    ).map(lambda shapes: shapes.input_shapes)


@st.composite
def shapes_broadcasting_to(draw, shape):
    """Shapes that broadcast to ``shape`` without growing it: a suffix, some sides set to 1."""
    suffix = shape[len(shape) - draw(st.integers(0, len(shape))):]
    return tuple(1 if draw(st.booleans()) else side for side in suffix)


def sides(low=1, high=MAX_SIDE):
    """One dimension's size."""
    return st.integers(low, high)


# ---------------------------------------------------------------------- arrays


def floats(low=-2.0, high=2.0):
    """Finite float64 values in [low, high]."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def arrays(shape, low=-2.0, high=2.0):
    """float64 arrays of ``shape`` (a tuple or a strategy) with values in [low, high]."""
    return hnp.arrays(np.float64, shape, elements=floats(low, high))


def positive_arrays(shape, low=0.3, high=2.0):
    """Values well above 0: safe for log, division and a real power's base."""
    return arrays(shape, low, high)


def away_from_zero_arrays(shape, gap=0.2, high=2.0):
    """Values with |x| >= gap: relu's kink and division by zero are out of reach."""
    elements = st.one_of(floats(-high, -gap), floats(gap, high))
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def distinct_arrays(draw, shape, spacing=0.3):
    """Arrays whose values all differ by more than ``spacing / 2`` (no ties for max).

    A shuffled ramp with a little jitter: no two elements come within the
    finite-difference step of each other.
    """
    shape = _draw(draw, shape)
    size = math.prod(shape)
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    jitter = draw(arrays(size, 0.0, spacing / 4))
    return ((order - size / 2) * spacing + jitter).reshape(shape)


@st.composite
def layouts(draw, array):
    """The same values in another memory layout: C order, Fortran order, or a strided view.

    Ops must not assume contiguous inputs (a transposed or sliced tensor is not).
    """
    kind = draw(st.sampled_from(["C", "F", "strided"]))
    if array.ndim == 0:
        return array
    if kind == "F":
        return np.asfortranarray(array)
    if kind == "strided":
        wide = np.repeat(array[..., None], 2, axis=-1)  # every value twice along a new last dim
        return wide[..., 0]
    return array


def broadcastable_arrays(num_arrays=2, elements=arrays):
    """A tuple of arrays whose shapes broadcast together; ``elements(shape)`` draws each one."""
    return broadcastable_shapes(num_arrays).flatmap(
        lambda shapes: st.tuples(*(elements(shape) for shape in shapes)))


def boolean_arrays(shape):
    return hnp.arrays(np.bool_, shape)


def index_arrays(shape, high):
    """int64 arrays with values in [0, high), repeats likely (embedding ids, targets)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(0, high - 1))


# ---------------------------------------------------------------------- dims


def dims(ndim):
    """One valid dim for a tensor with ``ndim`` dims, negatives included (0-d: 0 or -1)."""
    return st.integers(-max(ndim, 1), max(ndim, 1) - 1)


@st.composite
def reduce_dims(draw, ndim):
    """``dim`` for sum/mean/max: None, one int, or a tuple of distinct dims (some negative)."""
    kind = draw(st.sampled_from(["all", "one", "several"]))
    if kind == "all":
        return None
    if kind == "one" or ndim < 2:
        return draw(dims(ndim))
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in chosen)


def permutations(ndim):
    """An order of all ``ndim`` dims for ``permute``."""
    return st.permutations(range(ndim)).map(tuple)


@st.composite
def reshape_targets(draw, shape):
    """A shape with as many elements as ``shape``: factors regrouped, 1s added, maybe one -1."""
    factors = draw(st.permutations(_prime_factors(math.prod(shape))))
    target = []
    for factor in factors:
        if target and draw(st.booleans()):
            target[-1] *= factor
        else:
            target.append(factor)
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


# ---------------------------------------------------------------------- indexing


def index_expressions(shape):
    """What can go between ``x[...]``: basic (ints, slices, ..., None) or integer arrays.

    Integer arrays repeat positions often (``x[[0, 0, 1]]``), so the gradient
    of an element picked twice must add up; boolean masks pick rows or elements.
    """
    basic = hnp.basic_indices(shape, allow_newaxis=True)
    if not shape:
        return basic
    return st.one_of(basic, _integer_array_indices(shape), _slice_then_integers(shape),
                     boolean_arrays(shape[:1]), boolean_arrays(shape), _mixed_indices(shape))


@st.composite
def _mixed_indices(draw, shape):
    """Integers, slices and integer lists together, PyTorch's rules: ``x[0, :, [0, 1]]``."""
    length = draw(st.integers(1, 3))  # the integer lists broadcast: one length for all
    parts = []
    for side in shape:
        position = st.integers(-side, side - 1)
        kind = draw(st.sampled_from(["integer", "slice", "list"]))
        parts.append(draw(position) if kind == "integer" else slice(None) if kind == "slice"
                     else draw(st.lists(position, min_size=length, max_size=length)))
    return tuple(parts)


def _integer_array_indices(shape):
    result_shapes = shapes(min_dims=1, max_dims=2)
    return hnp.integer_array_indices(shape, result_shape=result_shapes).map(
        lambda index: index[0] if len(index) == 1 else index)


@st.composite
def _slice_then_integers(draw, shape):
    """``x[:, [2, 0, 2]]`` style: a full slice on dim 0, an integer list on dim 1."""
    if len(shape) < 2:
        return draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4))
    positions = st.integers(-shape[1], shape[1] - 1)
    return (slice(None), draw(st.lists(positions, min_size=1, max_size=4)))


# ---------------------------------------------------------------------- op inputs


@st.composite
def matmul_pairs(draw):
    """Two arrays that ``@`` accepts: vector or matrix on each side, broadcast batch dims."""
    n, k, m = draw(sides()), draw(sides()), draw(sides())
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2))
    a_shape = (k,) if draw(st.booleans()) else batch_a + (n, k)
    b_shape = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return draw(arrays(a_shape)), draw(arrays(b_shape))


@st.composite
def concat_inputs(draw):
    """(arrays, dim): 1 to 3 arrays that agree on every dim but ``dim``."""
    shape = draw(shapes(min_dims=1))
    dim = draw(dims(len(shape)))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        piece_shape = list(shape)
        piece_shape[dim] = draw(sides())
        pieces.append(draw(arrays(tuple(piece_shape))))
    return pieces, dim


@st.composite
def stack_inputs(draw):
    """(arrays, dim): 1 to 3 arrays of one shape and a dim in [-(ndim + 1), ndim]."""
    shape = draw(shapes())
    ndim = len(shape)
    dim = draw(st.integers(-(ndim + 1), ndim))
    return [draw(arrays(shape)) for _ in range(draw(st.integers(1, 3)))], dim


@st.composite
def layer_norm_inputs(draw):
    """(x, normalized_shape, weight, bias): normalise the last 1..ndim dims of x."""
    shape = draw(shapes(min_dims=1))
    normalized_shape = shape[len(shape) - draw(st.integers(1, len(shape))):]
    x = draw(distinct_arrays(shape))
    weight = draw(arrays(normalized_shape, 0.5, 2.0))
    bias = draw(arrays(normalized_shape))
    return x, normalized_shape, weight, bias


@st.composite
def cross_entropy_inputs(draw):
    """(logits, target, ignore_index): classes last, some targets ignored, at least one not."""
    leading = draw(shapes(max_dims=2))
    classes = draw(sides(2, 4))
    ignore_index = draw(st.sampled_from([-100, -1, 0]))
    logits = draw(arrays(leading + (classes,), -3.0, 3.0))
    target = draw(index_arrays(leading, classes))
    ignored = draw(boolean_arrays(leading))
    target = np.where(ignored, ignore_index, target)
    counted = 1 if ignore_index == 0 else 0
    target.reshape(-1)[0] = counted  # one position always counts, so the mean is defined
    return logits, target, ignore_index


@st.composite
def embedding_inputs(draw):
    """(weight, idx): a (num_embeddings, embedding_dim) table and ids with repeats."""
    num_embeddings, embedding_dim = draw(sides(1, 4)), draw(sides())
    weight = draw(arrays((num_embeddings, embedding_dim)))
    idx = draw(index_arrays(draw(shapes(max_dims=2)), num_embeddings))
    return weight, idx


MASK_KINDS = ("none", "causal", "bool", "float")


@st.composite
def attention_inputs(draw, mask_kind="none"):
    """(q, k, v, attn_mask, is_causal) with batch dims that broadcast against each other.

    q is (..., L, E), k (..., S, E), v (..., S, Ev); a mask broadcasts to
    (..., L, S): boolean (True = may attend) or additive float, -inf included.
    """
    queries, keys, width, value_width = (draw(sides()) for _ in range(4))
    batch_q, batch_k, batch_v = draw(broadcastable_shapes(3, max_dims=2))
    q = draw(arrays(batch_q + (queries, width)))
    k = draw(arrays(batch_k + (keys, width)))
    v = draw(arrays(batch_v + (keys, value_width)))
    scores_shape = np.broadcast_shapes(batch_q, batch_k, batch_v) + (queries, keys)
    mask_shape = draw(shapes_broadcasting_to(scores_shape))
    mask = None
    if mask_kind == "bool":
        mask = draw(boolean_arrays(mask_shape))
    elif mask_kind == "float":
        elements = st.one_of(floats(-2.0, 2.0), st.just(-np.inf))
        mask = draw(hnp.arrays(np.float64, mask_shape, elements=elements))
    return q, k, v, mask, mask_kind == "causal"


def _draw(draw, value):
    """Draw from ``value`` when it is a strategy; use it as it is otherwise."""
    return draw(value) if isinstance(value, st.SearchStrategy) else value


# ---------------------------------------------------------------------- elementwise (issue 14)


def away_from_steps_arrays(shape, step=1.0, gap=0.1, steps=3):
    """Values at least ``gap`` from every multiple of ``step`` (floor's, round's, clamp's
    kinks when the bounds are such multiples), within ``steps`` steps of 0."""
    elements = st.tuples(st.integers(-steps, steps - 1), floats(gap, step - gap)).map(
        lambda pair: pair[0] * step + pair[1])
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def distinct_triples(draw, shape, spacing=0.3):
    """Three arrays of ``shape`` with no two values closer than ``spacing / 2`` (x, lo, hi
    of a clamp; x, y of minimum/maximum): no ties within a finite-difference step."""
    shape = _draw(draw, shape)
    x, lo, hi = draw(distinct_arrays((3,) + tuple(shape), spacing))
    return np.asarray(x), np.asarray(lo), np.asarray(hi)  # 0-d arrays, not NumPy scalars


# ---------------------------------------------------------------------- layout (issue 14)


@st.composite
def expand_targets(draw, shape):
    """A size list that ``Tensor.expand`` accepts for ``shape``: size-1 dims stretched (or
    -1 kept), maybe new leading dims."""
    lead = [draw(sides()) for _ in range(draw(st.integers(0, 1)))]
    rest = [draw(st.sampled_from([side, -1])) if side != 1 else draw(sides()) for side in shape]
    return tuple(lead + rest)


@st.composite
def repeat_counts(draw, ndim):
    """``repeat`` sizes for an ``ndim``-d tensor: one per dim (0 included), maybe one more."""
    return tuple(draw(st.integers(0, 2)) for _ in range(ndim + draw(st.integers(0, 1))))


@st.composite
def flip_dims(draw, ndim):
    """Distinct dims (some negative) for ``flip``; none at all for a 0-d tensor."""
    if ndim == 0:
        return ()
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in chosen)


def quotient_pairs(shapes, gap=0.1):
    """(x, y) with y away from 0 and x / y at least ``gap`` from an integer: floor and trunc
    of the quotient do not jump within a finite-difference step."""
    return st.tuples(away_from_steps_arrays(shapes[0], gap=gap),
                     away_from_zero_arrays(shapes[1], gap=0.5)).map(
        lambda pair: (pair[0] * pair[1], pair[1]))


# ---------------------------------------------------------------------- index tensors along a dim


@st.composite
def along_dim_inputs(draw, distinct=False):
    """(x, dim, index, src) for gather/scatter: index no larger than x in other dims, src
    no smaller than index; ``distinct``: no position is named twice (scatter's writes)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(dims(len(shape)))
    axis = dim % len(shape)
    index_shape = tuple(draw(sides(1, side)) for side in shape)
    if distinct:
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        ranks = rng.random(shape).argsort(axis=axis)  # each line a permutation of its positions
        index = ranks[tuple(slice(0, side) for side in index_shape)]
    else:
        index = draw(index_arrays(index_shape, shape[axis]))
    src_shape = tuple(side + draw(st.integers(0, 1)) for side in index_shape)
    return draw(arrays(shape)), dim, index, draw(arrays(src_shape))


@st.composite
def pad_inputs(draw, mode="constant"):
    """(x, pad) for F.pad in ``mode``: pads of -1..2 per side, last dim first."""
    if mode == "constant":
        shape = draw(shapes(min_dims=1))
        count = draw(st.integers(1, len(shape)))
    else:
        count = draw(st.integers(1, 2))
        shape = draw(shapes(min_dims=count + 1, max_dims=count + 2, min_side=2))
    pad = []
    for i in range(count):
        side = shape[-1 - i]
        limit = min(side - 1, 2) if mode == "reflect" else 2
        low = -1 if mode == "constant" else 0  # (the other modes crop in the values tests)
        before, after = draw(st.integers(low, limit)), draw(st.integers(low, limit))
        if side + before + after < 1:
            before, after = max(before, 0), max(after, 0)
        pad += [before, after]
    return draw(arrays(shape)), tuple(pad)


@st.composite
def conv2d_inputs(draw, transposed=False):
    """(x, weight, bias, stride, padding, output_padding) for F.conv2d or F.conv_transpose2d.

    Batch 1 or 2, 1-3 channels, odd and even sides, kernels 1-3 (not square), strides 1-3
    and paddings 0-2 per direction, an output_padding below the stride when transposed.
    """
    batch, channels, out_channels = draw(sides(1, 2)), draw(sides(1, 3)), draw(sides(1, 3))
    kernel = (draw(sides(1, 3)), draw(sides(1, 3)))
    stride = (draw(sides(1, 3)), draw(sides(1, 2)))
    padding = tuple(draw(st.integers(0, min(2, k - 1 if transposed else 2))) for k in kernel)
    if transposed:
        output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
        smallest = [1 - (-max(0, 2 * p - k + 1 - e) // s)  # a positive output size
                    for k, p, e, s in zip(kernel, padding, output_padding, stride)]
        size = tuple(draw(st.integers(low, low + 3)) for low in smallest)
        weight_shape = (channels, out_channels) + kernel
    else:  # the padded input at least as large as the kernel
        size = tuple(draw(st.integers(max(1, k - 2 * p), k - 2 * p + 4))
                     for k, p in zip(kernel, padding))
        output_padding = (0, 0)
        weight_shape = (out_channels, channels) + kernel
    x = draw(arrays((batch, channels) + size))
    return (x, draw(arrays(weight_shape)), draw(arrays((out_channels,))), stride, padding,
            output_padding)


@st.composite
def pool2d_inputs(draw):
    """(x, kernel_size, stride, padding) for F.max_pool2d and F.avg_pool2d.

    Batch 1 or 2, 1-3 channels, odd and even sides, kernels 1-3 (not square), strides None
    (the kernel) or 1-3, paddings up to half the kernel. x's values are all distinct, at
    least 0.05 apart, so no window's maximum is within a finite-difference step of a tie.
    """
    batch, channels = draw(sides(1, 2)), draw(sides(1, 3))
    kernel = (draw(sides(1, 3)), draw(sides(1, 3)))
    stride = draw(st.none() | st.tuples(sides(1, 3), sides(1, 2)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(draw(st.integers(max(1, k - 2 * p), k - 2 * p + 4))
                 for k, p in zip(kernel, padding))
    shape = (batch, channels) + size
    order = draw(st.permutations(range(math.prod(shape))))
    x = (np.array(order, dtype=np.float64).reshape(shape) - math.prod(shape) / 2) * 0.05
    return x, kernel, stride, padding


@st.composite
def group_norm_inputs(draw):
    """(x, num_groups, weight, bias): x (N, C, 0-2 spatial dims), C = groups * 1-3 channels.

    Batch 1 or 2, odd and even sides; x's values spread out (``distinct_arrays``), so
    no group is so nearly constant that 1 / sqrt(var + eps) amplifies rounding.
    """
    num_groups, per_group = draw(sides(1, 3)), draw(sides(1, 3))
    channels = num_groups * per_group
    spatial = draw(st.lists(sides(1, 3), min_size=0, max_size=2))
    shape = (draw(sides(1, 2)), channels, *spatial)
    return (draw(distinct_arrays(shape)), num_groups, draw(arrays((channels,), 0.5, 2.0)),
            draw(arrays((channels,))))


@st.composite
def batch_norm_inputs(draw):
    """(x, weight, bias, running_mean, running_var): x (N, C, 0-2 spatial dims), batch 1-3.

    At least 2 numbers per channel (training needs a variance); running_var positive.
    """
    channels = draw(sides(1, 3))
    spatial = draw(st.lists(sides(1, 3), min_size=0, max_size=2))
    batch = draw(sides(1 if math.prod(spatial) > 1 else 2, 3))
    shape = (batch, channels, *spatial)
    return (draw(distinct_arrays(shape)), draw(arrays((channels,), 0.5, 2.0)),
            draw(arrays((channels,))), draw(arrays((channels,))),
            draw(positive_arrays((channels,))))
