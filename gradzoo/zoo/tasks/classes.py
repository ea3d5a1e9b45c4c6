"""Built-in classification tasks: ``shape_classes`` drawn, ``labelled_images`` from a file.

A classification task pairs an input with a class label. Here the inputs are
grayscale pictures, grey levels in [0, 1], flattened row by row as in the image
tasks: a batch holds ``images`` (B, H*W) float32 and ``labels`` (B,) int64, and
``task.image_shape`` is (H, W), so a convolutional model can fold them back.

* ``shape_classes``: the ``shapes`` pictures (``images.draw_shapes``), each
  labelled with the shape it shows: square, disc, cross or line, a quarter each.
* ``labelled_images``: the user's pictures and labels, an .npz file holding an
  array ``images`` (N, H, W) (as the ``images`` task reads it) and an array
  ``labels`` (N,) of class indices 0..K-1, and optionally ``class_names`` (K,)
  strings. A fixed 10% of the pairs are held out.

A text classification task (``doc_topics``) says ``inputs = "tokens"``: its
batches hold ``tokens`` (B, T) int64 character ids instead of images, and
``image_shape`` is None.

Batch ``step`` of a split is drawn from a generator seeded with (seed, split,
step), so every model and every run sees the same data. ``score`` reports the
``accuracy`` on held-out pairs beside the ``majority_baseline``: the accuracy
of always answering the class most common in training, which a model must beat
to have learned anything from the pictures.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins import Option, SpecError, TaskSpec, hookimpl
from gradzoo.zoo.tasks.images import SHAPE_NAMES, check_images, draw_shapes

host = backend.array_module("cpu")  # data is made on the host, then moved to the device
SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}
FIT_STEP = 1_000_000_000  # the training "step" whose labels the majority baseline counts
SCORE_BATCH = 128
INPUT_DTYPES = {"images": "float32", "tokens": "int64"}  # what a batch's inputs hold
EXPECTED = ("an .npz file with an array 'images' (N, H, W) of integers 0..255 or floats "
            "0.0..1.0 and an array 'labels' (N,) of class indices 0..K-1 (optionally "
            "'class_names', K strings)")


@dataclass
class ClassificationBatch:
    """``labels`` (B,) int64 class indices, and what they name: ``images`` (B, H*W) float32
    grey levels in [0, 1] (pictures), or ``tokens`` (B, T) int64 ids (text; images None)."""

    images: Tensor | None
    labels: Tensor
    tokens: Tensor | None = None

    @property
    def inputs(self) -> Tensor:
        """What a model classifies: the tokens of a text batch, else the images."""
        return self.images if self.tokens is None else self.tokens

    def __len__(self) -> int:
        return self.labels.shape[0]


class ClassificationTask:
    """Base of the classification tasks: a subclass defines ``examples(n, rng, split)``.

    ``examples`` returns host arrays: images (n, H*W) float32 (or, when ``inputs`` is
    "tokens", token ids (n, T)) and labels (n,) int64.
    """

    kind = "classification"
    main_metric = "accuracy"
    higher_is_better = True
    inputs = "images"  # what a batch carries besides its labels: "images" or "tokens"

    def __init__(self, name: str, height: int, width: int, class_names, seed: int):
        self.name, self.seed = name, seed
        self.image_shape = (height, width)
        self.data_dim = height * width
        self.class_names = tuple(str(c) for c in class_names)
        self.num_classes = len(self.class_names)

    def examples(self, n: int, rng, split: str):
        raise NotImplementedError(f"task '{self.name}' must define examples(n, rng, split)")

    def draw(self, n: int, step: int, split: str = "train"):
        """Host arrays (inputs, labels) of batch ``step`` of ``split``, reproducibly."""
        if split not in SPLIT_OFFSET:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLIT_OFFSET)}")
        rng = backend.new_rng([self.seed, SPLIT_OFFSET[split], step])
        inputs, labels = self.examples(n, rng, split)
        return inputs.astype(INPUT_DTYPES[self.inputs]), labels.astype("int64")

    def batch(self, batch_size: int, step: int, split: str = "train") -> ClassificationBatch:
        inputs, labels = self.draw(batch_size, step, split)
        if self.inputs == "tokens":
            return ClassificationBatch(None, Tensor(labels), tokens=Tensor(inputs))
        return ClassificationBatch(Tensor(inputs), Tensor(labels))

    # ------------------------------------------------------------------ score

    def held_out(self, split: str, batches: int, batch_size: int):
        """The pairs to score on: batches 0, 1, ... of ``split``, joined."""
        images, labels = zip(*(self.draw(batch_size, step, split) for step in range(batches)))
        return host.concatenate(images), host.concatenate(labels)

    def training_labels(self):
        """Labels of training pairs, to find the most common class (never scored on)."""
        return self.draw(4096, FIT_STEP, "train")[1]

    def score(self, model, batches: int = 8, split: str = "valid",
              batch_size: int = SCORE_BATCH) -> dict[str, float]:
        """``accuracy`` of ``model.classify`` on held-out pairs, and the ``majority_baseline``.

        accuracy = (1/N) sum_i [argmax_k logits_ik = y_i]; the baseline answers the
        training set's most common class for every input.
        """
        inputs, labels = self.held_out(split, batches, batch_size)
        predicted = predict(model, inputs, batch_size)
        common = host.bincount(self.training_labels(), minlength=self.num_classes).argmax()
        return {"accuracy": float((predicted == labels).mean()),
                "majority_baseline": float((labels == common).mean())}


def predict(model, inputs, batch_size: int):
    """The class each input (picture or passage) gets from ``model.classify`` (argmax of its
    logits), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits = [backend.to_host(model.classify(Tensor(inputs[i:i + batch_size])).data)
                      for i in range(0, len(inputs), batch_size)]
    finally:
        model.train(was_training)
    return host.concatenate(logits).argmax(axis=1)


