"""``gradzoo graph --expr "tanh(w*x + b)"``: small formulas of named tensors, evaluated safely.

The text is parsed with ``ast`` and only a few kinds of node are allowed:
names, numbers, the operators + - * / ** @ and unary -, and calls of the
functions in ``FUNCTIONS``. Nothing is ever handed to ``eval``, so an
expression cannot reach Python itself. Names get their values from
``--set name=value`` (a number or a list such as ``[1, 2, 3]``, read by
``ast.literal_eval``) and become tensors that require a gradient, so that the
drawing shows every gradient of the formula.
"""

from __future__ import annotations

import ast
import operator

from gradzoo.engine import Tensor
from gradzoo.engine import functional as F
from gradzoo.lab.errors import UsageError

FUNCTIONS = {
    "tanh": F.tanh, "exp": F.exp, "log": F.log, "sigmoid": F.sigmoid, "relu": F.relu,
    "gelu": F.gelu, "softmax": F.softmax, "log_softmax": F.log_softmax,
    "sum": lambda x: x.sum(), "mean": lambda x: x.mean(), "max": lambda x: x.max(),
}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul}
MAX_LENGTH = 500        # characters in an expression
MAX_ELEMENTS = 10_000   # numbers in one named value
ALLOWED = ("names, numbers, + - * / ** @, unary -, parentheses and the functions "
           + ", ".join(sorted(FUNCTIONS)))


def parse(text: str) -> ast.Expression:
    """Parse ``text`` and check that it uses only what is allowed (``ALLOWED``)."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"--expr is {len(text)} characters long; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise UsageError(f"--expr {text!r} is not a formula: {error}") from None
    for node in ast.walk(tree):
        _check(node)
    return tree


def _check(node) -> None:
    """Refuse every kind of syntax node but the few a formula needs."""
    if isinstance(node, (ast.Expression, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.USub,
                         ast.UAdd)) or type(node) in OPERATORS:
        if isinstance(node, ast.BinOp) and type(node.op) not in OPERATORS:
            raise UsageError(f"--expr: the operator of '{ast.unparse(node)}' is not "
                             f"allowed; allowed: {ALLOWED}")
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise UsageError(f"--expr: {node.value!r} is not a number; allowed: {ALLOWED}")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise UsageError(f"--expr: '{ast.unparse(node.func)}' is not a function "
                             f"gradzoo knows; allowed: {ALLOWED}")
        if len(node.args) != 1 or node.keywords:
            raise UsageError(f"--expr: {node.func.id}() takes exactly one argument, "
                             f"as in {node.func.id}(x)")
        return
    raise UsageError(f"--expr: '{_source_of(node)}' is not allowed; allowed: {ALLOWED}")


def _source_of(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # some nodes (operators, contexts) have no source of their own
        return type(node).__name__


def _plain_names(tree):
    """Name nodes that are not the function of a call."""
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Name)
            and id(node) not in functions]


def make_values(tree: ast.Expression, assignments: dict[str, str]) -> dict[str, Tensor]:
    """A tensor (requires grad, named) for each name of the expression, from ``--set`` text."""
    used = list(dict.fromkeys(node.id for node in _plain_names(tree)))
    for name in used:
        if name in FUNCTIONS:
            raise UsageError(f"--expr: '{name}' is a function; call it as {name}(x)")
    missing = [name for name in used if name not in assignments]
    if missing:
        sets = " ".join(f"--set {name}=VALUE" for name in missing)
        raise UsageError(f"--expr uses {', '.join(used)}; no value for "
                         f"{', '.join(missing)}: add {sets}")
    unused = [name for name in assignments if name not in used]
    if unused:
        raise UsageError(f"--set {unused[0]}=...: the expression has no name '{unused[0]}' "
                         f"(it uses {', '.join(used) or 'no names'})")
    return {name: _tensor(name, assignments[name]) for name in used}


def _tensor(name: str, text: str) -> Tensor:
    """The value of ``--set name=text`` as a float tensor that requires a gradient."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        raise UsageError(f"--set {name}={text}: expected a number or a list of numbers, "
                         f"such as 0.5 or [1, 2, 3]") from None
    if not _numeric(value):
        raise UsageError(f"--set {name}={text}: expected a number or a (nested) list of "
                         f"numbers, such as 0.5 or [[1, 2], [3, 4]]")
    try:
        result = Tensor(value, requires_grad=True, dtype="float32")
    except (ValueError, TypeError) as error:
        raise UsageError(f"--set {name}={text}: not a rectangular array ({error})") from None
    if result.size > MAX_ELEMENTS:
        raise UsageError(f"--set {name}: {result.size:,} numbers; at most {MAX_ELEMENTS:,}")
    result.name = name
    return result


def _numeric(value, depth: int = 0) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, (list, tuple)) and depth < 8 and len(value) > 0 and all(
        _numeric(item, depth + 1) for item in value)


def evaluate(tree: ast.Expression, values: dict[str, Tensor]):
    """The value of a checked expression, computed with the engine's tensors (graph recorded)."""
    stack = [(tree.body, False)]
    results = []
    while stack:  # post-order with a stack: a long formula cannot exhaust Python's recursion
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_operands(node)))
            continue
        operands = [results.pop() for _ in _operands(node)][::-1]
        results.append(_apply(node, operands, values))
    return results[0]


def _operands(node) -> list:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _apply(node, operands: list, values: dict):
    """One step of the evaluation: a leaf's value, or an operator or function applied."""
    if isinstance(node, ast.Name):
        return values[node.id]
    try:
        if isinstance(node, ast.Constant):
            return float(node.value)  # floats only: 10**10**10 overflows at once, never hangs
        if isinstance(node, ast.BinOp):
            return OPERATORS[type(node.op)](*operands)
        if isinstance(node, ast.UnaryOp):
            return -operands[0] if isinstance(node.op, ast.USub) else operands[0]
        return FUNCTIONS[node.func.id](_as_tensor(operands[0]))
    except (ValueError, TypeError, RuntimeError, OverflowError, ZeroDivisionError) as error:
        # (the engine raises RuntimeError for shapes that do not fit, as PyTorch does)
        raise UsageError(f"--expr: cannot compute '{ast.unparse(node)}': {error}") from None


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def evaluate_text(text: str, assignments: dict[str, str]):
    """Parse, check and evaluate ``text`` with the ``--set`` values; returns the result tensor."""
    tree = parse(text)
    result = evaluate(tree, make_values(tree, assignments))
    if not isinstance(result, Tensor) or result.creator is None:
        raise UsageError(f"--expr {text!r} applies no operation to a named value, so there "
                         f"is no graph to draw; try \"tanh(w*x + b)\" --set w=0.5 ...")
    return result
