"""Built-in image tasks: ``shapes`` drawn on the fly, and ``images`` from the user's own file.

Images are grayscale, grey levels in [0, 1], and reach a model flattened row
by row: a batch holds ``images`` (B, H*W), and ``task.image_shape`` is (H, W).
A convolutional model folds each row back into its (H, W) grid.
Samples are scored by the 1-NN two-sample accuracy, their grey share and, for
``shapes`` (whose pictures have labels), by a judge's eyes (``judge.py``).

``images`` reads a ``.npy`` or ``.npz`` file (NumPy) or an IDX file, the format
MNIST is distributed in (``train-images-idx3-ubyte``, gzip-compressed or not).
It expects N grayscale images, an array shaped (N, H, W) (or (N, H, W, 1) or
(N, 1, H, W)), holding integers 0..255 or floats 0.0..1.0; anything else is
refused with a message that says so. A fixed 10% of the images are held out.
"""

from __future__ import annotations

import gzip
import io
import math
from pathlib import Path

from gradzoo.engine import backend
from gradzoo.plugins import Option, SpecError, TaskSpec, hookimpl
from gradzoo.zoo.tasks import sample_scores
from gradzoo.zoo.tasks.generative import GenerativeTask
from gradzoo.zoo.tasks.judge import STEPS as JUDGE_STEPS
from gradzoo.zoo.tasks.judge import Judge, judge_for

host = backend.array_module("cpu")
SHAPE_NAMES = ("square", "disc", "cross", "line")
MIN_IMAGES = 20  # 10% held out: at least 2 images to score against
MAX_PIXELS = 64 * 64
EXPECTED = ("grayscale images, an array shaped (N, H, W) (or (N, H, W, 1) or (N, 1, H, W)) of "
            "integers 0..255 or floats 0.0..1.0")


class ImageTask(GenerativeTask):
    """An image task: ``image_shape`` (H, W), data_dim = H * W, 8-bit grey levels in [0, 1].

    Besides the 1-NN score, samples get a grey share, and, when the task has labels
    to train a judge on (``judge.py``), a Fréchet distance and a class mix; each
    beside the same score of the Gaussian baseline (NAME_gaussian) and of fresh
    data (NAME_data), computed once per held-out set.
    """

    main_metric = "nn_accuracy"  # the energy distance cannot tell images from a Gaussian
    value_range = (0.0, 1.0)
    pixel_levels = 256
    judge_steps = JUDGE_STEPS    # training steps of the judge (tests take fewer)

    def __init__(self, name: str, height: int, width: int, seed: int):
        super().__init__(name, data_dim=height * width, seed=seed)
        self.image_shape = (height, width)
        self._judge: Judge | None = None

    def judge(self) -> Judge | None:
        """The classifier that judges samples (trained or read once); None without labels."""
        if self._judge is None and self.label_names:
            self._judge = judge_for(self, self.judge_steps)
        return self._judge

    def more_scores(self, samples, held_out, split: str, batches: int) -> dict[str, float]:
        """Each picture score of ``samples`` beside the same score of the Gaussian and of data;
        then the class mix, class by class, and the judge's own held-out accuracy."""
        references = self.picture_references(held_out, split, batches)
        scores = {}
        for name, value in self.picture_scores(samples, references).items():
            scores.update({name: value, f"{name}_gaussian": references[f"{name}_gaussian"],
                           f"{name}_data": references[f"{name}_data"]})
        judge = self.judge()
        if judge is not None:
            shares = sample_scores.class_mix(judge.classes(samples), len(self.label_names))
            scores.update({f"class_share_{name}": float(share)
                           for name, share in zip(self.label_names, shares)})
            scores["judge_accuracy"] = judge.accuracy
        return scores

    def picture_scores(self, pictures, references) -> dict[str, float]:
        """frechet_distance and class_mix_gap (with a judge), and grey_share, of ``pictures``."""
        scores = {}
        judge = self.judge()
        if judge is not None:
            scores["frechet_distance"] = sample_scores.frechet_distance(
                judge.features(pictures), references["held_out_features"])
            scores["class_mix_gap"] = sample_scores.class_mix_gap(
                judge.classes(pictures), references["data_shares"])
        scores["grey_share"] = sample_scores.grey_share(pictures, self.value_range)
        return scores

    def picture_references(self, held_out, split: str, batches: int) -> dict:
        """The judge's view of the held-out set, and the baselines' scores (computed once)."""
        key = ("pictures", split, len(held_out), batches)
        if key not in self._references:
            references = {}
            judge = self.judge()
            if judge is not None:
                references["held_out_features"] = judge.features(held_out)
                references["data_shares"] = sample_scores.class_mix(judge.classes(held_out),
                                                                    len(self.label_names))
            for suffix, pictures in (("gaussian", self.gaussian_samples(len(held_out))),
                                     ("data", self.fresh_training_data(len(held_out)))):
                references.update({f"{name}_{suffix}": value for name, value
                                   in self.picture_scores(pictures, references).items()})
            self._references[key] = references
        return self._references[key]