# ---------------------------------------------------------------------- shape_classes


class ShapeClassesTask(ClassificationTask):
    """The ``shapes`` pictures, labelled square (0), disc (1), cross (2) or line (3)."""

    def __init__(self, size: int, seed: int):
        super().__init__("shape_classes", size, size, SHAPE_NAMES, seed)
        self.size = size

    def examples(self, n: int, rng, split: str):
        labels = rng.integers(0, len(SHAPE_NAMES), size=n)
        return draw_shapes(rng, labels, self.size).reshape(n, -1), labels


def make_shape_classes(options, seed):
    """The ``shape_classes`` task at ``size`` x ``size`` pixels."""
    return ShapeClassesTask(options["size"], seed)


# ---------------------------------------------------------------------- labelled_images


class LabelledImagesTask(ClassificationTask):
    """The user's labelled pictures: 90% to train on, a fixed 10% held out (valid and test)."""

    def __init__(self, images, labels, class_names, seed: int):
        count, height, width = images.shape
        super().__init__("labelled_images", height, width, class_names, seed)
        order = backend.new_rng(0).permutation(count)  # the same split for every seed
        held_out = max(1, count // 10)
        flat, labels = images.reshape(count, -1)[order], labels[order]
        self.splits = {"train": (flat[held_out:], labels[held_out:]),
                       "valid": (flat[:held_out], labels[:held_out])}
        self.splits["test"] = self.splits["valid"]

    def examples(self, n: int, rng, split: str):
        """``n`` pairs of the split, picked at random (with replacement)."""
        images, labels = self.splits[split]
        pick = rng.integers(0, len(labels), size=n)
        return images[pick], labels[pick]

    def held_out(self, split: str, batches: int, batch_size: int):
        """The held-out pairs themselves, each once (at most ``batches * batch_size``)."""
        images, labels = self.splits[split]
        return images[:batches * batch_size], labels[:batches * batch_size]

    def training_labels(self):
        return self.splits["train"][1]


def make_labelled_images(options, seed):
    """The ``labelled_images`` task: the .npz file at ``path``, read and checked."""
    if not options["path"]:
        raise SpecError(f"task 'labelled_images' needs a file: --set path=FILE, {EXPECTED}")
    return LabelledImagesTask(*load_labelled_images(options["path"]), seed)


def load_labelled_images(path: str):
    """(images (N, H, W) float32 in [0, 1], labels (N,) int64, class names) from an .npz file."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"option 'path' of task 'labelled_images': no such file: {path}")
    raw = file.read_bytes()
    if not raw.startswith(b"PK"):
        raise SpecError(f"task 'labelled_images': {path} is not an .npz file (its first bytes "
                        f"are {raw[:4]!r}); expected {EXPECTED}")
    try:
        with host.load(io.BytesIO(raw), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.keys()}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:  # truncated, pickled
        raise SpecError(f"task 'labelled_images': {path} cannot be read as an .npz file "
                        f"({error})") from None
    missing = [name for name in ("images", "labels") if name not in arrays]
    if missing:
        raise SpecError(f"task 'labelled_images': {path} holds arrays {sorted(arrays)}, not "
                        f"{' and '.join(repr(m) for m in missing)}; expected {EXPECTED}")
    images = check_images(arrays["images"], path)
    labels = check_labels(arrays["labels"], len(images), path)
    return images, labels, class_names_of(arrays.get("class_names"), labels, path)


def check_labels(labels, count: int, path):
    """The labels as int64 (N,): one per image, from 0 up, two classes at least; else SpecError."""
    where = f"task 'labelled_images': {path}"
    if labels.ndim != 1 or len(labels) != count:
        raise SpecError(f"{where} holds labels of shape {tuple(labels.shape)} for {count} "
                        f"images; expected one label per image, shape ({count},)")
    if labels.dtype.kind not in "ui" and not (
            labels.dtype.kind == "f" and bool((labels == host.round(labels)).all())):
        raise SpecError(f"{where} holds labels of type {labels.dtype}; expected integer class "
                        f"indices 0..K-1")
    labels = labels.astype("int64")
    if labels.min() < 0:
        raise SpecError(f"{where} holds a negative label ({labels.min()}); expected class "
                        f"indices 0..K-1")
    if len(set(labels.tolist())) < 2:
        raise SpecError(f"{where} holds one class only ({labels[0]}); a classifier needs at "
                        f"least two")
    return labels


def class_names_of(names, labels, path):
    """The names of the classes: the file's ``class_names``, else '0', '1', ..., 'K-1'."""
    count = int(labels.max()) + 1
    if names is None:
        return tuple(str(k) for k in range(count))
    if names.ndim != 1 or len(names) < count or names.dtype.kind not in "US":
        raise SpecError(f"task 'labelled_images': {path} holds class_names of type "
                        f"{names.dtype} and shape {tuple(names.shape)}; expected at least "
                        f"{count} strings, one per class index 0..{count - 1}")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist())


TASKS = [
    TaskSpec(name="shape_classes", kind="classification", make=make_shape_classes,
             summary="shapes pictures labelled square, disc, cross or line: name the shape",
             options=(Option("size", 16, "image height and width in pixels", min=8, max=64),)),
    TaskSpec(name="labelled_images", kind="classification", make=make_labelled_images,
             summary="your own labelled grayscale images (.npz with 'images' and 'labels')",
             options=(Option("path", "", "the .npz file: 'images' (N, H, W), 'labels' (N,)"),)),
]


@hookimpl
def register_tasks(register):
    """Register ``shape_classes`` and ``labelled_images``."""
    for spec in TASKS:
        register(spec)
