"""What ``gradzoo graph`` does: build a model's training loss (or an expression), draw, write.

The DOT source is always written; the picture is rendered by Graphviz's ``dot``
program through the graphviz package (a plain subprocess, never a shell). Without
``dot`` only the ``.dot`` file is written, with a line that says how to install it.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from gradzoo import graph
from gradzoo.engine.io import write_atomically
from gradzoo.lab.drawing.expressions import evaluate_text
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment, parse_assignments
from gradzoo.plugins.manager import Registry

FORMATS = ("svg", "png", "pdf", "dot")
MAX_WALK_OPS = 60          # --walk draws one frame per op: a walk is for small graphs
GIF_SIDE = 1200            # the animation's frames are scaled down to at most this many pixels
INSTALL_DOT = ("Install Graphviz to get pictures: sudo apt-get install graphviz (Debian, Ubuntu), "
               "brew install graphviz (macOS), conda install graphviz, or "
               "https://graphviz.org/download/")


@dataclass
class GraphRequest:
    """Everything ``gradzoo graph`` was asked for."""

    model: str | None = None
    task: str | None = None
    assignments: tuple = ()
    expr: str | None = None
    depth: int | None = None
    backward: bool = False
    values: bool = False
    walk: bool = False
    unroll: bool = False
    format: str | None = None
    out: str | None = None
    seed: int = 0
    batch_size: int = 2


def draw_graph(registry: Registry | None, request: GraphRequest, echo=print) -> list[Path]:
    """Draw what ``request`` asks for and write it; returns the files written."""
    _check(request)
    tensor, model, name, title = _subject(registry, request)
    if request.walk:
        return write_walk(tensor, title, _walk_dir(request, name), request.format or "png", echo,
                          model)
    picture = graph.draw(tensor, depth=request.depth, backward=request.backward,
                         values=request.values, unroll=request.unroll, title=title, model=model)
    path = _output_path(request, name)
    written = write_picture(picture, path, echo)
    stats = graph.capture(tensor)
    echo(f"{stats.parameter_count:,} parameters, {len(stats.ops):,} ops, "
         f"sequential depth {stats.sequential_depth:,}")
    return written


def _check(request: GraphRequest) -> None:
    if (request.model is None) == (request.expr is None):
        raise UsageError("give a MODEL to draw (gradzoo graph gpt) or an expression "
                         "(gradzoo graph --expr \"tanh(w*x + b)\" --set w=0.5 ...), not both")
    if request.expr is not None and request.task is not None:
        raise UsageError("--task goes with a MODEL; an --expr needs only --set for its names")
    if request.walk and (request.depth is not None or request.unroll):
        raise UsageError("--walk shows every op, one frame per step of backward: drop "
                         "--depth and --unroll")
    if request.out and request.format and not request.walk:
        suffix = Path(request.out).suffix.lstrip(".")
        if suffix in FORMATS and suffix != request.format:
            raise UsageError(f"--out {request.out} ends in .{suffix} but --format is "
                             f"{request.format}; make them agree (or drop one)")


def _subject(registry, request: GraphRequest):
    """(tensor to draw, the model that made it or None, a name for files, a title)."""
    assignments = parse_assignments(request.assignments)
    if request.expr is not None:
        return evaluate_text(request.expr, assignments), None, "expr", request.expr
    task = request.task or default_task(registry, request.model)
    loss, model = model_loss(registry, request.model, task, assignments, request.seed,
                             request.batch_size)
    title = f"{request.model} on {task}: the loss of one batch of {request.batch_size}"
    return loss, model, f"{request.model}-{task}", title


def default_task(registry: Registry, model: str) -> str:
    """The task to draw a model on when --task is not given: ``Registry.example_task``."""
    try:
        spec = registry.model(model)
    except KeyError as error:  # the registry's message names the known models
        raise UsageError(str(error)) from None
    task = registry.example_task(spec)
    if task is None:
        raise UsageError(f"no task can run model '{model}' (it runs {', '.join(spec.kinds)} "
                         f"tasks); install a plugin with one")
    return task


def model_loss(registry: Registry, model: str, task: str, assignments: dict, seed: int = 0,
               batch_size: int = 2):
    """(the training loss of ``model`` on one small batch of ``task``, the model built for it);
    the module calls are recorded, so the drawing can fold modules into boxes."""
    experiment = build_experiment(registry, model, task, assignments, seed)
    batch = experiment.task.batch(batch_size, 0)
    with graph.record():
        return experiment.model.loss(batch), experiment.model


# ---------------------------------------------------------------------- writing files


def _output_path(request: GraphRequest, name: str) -> Path:
    """--out as given (its suffix picks the format when --format is not given)."""
    if request.out:
        path = Path(request.out)
        suffix = path.suffix.lstrip(".")
        if suffix in FORMATS:
            return path
        return path.with_name(path.name + "." + (request.format or "svg"))
    return Path(f"{name}-graph.{request.format or 'svg'}")


def write_picture(picture, path: Path, echo=print) -> list[Path]:
    """Write ``path.dot`` always, and the picture at ``path`` when ``dot`` can render it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dot_path = path.with_suffix(".dot")
    write_atomically(dot_path, picture.source)
    fmt = path.suffix.lstrip(".")
    if fmt == "dot":
        echo(f"wrote {dot_path}")
        return [dot_path]
    if shutil.which("dot") is None:
        echo(f"wrote {dot_path} (the DOT source). Graphviz's `dot` program was not found, so "
             f"no {fmt.upper()} was drawn. {INSTALL_DOT}; then run: "
             f"dot -T{fmt} {dot_path} -o {path}")
        return [dot_path]
    write_atomically(path, render_bytes(picture, fmt))
    echo(f"wrote {path} (and its DOT source {dot_path})")
    return [path, dot_path]


