"""The one way every picture of the lab is made and written (matplotlib, imported when needed).

Figures are ``matplotlib.figure.Figure`` objects on the Agg canvas, not
``pyplot``: no window, no global state, nothing left open. ``save_figure``
renders a figure into memory in the format its file name asks for (PNG, SVG)
and writes the bytes atomically with the engine's ``write_atomically``: a
picture is whole or absent, never half written, and gets the user's usual
permissions like every other file of a run.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from gradzoo.engine.io import write_atomically

DATA_COLOUR = "#b0b0b0"
SAMPLE_COLOUR = "#d62728"
DPI = 110


def new_figure(width: float, height: float):
    """An empty Figure of ``width`` x ``height`` inches on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def panel_grid(columns: int = 1, rows: int = 1, panel_size: float = 3.6):
    """A Figure of ``rows`` x ``columns`` square panels and its axes (always a 2-D array)."""
    figure = new_figure(panel_size * columns, panel_size * rows)
    return figure, figure.subplots(rows, columns, squeeze=False)


def save_figure(figure, path, **options) -> Path:
    """Write ``figure`` to ``path`` in the format of its suffix (.png, .svg), atomically.

    ``options`` go to ``Figure.savefig`` (e.g. ``bbox_inches="tight"``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip("."), dpi=DPI, **options)
    write_atomically(path, buffer.getvalue())
    return path


def plot_limits(points, margin: float = 0.15):
    """(low, high) for x and y that hold ``points`` (n, 2), with a margin, as square axes."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * (1 + margin) + 1e-6
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def style_points_axes(axes, limits, title: str) -> None:
    """Square axes with the given limits, a small title and small tick labels."""
    axes.set_xlim(*limits[0])
    axes.set_ylim(*limits[1])
    axes.set_aspect("equal")
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)


def colours(count: int) -> list:
    """``count`` distinct colours (matplotlib's tab10, then tab20)."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(count)]
