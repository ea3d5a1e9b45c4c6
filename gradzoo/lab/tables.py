"""Plain-text tables for the terminal (left-aligned columns, a rule under the header)."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list], max_width: int = 60) -> str:
    """Columns padded to their widest cell; cells longer than ``max_width`` are cut with '…'."""
    cells = [[_cut(str(c), max_width) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
