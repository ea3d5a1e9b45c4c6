"""Pictures of what generative models learn, written as PNG files with matplotlib.

Every function takes host arrays (``tensor.numpy()``), draws one figure and
writes it atomically (a temporary file, then a rename), returning the path.
matplotlib is imported only inside these functions, so ``gradzoo list`` and
``gradzoo --help`` never pay for it. Figures are made with
``matplotlib.figure.Figure`` and the Agg canvas, not ``pyplot``: no window,
no global state, nothing left open.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_COLOUR = "#b0b0b0"
SAMPLE_COLOUR = "#d62728"
DPI = 110


def new_figure(columns: int = 1, rows: int = 1, panel_size: float = 3.6):
    """A Figure (Agg canvas) and its grid of axes, ``rows`` x ``columns`` (always 2-D)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(panel_size * columns, panel_size * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, axes


def save_png(figure, path) -> Path:
    """Write ``figure`` to ``path`` as PNG through a temporary file and a rename.

    The temporary file is made like any new file (permissions from the umask, so a
    picture is readable like the rest of the run), with a random name beside the target.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.png")
    try:
        figure.savefig(temporary, format="png", dpi=DPI)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def plot_limits(points, margin: float = 0.15):
    """(low, high) for x and y that hold ``points`` (n, 2), with a margin, as square axes."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * (1 + margin) + 1e-6
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def _style_points_axes(axes, limits, title: str) -> None:
    """Square axes with the given limits, a small title and small tick labels."""
    axes.set_xlim(*limits[0])
    axes.set_ylim(*limits[1])
    axes.set_aspect("equal")
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)


def samples_over_data(path, samples, data, title: str) -> Path:
    """2-D samples (red) drawn over held-out data (grey), on the same axes."""
    figure, axes = new_figure(panel_size=4.5)
    ax = axes[0, 0]
    ax.scatter(data[:, 0], data[:, 1], s=4, c=DATA_COLOUR, label=f"data ({len(data)})")
    ax.scatter(samples[:, 0], samples[:, 1], s=4, c=SAMPLE_COLOUR, alpha=0.7,
               label=f"samples ({len(samples)})")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    _style_points_axes(ax, plot_limits(data), title)
    figure.tight_layout()
    return save_png(figure, path)


def image_grid(path, images, title: str, columns: int | None = None) -> Path:
    """Images (n, H, W), grey levels in [0, 1] (values outside are clipped), in a grid."""
    count = len(images)
    columns = columns or max(1, min(count, int(count ** 0.5 + 0.999)))
    rows = (count + columns - 1) // columns
    figure, axes = new_figure(columns, rows, panel_size=0.9)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.suptitle(title, fontsize=9)
    return save_png(figure, path)


def point_trajectory(path, snapshots, data, title: str) -> Path:
    """One panel per (t, points) snapshot, from noise to data, each over the data in grey."""
    figure, axes = new_figure(len(snapshots), 1, panel_size=3.0)
    limits = plot_limits(data, margin=0.6)
    for ax, (step, points) in zip(axes[0], snapshots):
        ax.scatter(data[:, 0], data[:, 1], s=2, c=DATA_COLOUR)
        ax.scatter(points[:, 0], points[:, 1], s=2, c=SAMPLE_COLOUR, alpha=0.6)
        _style_points_axes(ax, limits, f"t = {step}")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_png(figure, path)


def image_trajectory(path, snapshots, title: str) -> Path:
    """A row per sample, a column per (t, images (n, H, W)) snapshot, from noise to data."""
    rows = len(snapshots[0][1])
    figure, axes = new_figure(len(snapshots), rows, panel_size=0.9)
    for column, (step, images) in enumerate(snapshots):
        axes[0, column].set_title(f"t = {step}", fontsize=7)
        for row in range(rows):
            axes[row, column].imshow(images[row], cmap="gray", vmin=0.0, vmax=1.0,
                                     interpolation="nearest")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(title, fontsize=9)
    return save_png(figure, path)


def latent_scatter(path, latents, labels, label_names, title: str) -> Path:
    """Latent codes (n, 2) as points, coloured by the mode each example came from."""
    figure, axes = new_figure(panel_size=4.5)
    ax = axes[0, 0]
    colours = _colours(len(label_names))
    for index, name in enumerate(label_names):
        chosen = labels == index
        ax.scatter(latents[chosen, 0], latents[chosen, 1], s=4, color=colours[index], label=name)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    ax.set_xlabel("z_1", fontsize=8)
    ax.set_ylabel("z_2", fontsize=8)
    _style_points_axes(ax, plot_limits(latents), title)
    figure.tight_layout()
    return save_png(figure, path)


def heat_map(path, xs, ys, values, data, title: str, colour_label: str) -> Path:
    """``values`` (len(ys), len(xs)) on a grid as colours, the data as grey dots on top."""
    figure, axes = new_figure(panel_size=4.5)
    ax = axes[0, 0]
    mesh = ax.pcolormesh(xs, ys, values, shading="auto", cmap="viridis")
    figure.colorbar(mesh, ax=ax, shrink=0.8).set_label(colour_label, fontsize=8)
    ax.scatter(data[:, 0], data[:, 1], s=1, c="white", alpha=0.35)
    _style_points_axes(ax, ((xs[0], xs[-1]), (ys[0], ys[-1])), title)
    figure.tight_layout()
    return save_png(figure, path)


def _colours(count: int) -> list:
    """``count`` distinct colours (matplotlib's tab10, then tab20)."""
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(count)]
