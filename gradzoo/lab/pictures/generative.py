"""What ``gradzoo sample`` draws for a generative run, chosen by what the model can do.

Every generative model samples, so every run gets ``samples.png``: the samples
over held-out data (2-D points) or as a grid (images). A model that offers
more gets more pictures, found by the capabilities it offers
(``gradzoo.plugins.protocols.offers``) rather than its name, so a plugin's model
that offers the same methods gets the same pictures:

* ``sample_trajectory(n, snapshots)`` (diffusion)       -> ``trajectory.png``
* ``encode(x)`` (vae): latent codes coloured by mode      -> ``latent.png``
* ``reconstruct(x)`` (vae), on images                     -> ``reconstructions.png``
* ``log_prob(x)`` (flow), on 2-D points                   -> ``density.png``
* ``discriminator(x)`` (gan), on 2-D points               -> ``discriminator.png``
"""

from __future__ import annotations

from pathlib import Path

from gradzoo.engine import Tensor, backend
from gradzoo.lab.pictures import figures
from gradzoo.plugins.protocols import offers

host = backend.array_module("cpu")
MAX_GRID_IMAGES = 100   # an image grid shows at most this many samples
TRAJECTORY_ROWS = 8     # samples followed through the denoising chain, for images
GRID_POINTS = 160       # density and discriminator maps: GRID_POINTS x GRID_POINTS
CHUNK = 4096            # grid points sent through a model at once


def draw_generative_run(model, task, count: int, out_dir) -> list[str]:
    """Draw every picture the model allows into ``out_dir``; one line per file written."""
    out_dir = Path(out_dir)
    data, labels = task.draw(count, 0, "test")
    samples = model.sample(count).numpy()
    drawers = (draw_samples, draw_trajectory, draw_latent, draw_reconstructions, draw_density,
               draw_discriminator)
    lines = []
    for drawer in drawers:
        for path, what in drawer(model, task, samples, data, labels, out_dir):
            lines.append(f"{path}  ({what})")
    return lines


def _images(task, flat):
    """Flat rows (n, H*W) as images (n, H, W)."""
    return flat.reshape(len(flat), *task.image_shape)


def _name(model, task) -> str:
    """'VAE on moons': the title of a picture."""
    return f"{type(model).__name__} on {task.name}"


def draw_samples(model, task, samples, data, labels, out_dir):
    """samples.png: the samples over test data (points) or in a grid (images)."""
    if task.image_shape is None:
        path = samples_over_data(out_dir / "samples.png", samples, data,
                                 f"{_name(model, task)}: samples over test data")
        return [(path, f"{len(samples)} samples over {len(data)} test points")]
    shown = samples[:MAX_GRID_IMAGES]
    path = image_grid(out_dir / "samples.png", _images(task, shown),
                      f"{_name(model, task)}: {len(shown)} samples")
    return [(path, f"{len(shown)} of {len(samples)} samples")]


def draw_trajectory(model, task, samples, data, labels, out_dir):
    """trajectory.png: snapshots of the reverse chain, from noise to data."""
    if not offers(model, "sample_trajectory"):
        return []
    rows = len(samples) if task.image_shape is None else min(TRAJECTORY_ROWS, len(samples))
    snapshots = [(t, x.numpy()) for t, x in model.sample_trajectory(rows, snapshots=6)]
    title = f"{_name(model, task)}: from noise (t = {snapshots[0][0]}) to data (t = 0)"
    if task.image_shape is None:
        path = point_trajectory(out_dir / "trajectory.png", snapshots, data, title)
    else:
        snapshots = [(t, _images(task, x)) for t, x in snapshots]
        path = image_trajectory(out_dir / "trajectory.png", snapshots, title)
    return [(path, f"the denoising trajectory of {rows} samples, {len(snapshots)} snapshots")]


def draw_latent(model, task, samples, data, labels, out_dir):
    """latent.png: the posterior means of test data, coloured by mode."""
    if not offers(model, "encode"):
        return []
    latents = model.encode(Tensor(data))[0].numpy()
    if latents.shape[1] < 2:
        return []
    names = task.label_names or ("examples",)
    labels = labels if labels is not None and task.label_names else host.zeros(len(data), int)
    dims = "" if latents.shape[1] == 2 else f" (first 2 of {latents.shape[1]} dimensions)"
    path = latent_scatter(out_dir / "latent.png", latents[:, :2], labels, names,
                          f"{_name(model, task)}: posterior means of test data{dims}")
    return [(path, f"latent codes of {len(data)} test examples, coloured by mode")]


def draw_reconstructions(model, task, samples, data, labels, out_dir):
    """reconstructions.png: test images above their reconstructions."""
    if not offers(model, "reconstruct") or task.image_shape is None:
        return []
    originals = data[:8]
    rebuilt = model.reconstruct(Tensor(originals)).numpy()
    path = image_grid(out_dir / "reconstructions.png",
                      _images(task, host.concatenate([originals, rebuilt])),
                      "top: test images; bottom: their reconstructions", columns=len(originals))
    return [(path, f"{len(originals)} test images and their reconstructions")]


def _grid(data):
    """xs, ys and the (GRID_POINTS^2, 2) points of a square grid around the data."""
    (x_low, x_high), (y_low, y_high) = figures.plot_limits(data, margin=0.3)
    xs = host.linspace(x_low, x_high, GRID_POINTS)
    ys = host.linspace(y_low, y_high, GRID_POINTS)
    grid_x, grid_y = host.meshgrid(xs, ys)
    return xs, ys, host.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype("float32")