# ---------------------------------------------------------------------- shapes


class ShapesTask(ImageTask):
    """White squares, discs, crosses and lines on black, at random places and sizes."""

    label_names = SHAPE_NAMES

    def __init__(self, size: int, seed: int):
        super().__init__("shapes", size, size, seed)
        self.size = size

    def examples(self, n: int, rng, split: str):
        kind = rng.integers(0, len(SHAPE_NAMES), size=n)
        images = draw_shapes(rng, kind, self.size)
        return images.reshape(n, -1), kind


def draw_shapes(rng, kind, size: int, r=None, cx=None, cy=None):
    """Images (n, size, size) of 0.0 and 1.0: shape ``kind[i]`` (an index of SHAPE_NAMES).

    Each shape has a half-size r between size/8 and size/3 and a centre that keeps
    it inside the picture; a pixel is lit when its centre lies inside the shape.
    A caller that must know where and how large each shape is (``captions``)
    passes ``r``, ``cx``, ``cy`` (arrays of n) itself; only the angle is then drawn.
    """
    n = len(kind)
    r = rng.uniform(size / 8, size / 3, size=n) if r is None else r
    cx = rng.uniform(r, size - 1 - r) if cx is None else cx
    cy = rng.uniform(r, size - 1 - r) if cy is None else cy
    angle = rng.uniform(0.0, math.pi, size=n)
    return render_shapes(kind, size, r, cx, cy, angle)


def render_shapes(kind, size: int, r, cx, cy, angle):
    """The pixels of shape ``kind[i]`` with half-size ``r[i]``, centre (``cx[i]``, ``cy[i]``)
    and, for a line, direction ``angle[i]`` (radians): (n, size, size) float32 of 0 and 1."""
    n = len(kind)
    r, cx, cy, angle = (host.asarray(v, dtype="float64")[:, None, None]
                        for v in (r, cx, cy, angle))
    rows, cols = host.mgrid[0:size, 0:size]
    dx, dy = cols[None] - cx, rows[None] - cy
    arm = host.maximum(0.5, r / 4)                          # half-width of a cross's bars
    along = dx * host.cos(angle) + dy * host.sin(angle)     # coordinates in the line's frame
    across = -dx * host.sin(angle) + dy * host.cos(angle)
    masks = host.stack([
        (abs(dx) <= r) & (abs(dy) <= r),                                       # square
        dx * dx + dy * dy <= r * r,                                            # disc
        ((abs(dx) <= arm) & (abs(dy) <= r)) | ((abs(dy) <= arm) & (abs(dx) <= r)),  # cross
        (abs(along) <= r) & (abs(across) <= 0.7),                              # line
    ], axis=1)
    return masks[host.arange(n), kind].astype("float32")


def make_shapes(options, seed):
    """The ``shapes`` task at ``size`` x ``size`` pixels."""
    return ShapesTask(options["size"], seed)


# ---------------------------------------------------------------------- images from a file


