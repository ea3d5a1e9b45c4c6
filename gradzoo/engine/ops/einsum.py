"""einsum: Einstein summation, composed from permute, reshape, matmul and sum.

``einsum("bij,bjk->bik", a, b)`` names each dim of each operand by a letter. A letter
in the output is kept; a letter left out of the output is summed over; a letter
repeated within one operand ("ii") takes its diagonal. Two operands reduce to one
(batched) matrix product: with b the letters both keep, m those only the first
has, k those both sum over and n those only the second has,

    A -> (b, m, k),   B -> (b, k, n),   C[b, m, n] = sum_k A[b, m, k] B[b, k, n]

and C is laid out as the output asks. More operands contract left to right. The
gradients are those of the small ops (matmul, permute, reshape, sum, indexing).
Without "->" the output is every letter that occurs once, in alphabetical order
(after the dims of "...", which broadcast as in PyTorch).
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.tensor import Tensor


def einsum(equation: str, *operands) -> Tensor:
    """``torch.einsum(equation, *operands)`` (operands as separate arguments or one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(x, Tensor) for x in operands):
        raise TypeError("einsum(): the operands must be Tensors")
    terms, output = _parse(equation.replace(" ", ""), operands)
    sizes = _letter_sizes(terms, operands)
    pieces = [(x, list(term)) for x, term in zip(operands, terms, strict=True)]
    for letter in output:
        if letter not in sizes:
            raise RuntimeError(f"einsum(): output subscript {letter} does not appear in the "
                               f"equation for any input operand")
    pieces = [_diagonals(x, term) for x, term in pieces]
    x, term = pieces[0]
    for i in range(1, len(pieces)):
        later = set(output).union(*(t for _, t in pieces[i + 1:]))
        x, term = _contract(x, term, *pieces[i], keep=later)
    x, term = _sum_out(x, term, set(output))
    return x.permute(*[term.index(letter) for letter in output]) if term != output else x


def _parse(equation: str, operands):
    """The letters of each operand (``...`` expanded to one token per dim) and of the output."""
    lhs, arrow, rhs = equation.partition("->")
    raw_terms = lhs.split(",")
    if len(raw_terms) != len(operands):
        raise RuntimeError(f"einsum(): the equation {equation!r} has {len(raw_terms)} operand "
                           f"term(s) but {len(operands)} operand(s) were given")
    terms, widest = [], 0
    for i, (raw, x) in enumerate(zip(raw_terms, operands, strict=True)):
        letters = raw.replace("...", "")
        bad = [c for c in letters if not c.isalpha()]
        if bad or raw.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid subscript in {raw!r}: use letters a-z, A-Z "
                               f"and at most one '...'")
        if "..." in raw:
            dots = x.ndim - len(letters)
            if dots < 0:
                raise RuntimeError(f"einsum(): operand {i} has {x.ndim} dims, fewer than the "
                                   f"{len(letters)} subscripts of {raw!r}")
            widest = max(widest, dots)
            before, _, after = raw.partition("...")
            terms.append(list(before) + _dots(dots) + list(after))
        else:
            if len(letters) != x.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in {raw!r} "
                                   f"({len(letters)}) does not match the number of dimensions "
                                   f"({x.ndim}) for operand {i} and no ellipsis was given")
            terms.append(list(letters))
    if arrow:
        if any(not c.isalpha() for c in rhs.replace("...", "")) or rhs.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid output subscripts {rhs!r}")
        before, dots, after = rhs.partition("...")
        output = list(before) + (_dots(widest) if dots else []) + list(after)
        if len(set(output)) != len(output):
            raise RuntimeError(f"einsum(): output subscripts {rhs!r} repeat a letter")
    else:
        counts: dict[str, int] = {}
        for term in terms:
            for letter in term:
                counts[letter] = counts.get(letter, 0) + 1
        output = _dots(widest) + sorted(c for c, n in counts.items()
                                        if n == 1 and not c.startswith("."))
    return terms, output


def _dots(count: int) -> list[str]:
    """Tokens for the dims of "...", named by their place from the right (they broadcast)."""
    return [f".{count - 1 - j}" for j in range(count)]


def _letter_sizes(terms, operands) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for term, x in zip(terms, operands, strict=True):
        for letter, size in zip(term, x.shape, strict=True):
            known = sizes.get(letter, 1)
            if size != known and 1 not in (size, known):
                name = "..." if letter.startswith(".") else letter
                raise RuntimeError(f"einsum(): subscript {name} has size {size} for one operand "
                                   f"and {known} for another; they must match (or be 1)")
            sizes[letter] = max(size, known)
    return sizes


def _diagonals(x, term):
    """Take the diagonal over each letter repeated within one operand ("ii" -> "i")."""
    while len(set(term)) != len(term):
        letter = next(c for c in term if term.count(c) > 1)
        first = term.index(letter)
        second = term.index(letter, first + 1)
        if x.shape[first] != x.shape[second]:
            raise RuntimeError(f"einsum(): subscript {letter} is repeated for operand with "
                               f"sizes {x.shape[first]} and {x.shape[second]}")
        rest = [i for i in range(len(term)) if i not in (first, second)]
        x = x.permute(*rest, first, second)
        steps = xp_of(x.data).arange(x.shape[-1])
        x = x[(Ellipsis, steps, steps)]
        term = [term[i] for i in rest] + [letter]
    return x, term


def _sum_out(x, term, keep):
    """Sum over the letters of ``term`` not in ``keep``."""
    gone = [i for i, letter in enumerate(term) if letter not in keep]
    if not gone:
        return x, term
    return x.sum(dim=tuple(gone)), [letter for letter in term if letter in keep]


def _product(shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _contract(a, ta, b, tb, keep):
    """Two operands to one: (batch, a-only, summed) @ (batch, summed, b-only), as above."""
    a, ta = _sum_out(a, ta, keep | set(tb))
    b, tb = _sum_out(b, tb, keep | set(ta))
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    size_a = dict(zip(ta, a.shape, strict=True))
    size_b = dict(zip(tb, b.shape, strict=True))
    for c in summed:  # a summed letter of size 1 in one operand: sum the other over it
        if size_a[c] == 1 and size_b[c] != 1:
            b, size_b[c] = b.sum(dim=tb.index(c), keepdim=True), 1
        elif size_b[c] == 1 and size_a[c] != 1:
            a, size_a[c] = a.sum(dim=ta.index(c), keepdim=True), 1
    a = a.permute(*[ta.index(c) for c in batch + a_only + summed])
    b = b.permute(*[tb.index(c) for c in batch + summed + b_only])
    m = _product(size_a[c] for c in a_only)
    n = _product(size_b[c] for c in b_only)
    k = _product(size_a[c] for c in summed)
    a = a.reshape(*[size_a[c] for c in batch], m, k)
    b = b.reshape(*[size_b[c] for c in batch], k, n)
    out = a @ b
    batch_sizes = [max(size_a[c], size_b[c]) for c in batch]
    out = out.reshape(*batch_sizes, *[size_a[c] for c in a_only], *[size_b[c] for c in b_only])
    return out, batch + a_only + b_only
