"""One line per attention head, so that "heads look at different things" becomes a number.

For one head's map A (L queries x S keys, each row a distribution over keys):

    distance  = mean_i sum_j A_ij |i - j|        how far back (or ahead) it looks, in tokens
    entropy   = mean_i -sum_j A_ij log A_ij      0: one key; log S: spread evenly
    previous  = mean_{i>0} A_{i,i-1}             share of weight on the token just before
    first     = mean_i A_{i,0}                   on the first token
    same      = mean_i A_ii                      on the token itself
    induction = mean_i sum_{j: t_j = t_i, j+1 < i} A_{i,j+1}
                                                 on the token after an earlier copy of
                                                 token i (the induction head's look-up)

Rows that attend to nothing (all zeros) are left out, and ``induction`` averages
over the rows whose token came before. Cross-attention rows and columns are
different sequences: ``previous``, ``same`` and ``induction`` are not computed
there (0), and ``distance`` compares the indices as they are.
"""

from __future__ import annotations

from gradzoo.engine import backend

host = backend.array_module("cpu")
COLUMNS = ("distance", "entropy", "previous", "first", "same", "induction")


def head_numbers(weights, tokens=None) -> dict[str, float]:
    """The numbers of one head's map (L, S), computed in float64 on the host.

    ``tokens`` (the names of the L = S positions of a self-attention) are what
    ``induction`` needs; without them it is 0.
    """
    a = host.asarray(weights, dtype="float64")
    rows, columns = a.shape
    live = a.sum(axis=1) > 0
    i = host.arange(rows)[:, None]
    j = host.arange(columns)[None, :]
    distance = (a * host.abs(i - j)).sum(axis=1)
    plogp = host.where(a > 0, a * host.log(host.where(a > 0, a, 1.0)), 0.0)
    entropy = -plogp.sum(axis=1)
    diagonal = host.arange(min(rows, columns))
    same = host.zeros(rows)
    same[diagonal] = a[diagonal, diagonal]
    previous = host.zeros(rows)
    before = diagonal[(diagonal > 0) & (diagonal - 1 < columns)]
    previous[before] = a[before, before - 1]
    has_previous = live & (host.arange(rows) > 0)
    return {"distance": _mean(distance, live), "entropy": _mean(entropy, live),
            "previous": _mean(previous, has_previous), "first": _mean(a[:, 0], live),
            "same": _mean(same, live), "induction": induction_share(a, tokens)}


def induction_share(a, tokens) -> float:
    """Mean over rows i whose token came earlier of the weight on the token after each copy."""
    if tokens is None:
        return 0.0
    shares = []
    for i in range(1, a.shape[0]):
        after = [j + 1 for j in range(i - 1) if tokens[j] == tokens[i]]
        if after and a[i].sum() > 0:
            shares.append(a[i, after].sum())
    return float(sum(shares) / len(shares)) if shares else 0.0


def _mean(values, keep) -> float:
    return float(values[keep].mean()) if keep.any() else 0.0


def summarise(maps) -> list[dict]:
    """A row per (module, head): its name, layer kind, head number and the five numbers."""
    rows = []
    for m in maps:
        same_sequence = m.kind != "cross" and m.queries == m.keys[:len(m.queries)]
        for head in range(m.weights.shape[0]):
            numbers = head_numbers(m.weights[head], m.queries if same_sequence else None)
            if m.kind == "cross":
                numbers.update(previous=0.0, same=0.0)
            rows.append({"module": m.name, "kind": m.kind, "head": head, **numbers})
    return rows


def table(rows: list[dict]) -> str:
    """The rows as an aligned text table, one head a line."""
    width = max([len("module")] + [len(r["module"]) for r in rows])
    lines = [f"{'module':<{width}}  kind     head  " + "  ".join(f"{c:>8}" for c in COLUMNS)]
    for r in rows:
        lines.append(f"{r['module']:<{width}}  {r['kind']:<7}  {r['head']:>4}  "
                     + "  ".join(f"{r[c]:8.3f}" for c in COLUMNS))
    return "\n".join(lines)
