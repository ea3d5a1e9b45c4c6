"""What ``gradzoo sample`` shows for a paired run: the captions a model picks for new pictures.

* ``captions.png``: a few test pictures, each beside the captions the model finds
  most similar to it, with their cosine similarities; the true caption in green.
* ``similarity.png``: the cosine similarities of n test pictures (rows) and their
  n captions (columns) as a heat map; a model that learned lights up the diagonal.

The candidate captions are the different sentences among a pool of test pairs,
so this works for any paired task through ``batch`` and ``decode`` alone.
"""

from __future__ import annotations

from pathlib import Path

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.lab.pictures import figures

host = backend.array_module("cpu")
POOL = 512        # test pairs whose different captions are the candidates
MAX_SHOWN = 32    # pictures at most in one figure
TOP = 3           # captions shown beside each picture
RIGHT, WRONG = "#2ca02c", "#444444"


def draw_paired_run(model, task, count: int, out_dir) -> list[str]:
    """Both pictures of the first ``count`` test pairs into ``out_dir``, then a text table."""
    out_dir = Path(out_dir)
    pool = task.batch(max(POOL, count), 0, "test")
    images, captions = pool.images.numpy(), pool.captions.numpy()
    texts = [task.decode(row) for row in captions]
    candidates = list(dict.fromkeys(texts))                  # each sentence once, in order
    first = [texts.index(text) for text in candidates]
    shown = min(count, MAX_SHOWN)
    with no_grad():
        scores = similarity(model, images[:shown], captions[first])     # (shown, candidates)
        matrix = similarity(model, images[:shown], captions[:shown])    # (shown, shown)
    ranked = host.argsort(-scores, axis=1, kind="stable")[:, :TOP]
    best = [[(candidates[j], float(scores[i, j])) for j in row] for i, row in enumerate(ranked)]
    pictures_of = images[:shown].reshape(shown, *task.image_shape)
    truths = texts[:shown]
    top_path = top_captions_picture(out_dir / "captions.png", pictures_of, truths, best,
                                    f"{type(model).__name__} on {task.name}")
    matrix_path = similarity_picture(out_dir / "similarity.png", matrix, truths)
    return [f"{top_path}  ({shown} test pictures, each with its {TOP} most similar of "
            f"{len(candidates)} captions)",
            f"{matrix_path}  (cosine similarities of {shown} test pictures and their captions)",
            "", *caption_table(truths, best)]


def similarity(model, images, captions):
    """``model.similarity`` of host arrays, as a host array."""
    return model.similarity(Tensor(images), Tensor(captions)).numpy()


def caption_table(truths, best) -> list[str]:
    """One line per picture: ok/WRONG, the true caption, the model's first choice and its score."""
    width = max(len(text) for text in truths)
    lines, right = [], 0
    for truth, choices in zip(truths, best):
        text, score = choices[0]
        ok = text == truth
        right += ok
        lines.append(f"{'ok   ' if ok else 'WRONG'} {truth:{width}s}  ->  {text} ({score:.2f})")
    lines.append(f"{right} of {len(truths)} pictures: the most similar caption is the true one")
    return lines


def top_captions_picture(path, images, truths, best, title: str) -> Path:
    """A row per picture: the image, then its best captions with scores (the true one green)."""
    rows = len(images)
    height = 0.9 * rows + 0.5
    figure = figures.new_figure(6.5, height)
    axes = figure.subplots(rows, 2, squeeze=False, gridspec_kw={"width_ratios": [1, 6]})
    for (image_ax, text_ax), image, truth, choices in zip(axes, images, truths, best):
        image_ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        text_ax.axis("off")
        image_ax.set_xticks([])
        image_ax.set_yticks([])
        for line, (text, score) in enumerate(choices):
            text_ax.text(0.0, 0.85 - 0.33 * line, f"{score:+.2f}  {text}", fontsize=8,
                         color=RIGHT if text == truth else WRONG, va="center",
                         transform=text_ax.transAxes)
    figure.suptitle(f"{title}: the {len(best[0])} most similar captions (true one green)",
                    fontsize=9)
    figure.subplots_adjust(left=0.03, right=0.98, bottom=0.02, top=1 - 0.45 / height,
                           hspace=0.15)
    return figures.save_figure(figure, path)


def similarity_picture(path, matrix, captions) -> Path:
    """The (n, n) cosine similarities as colours, picture i's row against caption j's column."""
    count = len(matrix)
    size = 2.5 + 0.45 * count
    figure = figures.new_figure(size + 2.0, size)
    ax = figure.subplots()
    mesh = ax.imshow(matrix, cmap="viridis", vmin=-1.0, vmax=1.0)
    figure.colorbar(mesh, ax=ax, shrink=0.8).set_label("cosine similarity", fontsize=8)
    ax.set_xticks(range(count), captions, rotation=90, fontsize=7)
    ax.set_yticks(range(count), [f"picture {i}: {text}" for i, text in enumerate(captions)],
                  fontsize=7)
    ax.set_xlabel("caption", fontsize=8)
    if count <= 12:
        for i in range(count):
            for j in range(count):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if matrix[i, j] > 0.3 else "white")
    ax.set_title("similarity of test pictures (rows) and their captions (columns)", fontsize=9)
    figure.tight_layout()
    return figures.save_figure(figure, path)
