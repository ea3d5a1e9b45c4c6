"""Heat-map grids of what ``gradzoo inspect`` collects, written as PNG and SVG.

Attention: one row of panels per attention module (a layer), one panel per head;
rows of a panel are the tokens being computed, columns the tokens attended to.
Weights that are exactly 0 (the causal mask's future) are left blank, so the
mask shows as the empty upper triangle. Recurrent: one panel per recorded
quantity (h, c, the gates) over time, and the gradient norm per earlier step.
"""

from __future__ import annotations

from pathlib import Path

from gradzoo.engine import backend
from gradzoo.lab.pictures.figures import new_figure, save_figure

host = backend.array_module("cpu")
PANEL = 3.2  # inches per heat map
FORMATS = (".png", ".svg")


def save_both(figure, out: Path, stem: str) -> list[Path]:
    """``figure`` as STEM.png and STEM.svg in ``out``."""
    return [save_figure(figure, out / f"{stem}{suffix}", bbox_inches="tight")
            for suffix in FORMATS]


def attention_grid(maps, title: str = ""):
    """A Figure: one row per attention module, one heat map per head, token labels on both axes."""
    heads = max(m.weights.shape[0] for m in maps)
    figure = new_figure(PANEL * heads + 0.6, PANEL * len(maps) + 0.6)
    axes = figure.subplots(len(maps), heads, squeeze=False)
    for row, attention in enumerate(maps):
        for head in range(heads):
            axis = axes[row][head]
            if head >= attention.weights.shape[0]:
                axis.set_axis_off()
                continue
            _heat_map(axis, attention.weights[head], attention.queries, attention.keys)
            axis.set_title(f"{attention.name} ({attention.kind}) head {head}", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    return figure


def _heat_map(axis, weights, rows, columns) -> None:
    """One head: weights in [0, 1], exact zeros blank (masked), every token named."""
    from matplotlib import colormaps

    colours = colormaps["viridis"].with_extremes(bad="white")
    shown = host.ma.masked_where(weights == 0, weights)
    axis.imshow(shown, cmap=colours, vmin=0.0, vmax=1.0, interpolation="nearest")
    size = 7 if max(len(rows), len(columns)) <= 24 else 4
    axis.set_xticks(range(len(columns)), columns, fontsize=size, rotation=90)
    axis.set_yticks(range(len(rows)), rows, fontsize=size)
    axis.tick_params(length=0)


def recurrent_grid(layers, tokens, title: str = ""):
    """A Figure: per layer, h (and c, the gates) as hidden x time heat maps."""
    panels = [(layer, name, values) for layer in layers for name, values in layer.arrays().items()]
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    figure = new_figure(4.0 * columns, 2.8 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat[len(panels):]:
        axis.set_axis_off()
    for axis, (layer, name, values) in zip(axes.flat, panels):
        signed = name in ("h", "c", "g")  # tanh-like: -1..1; gates: 0..1
        limit = max(float(host.abs(values).max()), 1e-6) if signed else 1.0
        image = axis.imshow(values.T, aspect="auto", interpolation="nearest",
                            cmap="RdBu_r" if signed else "viridis",
                            vmin=-limit if signed else 0.0, vmax=limit)
        bar = figure.colorbar(image, ax=axis, fraction=0.046, pad=0.02)
        bar.ax.tick_params(labelsize=6)
        axis.set_title(f"{layer.name}: {_long_name(name)}", fontsize=8)
        axis.set_ylabel("unit", fontsize=7)
        axis.set_xticks(range(len(tokens)), tokens[:values.shape[0]], fontsize=5, rotation=90)
        axis.tick_params(axis="y", labelsize=6)
    if title:
        figure.suptitle(title, fontsize=9)
    return figure


def gradient_plot(layers, tokens, position: int, title: str = ""):
    """A Figure: ||d loss / d h_t|| per step t (log scale), the scored position marked."""
    figure = new_figure(6.0, 3.2)
    axis = figure.subplots()
    steps = host.arange(position + 1)
    for layer in layers:
        norms = host.asarray(layer.gradient_norms[:position + 1])
        axis.plot(steps, host.maximum(norms, 1e-12), marker="o", markersize=3,
                  label=f"{layer.name}: |dL/dh_t|")
        if layer.cell_gradient_norms:
            # c_t reaches the loss only through later steps: none at the loss's own step
            cell = host.asarray(layer.cell_gradient_norms[:position])
            axis.plot(steps[:position], host.maximum(cell, 1e-12), marker="s", markersize=3,
                      linestyle="--", label=f"{layer.name}: |dL/dc_t|")
    axis.set_yscale("log")
    axis.set_xticks(steps, tokens[:position + 1], fontsize=6, rotation=90)
    axis.set_xlabel(f"step t (the loss is at step {position})", fontsize=8)
    axis.set_ylabel("gradient norm", fontsize=8)
    axis.legend(fontsize=7)
    axis.set_title(title or "how much of the loss's gradient reaches each earlier step",
                   fontsize=9)
    return figure


def _long_name(name: str) -> str:
    return {"h": "hidden state h", "c": "cell state c", "i": "input gate i",
            "f": "forget gate f", "g": "candidate g", "o": "output gate o",
            "r": "reset gate r", "z": "update gate z"}.get(name, name)