def _on_grid(function, points):
    """``function`` (Tensor -> Tensor of one value per row) over many points, in chunks."""
    values = [function(Tensor(points[i:i + CHUNK])).numpy().reshape(-1)
              for i in range(0, len(points), CHUNK)]
    return host.concatenate(values).reshape(GRID_POINTS, GRID_POINTS)


def draw_density(model, task, samples, data, labels, out_dir):
    """density.png: the learned density p(x) on a grid (2-D data only)."""
    if not offers(model, "log_prob") or task.data_dim != 2:
        return []
    xs, ys, points = _grid(data)
    density = host.exp(_on_grid(model.log_prob, points))
    path = heat_map(out_dir / "density.png", xs, ys, density, data,
                    f"{_name(model, task)}: learned density p(x)", "p(x)")
    return [(path, "the learned density p(x) on a grid, test data on top")]


def draw_discriminator(model, task, samples, data, labels, out_dir):
    """discriminator.png: D(x) on a grid (2-D data only)."""
    if not offers(model, "discriminator") or task.data_dim != 2:
        return []
    xs, ys, points = _grid(data)
    probability = _on_grid(lambda x: model.discriminator(x).sigmoid(), points)
    path = heat_map(out_dir / "discriminator.png", xs, ys, probability, data,
                    f"{_name(model, task)}: D(x), the probability that x is real", "D(x)")
    return [(path, "the discriminator's belief that a point is real, test data on top")]


# ---------------------------------------------------------------------- the figures


def samples_over_data(path, samples, data, title: str) -> Path:
    """2-D samples (red) drawn over held-out data (grey), on the same axes."""
    figure, axes = figures.panel_grid(panel_size=4.5)
    ax = axes[0, 0]
    ax.scatter(data[:, 0], data[:, 1], s=4, c=figures.DATA_COLOUR, label=f"data ({len(data)})")
    ax.scatter(samples[:, 0], samples[:, 1], s=4, c=figures.SAMPLE_COLOUR, alpha=0.7,
               label=f"samples ({len(samples)})")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    figures.style_points_axes(ax, figures.plot_limits(data), title)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def image_grid(path, images, title: str, columns: int | None = None) -> Path:
    """Images (n, H, W), grey levels in [0, 1] (values outside are clipped), in a grid."""
    count = len(images)
    columns = columns or max(1, min(count, int(count ** 0.5 + 0.999)))
    rows = (count + columns - 1) // columns
    figure, axes = figures.panel_grid(columns, rows, panel_size=0.9)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.suptitle(title, fontsize=9)
    return figures.save_figure(figure, path)


def point_trajectory(path, snapshots, data, title: str) -> Path:
    """One panel per (t, points) snapshot, from noise to data, each over the data in grey."""
    figure, axes = figures.panel_grid(len(snapshots), 1, panel_size=3.0)
    limits = figures.plot_limits(data, margin=0.6)
    for ax, (step, points) in zip(axes[0], snapshots):
        ax.scatter(data[:, 0], data[:, 1], s=2, c=figures.DATA_COLOUR)
        ax.scatter(points[:, 0], points[:, 1], s=2, c=figures.SAMPLE_COLOUR, alpha=0.6)
        figures.style_points_axes(ax, limits, f"t = {step}")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def image_trajectory(path, snapshots, title: str) -> Path:
    """A row per sample, a column per (t, images (n, H, W)) snapshot, from noise to data."""
    rows = len(snapshots[0][1])
    figure, axes = figures.panel_grid(len(snapshots), rows, panel_size=0.9)
    for column, (step, images) in enumerate(snapshots):
        axes[0, column].set_title(f"t = {step}", fontsize=7)
        for row in range(rows):
            axes[row, column].imshow(images[row], cmap="gray", vmin=0.0, vmax=1.0,
                                     interpolation="nearest")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(title, fontsize=9)
    return figures.save_figure(figure, path)


def latent_scatter(path, latents, labels, label_names, title: str) -> Path:
    """Latent codes (n, 2) as points, coloured by the mode each example came from."""
    figure, axes = figures.panel_grid(panel_size=4.5)
    ax = axes[0, 0]
    palette = figures.colours(len(label_names))
    for index, name in enumerate(label_names):
        chosen = labels == index
        ax.scatter(latents[chosen, 0], latents[chosen, 1], s=4, color=palette[index], label=name)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    ax.set_xlabel("z_1", fontsize=8)
    ax.set_ylabel("z_2", fontsize=8)
    figures.style_points_axes(ax, figures.plot_limits(latents), title)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def heat_map(path, xs, ys, values, data, title: str, colour_label: str) -> Path:
    """``values`` (len(ys), len(xs)) on a grid as colours, the data as grey dots on top."""
    figure, axes = figures.panel_grid(panel_size=4.5)
    ax = axes[0, 0]
    mesh = ax.pcolormesh(xs, ys, values, shading="auto", cmap="viridis")
    figure.colorbar(mesh, ax=ax, shrink=0.8).set_label(colour_label, fontsize=8)
    ax.scatter(data[:, 0], data[:, 1], s=1, c="white", alpha=0.35)
    figures.style_points_axes(ax, ((xs[0], xs[-1]), (ys[0], ys[-1])), title)
    figure.tight_layout()
    return figures.save_figure(figure, path)
