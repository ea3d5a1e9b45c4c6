"""The plots of a comparison, as PNG and SVG (drawn and saved by ``pictures.figures``)."""

from __future__ import annotations

from pathlib import Path

from gradzoo.lab.pictures import figures


def save_both(figure, out: Path, name: str) -> dict:
    """Write ``name``.png and ``name``.svg into ``out`` (each atomically); their paths by format."""
    return {extension: figures.save_figure(figure, Path(out) / f"{name}.{extension}",
                                           bbox_inches="tight")
            for extension in ("png", "svg")}


def _as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _models(rows):
    return list(dict.fromkeys(r["model"] for r in rows))


def loss_curves(out, rows, sweep_option) -> dict:
    """Training loss against step, one panel per swept value, one line per model."""
    values = list(dict.fromkeys(r["sweep_value"] for r in rows))
    figure = figures.new_figure(4.2 * len(values), 3.4)
    axes = figure.subplots(1, len(values), squeeze=False)
    for axis, value in zip(axes[0], values):
        for row in (r for r in rows if r["sweep_value"] == value and r.get("loss_curve")):
            steps, losses = zip(*row["loss_curve"])
            axis.plot(steps, losses, label=row["model"])
        axis.set_title(f"{sweep_option} = {value}" if sweep_option else "training loss")
        axis.set_xlabel("step")
        axis.set_yscale("log")
        axis.legend()
    axes[0][0].set_ylabel("training loss")
    return {"title": "Loss curves", **save_both(figure, out, "loss_curves"),
            "text": "Training loss against step for every model (averaged over seeds), one "
                    "panel per value of the swept option. Every model saw the same batches."}


def score_against_sweep(out, rows, sweep_option) -> dict:
    """The task's score against the swept option, one line per model (error bars: seeds)."""
    figure = figures.new_figure(5.5, 3.8)
    axis = figure.subplots()
    metric = next((r["metric"] for r in rows if r.get("metric")), "score")
    for model in _models(rows):
        points = [(_as_number(r["sweep_value"]), r["score"], r["score_std"] or 0.0)
                  for r in rows if r["model"] == model and r["score"] is not None]
        if points:
            xs, ys, errors = zip(*points)
            axis.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=model)
    axis.set_xlabel(sweep_option or "")
    axis.set_ylabel(metric)
    if all(isinstance(_as_number(r["sweep_value"]), float) for r in rows):
        axis.set_xscale("log", base=2)
    axis.legend()
    axis.set_title(f"{metric} against {sweep_option}")
    return {"title": f"{metric} against {sweep_option}",
            **save_both(figure, out, "score_vs_sweep"),
            "text": f"How the task's score ({metric}) changes as {sweep_option} grows. On "
                    f"'remember', the distance is how far back the one fact lies: a recurrent "
                    f"model must carry it through every step in between, attention reaches it "
                    f"in one."}


def speed_and_depth(out, rows) -> dict:
    """Seconds per step and sequential depth against sequence length, one line per model."""
    figure = figures.new_figure(10, 3.8)
    speed_axis, depth_axis = figure.subplots(1, 2)
    for model in _models(rows):
        points = sorted((r["sequence_length"], r["seconds_per_step"], r["sequential_depth"])
                        for r in rows if r["model"] == model and r["sequence_length"])
        if points:
            lengths, seconds, depths = zip(*points)
            speed_axis.plot(lengths, seconds, marker="o", label=model)
            depth_axis.plot(lengths, depths, marker="o", label=model)
    speed_axis.set(xlabel="sequence length (tokens)", ylabel="seconds per training step",
                   title="time per step")
    depth_axis.set(xlabel="sequence length (tokens)", ylabel="longest chain of dependent ops",
                   title="sequential depth of one forward pass")
    speed_axis.legend()
    depth_axis.legend()
    return {"title": "Speed and sequential depth against sequence length",
            **save_both(figure, out, "speed_and_depth"),
            "text": "Left: seconds per training step. Right: sequential depth, the longest chain "
                    "of ops in one forward pass where each must wait for the one before. A "
                    "recurrent model's chain grows with every token, so its work cannot be spread "
                    "over time steps; a transformer's depth depends on its layers, not on the "
                    "length: attention processes all positions in the same few matrix products."}


def samples_side_by_side(out, panels, task, title_option) -> dict:
    """Generative tasks: one panel of samples per model, the held-out data in grey beneath.

    ``panels`` is a list of (model name, samples as a host array); ``task`` gives the data.
    """
    figure = figures.new_figure(3.6 * len(panels), 3.6)
    axes = figure.subplots(1, len(panels), squeeze=False)
    data, _ = task.draw(500, 0, "test")
    low, high = data.min(), data.max()
    margin = 0.25 * (high - low)
    for axis, (model, samples) in zip(axes[0], panels):
        if task.image_shape is None:
            axis.scatter(data[:, 0], data[:, 1], s=3, c=figures.DATA_COLOUR, label="data")
            axis.scatter(samples[:, 0], samples[:, 1], s=3, c=figures.SAMPLE_COLOUR, alpha=0.7,
                         label="samples")
            axis.set_xlim(low - margin, high + margin)  # the same square window for every model
            axis.set_ylim(low - margin, high + margin)
            axis.set_aspect("equal")
        else:
            axis.imshow(_tile(samples[:16].reshape(-1, *task.image_shape)), cmap="gray")
            axis.set_axis_off()
        axis.set_title(model)
    return {"title": "Samples, one panel per model", **save_both(figure, out, "samples"),
            "text": f"What each model generates after training ({title_option}), drawn "
                    f"from the model alone: red points over the held-out data in grey "
                    f"(2-D sets), or a grid of generated images."}


def _tile(images, columns: int = 4):
    """Images (n, H, W) laid out as one (rows*H, columns*W) array, blank where none is left."""
    from gradzoo.engine import backend

    xp = backend.array_module("cpu")
    count, height, width = images.shape
    rows = -(-count // columns)
    canvas = xp.zeros((rows * height, columns * width), dtype=images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return canvas