class ImageFileTask(ImageTask):
    """The user's images: 90% to train on, a fixed 10% held out (valid and test)."""

    def __init__(self, images, seed: int, name: str = "images"):
        count, height, width = images.shape
        super().__init__(name, height, width, seed)
        order = backend.new_rng(0).permutation(count)  # the same split for every seed
        held_out = max(1, count // 10)
        flat = images.reshape(count, -1)[order]
        self.splits = {"train": flat[held_out:], "valid": flat[:held_out],
                       "test": flat[:held_out]}

    def examples(self, n: int, rng, split: str):
        """``n`` images of the split, picked at random (with replacement)."""
        data = self.splits[split]
        return data[rng.integers(0, len(data), size=n)], None

    def held_out(self, split: str, batches: int, batch_size: int):
        """The held-out images themselves, each once (at most ``batches * batch_size``).

        Drawing them with replacement would repeat images, and a repeated image is
        its own nearest neighbour: the score would flatter nobody but the data.
        """
        return self.splits[split][:batches * batch_size]

    def fresh_training_data(self, count: int):
        """The first ``count`` training images, each once (the training split is larger)."""
        return self.splits["train"][:count]


def make_images(options, seed):
    """The ``images`` task: the file at ``path``, read and checked."""
    if not options["path"]:
        raise SpecError("task 'images' needs a file of images: --set path=FILE, a .npy or .npz "
                        f"file or an MNIST-format IDX file holding {EXPECTED}")
    return ImageFileTask(load_images(options["path"]), seed)


def load_images(path: str):
    """Images (N, H, W) as float32 grey levels in [0, 1], from .npy, .npz or IDX (gzip allowed)."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"option 'path' of task 'images': no such file: {path}")
    raw = file.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise SpecError(f"task 'images': {path} looks gzip-compressed but cannot be "
                            f"decompressed ({error})") from None
    return check_images(read_array(raw, path), path)


def read_array(raw: bytes, path) -> object:
    """The array stored in ``raw``: found by its first bytes (NumPy .npy, .npz, or IDX)."""
    try:
        if raw.startswith(b"\x93NUMPY"):
            return host.load(io.BytesIO(raw), allow_pickle=False)
        if raw.startswith(b"PK"):
            return pick_npz_array(host.load(io.BytesIO(raw), allow_pickle=False), path)
    except (ValueError, OSError, EOFError) as error:  # truncated, or Python objects (pickle)
        raise SpecError(f"task 'images': {path} cannot be read as a NumPy file ({error})") \
            from None
    if len(raw) >= 4 and raw[:2] == b"\x00\x00":
        return read_idx(raw, path)
    raise SpecError(f"task 'images': {path} is not a .npy, .npz or IDX file (its first bytes "
                    f"are {raw[:4]!r}); expected {EXPECTED}")


def pick_npz_array(archive, path):
    """The array named ``images`` in an .npz archive, or its only array."""
    names = list(archive.keys())
    if "images" in names:
        return archive["images"]
    if len(names) == 1:
        return archive[names[0]]
    raise SpecError(f"task 'images': {path} holds arrays {names}; name the images 'images' or "
                    f"save only one array")


IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(raw: bytes, path):
    """An IDX array: bytes 0-1 zero, byte 2 the type, byte 3 the number of dimensions,
    then each dimension as a big-endian 32-bit integer, then the values (big-endian)."""
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_TYPES:
        raise SpecError(f"task 'images': {path} is not a valid IDX file (type byte "
                        f"0x{type_code:02x}; IDX types are 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)")
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    dtype = host.dtype(IDX_TYPES[type_code])
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) < header or len(raw) - header != expected:
        raise SpecError(f"task 'images': {path} is a damaged IDX file: its header promises "
                        f"dimensions {tuple(dims)} ({expected} bytes of data), it holds "
                        f"{max(len(raw) - header, 0)}")
    return host.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def check_images(array, path):
    """The images as float32 (N, H, W) in [0, 1]; a SpecError saying what was expected if not."""
    shape = tuple(array.shape)
    if array.ndim == 4 and shape[1] == 1:      # (N, 1, H, W): one channel first
        array = array[:, 0]
    elif array.ndim == 4 and shape[3] == 1:    # (N, H, W, 1): one channel last
        array = array[..., 0]
    if array.ndim != 3 or min(array.shape) < 1:
        raise SpecError(f"task 'images': {path} holds an array of shape {shape}; expected "
                        f"{EXPECTED}")
    count, height, width = array.shape
    if count < MIN_IMAGES or height < 2 or width < 2 or height * width > MAX_PIXELS:
        raise SpecError(f"task 'images': {path} holds {count} images of {height} x {width} "
                        f"pixels; expected at least {MIN_IMAGES} images of 2 x 2 to 64 x 64 "
                        f"pixels ({EXPECTED})")
    return to_unit_range(array, path)


def to_unit_range(array, path):
    """Integers 0..255 divided by 255, floats 0.0..1.0 as they are; other values are an error."""
    kind = array.dtype.kind
    if kind not in "uif":
        raise SpecError(f"task 'images': {path} holds values of type {array.dtype}; expected "
                        f"{EXPECTED}")
    values = array.astype("float64")
    low, high = float(values.min()), float(values.max())
    top = 255.0 if kind in "ui" else 1.0
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0.0 or high > top:
        hint = " (divide them by 255)" if kind == "f" and 1.0 < high <= 255.0 else ""
        raise SpecError(f"task 'images': {path} holds {array.dtype} values from {low:g} to "
                        f"{high:g}; expected {EXPECTED}{hint}")
    return (values / top).astype("float32")


TASKS = [
    TaskSpec(name="shapes", kind="generative", make=make_shapes,
             summary="small grayscale images of squares, discs, crosses and lines",
             options=(Option("size", 16, "image height and width in pixels", min=8, max=64),)),
    TaskSpec(name="images", kind="generative", make=make_images,
             summary="your own grayscale images (.npy, .npz or MNIST IDX file)",
             options=(Option("path", "", "the file: .npy/.npz array (N, H, W) or IDX (MNIST)"),)),
]


@hookimpl
def register_tasks(register):
    """Register ``shapes`` and ``images``."""
    for spec in TASKS:
        register(spec)