def render_bytes(picture, fmt: str) -> bytes:
    """The picture as ``fmt`` bytes, drawn by Graphviz's ``dot`` (run without a shell)."""
    import graphviz

    try:
        return picture.pipe(format=fmt)
    except graphviz.CalledProcessError as error:
        raise RuntimeError(f"Graphviz's dot failed to draw the graph: {error}") from None


def write_walk(tensor, title: str, directory: Path, fmt: str, echo=print,
               model=None) -> list[Path]:
    """The backward walk as numbered frames in ``directory`` (and walk.gif when they are PNG)."""
    ops = len(graph.capture(tensor).ops)
    if ops > MAX_WALK_OPS:
        raise UsageError(f"--walk draws one frame per op, and this graph has {ops:,} ops (at "
                         f"most {MAX_WALK_OPS}); walk an --expr, or a smaller model "
                         f"(e.g. --set hidden=4 --set length=2)")
    try:
        frames = graph.walk(tensor, values=True, title=title, model=model)
    except ValueError as error:  # a graph the walk cannot show, in the user's terms
        raise UsageError(str(error)) from None
    directory.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(frames) - 1)))
    can_render = fmt != "dot" and shutil.which("dot") is not None
    stems = [directory / f"frame-{number:0{width}d}" for number in range(len(frames))]
    written = []
    for stem, frame in zip(stems, frames):
        write_atomically(stem.with_suffix(".dot"), frame.source)
        written.append(stem.with_suffix(".dot"))
    if can_render:  # one dot process per frame, several at a time
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            pictures = list(pool.map(lambda frame: render_bytes(frame, fmt), frames))
        for stem, picture in zip(stems, pictures):
            write_atomically(stem.with_suffix("." + fmt), picture)
            written.append(stem.with_suffix("." + fmt))
    echo(f"wrote {len(frames)} frames of the backward walk to {directory}/ "
         f"(frame-{0:0{width}d} is the start, then one frame per op in the engine's order)")
    if fmt != "dot" and not can_render:
        echo(f"Graphviz's `dot` program was not found, so only the .dot frames were written. "
             f"{INSTALL_DOT}; then run: dot -T{fmt} -O {directory}/*.dot")
    elif fmt == "png":
        gif = _animate([path for path in written if path.suffix == ".png"], directory / "walk.gif")
        if gif is not None:
            written.append(gif)
            echo(f"wrote {gif} (the frames as an animation)")
    return written


def _animate(pngs: list[Path], target: Path) -> Path | None:
    """The PNG frames as one animated GIF (Pillow, which matplotlib brings); None without it."""
    try:
        from PIL import Image
    except ImportError:
        return None
    images = []
    for path in pngs:
        image = Image.open(path).convert("RGB")
        image.thumbnail((GIF_SIDE, GIF_SIDE))  # a big graph would make a huge animation
        images.append(image)
    width, height = max(i.width for i in images), max(i.height for i in images)
    frames = []
    for image in images:  # every frame on a canvas of the same size, centred
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, ((width - image.width) // 2, 0))
        frames.append(canvas.quantize(colors=128, method=2))  # 2: fast octree (a diagram)
    durations = [2000] + [1600] * (len(frames) - 2) + [3000]
    animation = BytesIO()
    frames[0].save(animation, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations[:len(frames)], loop=0)
    write_atomically(target, animation.getvalue())
    return target


def _walk_dir(request: GraphRequest, name: str) -> Path:
    return Path(request.out) if request.out else Path(f"{name}-walk")
