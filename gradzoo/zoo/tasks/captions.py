"""Built-in paired task ``captions``: the ``shapes`` pictures, each with a sentence that says
what it shows.

    "a large disc at the top left"    "a small cross in the middle"    "a small line on the right"

Every picture is drawn from three choices made first, and its caption is
written from the same three, so a caption is always true of its picture:

* shape: square, disc, cross or line (``images.draw_shapes`` draws it);
* size: small (half-size r from size/8 to size/6) or large (r from 7/32 to
  9/32 of the size); the gap between the two ranges leaves no picture on the fence;
* place: one of 3 x 3, top/middle/bottom times left/middle/right. Along each
  axis the centre lies within size/16 of the edge (r away from it, so the shape
  stays inside) or of the middle of the picture.

That makes 4 x 2 x 9 = 72 different captions, drawn with equal chances. A
caption is at most 7 words from a vocabulary of 16, token ids 1..16 (0 pads a
shorter caption at its end). A batch holds ``images`` (B, H*W) float32 and
``captions`` (B, 7) int64, row i of one describing row i of the other, and
``labels`` (B, 3): the shape, size and place indices, for scoring only.

Batch ``step`` of a split is drawn from a generator seeded with (seed, split,
step), so the held-out pairs of 'valid' and 'test' are pictures never trained on.
``score`` measures retrieval and zero-shot classification on them (``paired_scores``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins import Option, TaskSpec, hookimpl
from gradzoo.zoo.tasks import paired_scores
from gradzoo.zoo.tasks.images import SHAPE_NAMES, draw_shapes

host = backend.array_module("cpu")  # data is made on the host, then moved to the device
SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}
SIZE_NAMES = ("small", "large")
SIZE_RANGES = ((1 / 8, 1 / 6), (7 / 32, 9 / 32))  # half-size r as a fraction of the image side
ROW_NAMES = ("top", "middle", "bottom")
COLUMN_NAMES = ("left", "middle", "right")
PLACE_NAMES = tuple(f"{row} {column}" for row in ROW_NAMES for column in COLUMN_NAMES)
PAD = "<pad>"
SCORE_BATCH = 64  # pairs per held-out batch; ``batches`` of them make the retrieval pool


def place_words(place: int) -> str:
    """The words of place ``place`` (0..8, row by row): 'at the top left', 'in the middle'."""
    row, column = divmod(place, 3)
    if row == 1 and column == 1:
        return "in the middle"
    if row == 1:
        return f"on the {COLUMN_NAMES[column]}"
    if column == 1:
        return f"at the {ROW_NAMES[row]}"
    return f"at the {ROW_NAMES[row]} {COLUMN_NAMES[column]}"


def caption_text(shape: int, size: int, place: int) -> str:
    """'a {size} {shape} {place}': the caption of one picture, from its three choices."""
    return f"a {SIZE_NAMES[size]} {SHAPE_NAMES[shape]} {place_words(place)}"


# Every caption there is, in a fixed order: index = (shape * 2 + size) * 9 + place.
ALL_LABELS = tuple((shape, size, place) for shape in range(len(SHAPE_NAMES))
                   for size in range(len(SIZE_NAMES)) for place in range(len(PLACE_NAMES)))
ALL_CAPTIONS = tuple(caption_text(*labels) for labels in ALL_LABELS)
WORDS = tuple(dict.fromkeys(word for text in ALL_CAPTIONS for word in text.split()))
CAPTION_LENGTH = max(len(text.split()) for text in ALL_CAPTIONS)


def caption_index(labels):
    """Index into ALL_CAPTIONS of each row of ``labels`` (n, 3): shape, size, place."""
    shape, size, place = labels[:, 0], labels[:, 1], labels[:, 2]
    return (shape * len(SIZE_NAMES) + size) * len(PLACE_NAMES) + place


@dataclass
class PairedBatch:
    """``images`` (B, H*W) float32; ``captions`` (B, T) token ids; ``labels`` (B, 3) host ints."""

    images: Tensor
    captions: Tensor
    labels: object = None

    def __len__(self) -> int:
        return self.images.shape[0]


class CaptionsTask:
    """Shapes with captions: ``image_shape`` (size, size), captions of ``caption_length`` ids."""

    kind = "paired"
    main_metric = "recall_at_1"
    higher_is_better = True
    pad_token = 0

    def __init__(self, size: int, seed: int):
        self.name = "captions"
        self.size, self.seed = size, seed
        self.image_shape = (size, size)
        self.data_dim = size * size
        self.vocabulary = (PAD, *WORDS)
        self.vocab_size = len(self.vocabulary)
        self.caption_length = CAPTION_LENGTH
        self._ids = {word: i for i, word in enumerate(self.vocabulary)}

    # ------------------------------------------------------------------ data

    def draw(self, n: int, step: int, split: str = "train"):
        """Host arrays of batch ``step`` of ``split``: images (n, H*W) and labels (n, 3)."""
        if split not in SPLIT_OFFSET:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLIT_OFFSET)}")
        rng = backend.new_rng([self.seed, SPLIT_OFFSET[split], step])
        labels, r, cx, cy = self.layout(rng, n)
        images = draw_shapes(rng, labels[:, 0], self.size, r=r, cx=cx, cy=cy)
        return images.reshape(n, -1), labels

    def layout(self, rng, n: int):
        """Labels (n, 3) (shape, size, place), then each shape's half-size r and centre x, y."""
        labels = host.stack([rng.integers(0, len(SHAPE_NAMES), size=n),
                             rng.integers(0, len(SIZE_NAMES), size=n),
                             rng.integers(0, len(PLACE_NAMES), size=n)], axis=1)
        r = self.half_sizes(rng, labels[:, 1])
        rows, columns = divmod(labels[:, 2], 3)
        cy, cx = self.centres(rng, rows, r), self.centres(rng, columns, r)
        return labels, r, cx, cy

    def half_sizes(self, rng, sizes):
        """Half-size r of each shape: uniform within the range of its size (small or large)."""
        bounds = host.array(SIZE_RANGES)[sizes] * self.size
        return rng.uniform(bounds[:, 0], bounds[:, 1])

    def centres(self, rng, thirds, r):
        """A coordinate of each centre: near the low edge (0), the middle (1) or the high edge (2).

        Near an edge the centre lies from r to r + size/16 away from it (so the
        shape stays inside); in the middle, within size/32 of the picture's centre.
        """
        jitter = rng.uniform(0.0, self.size / 16, size=len(thirds))
        middle = (self.size - 1) / 2 + jitter - self.size / 32
        return host.where(thirds == 0, r + jitter,
                          host.where(thirds == 2, self.size - 1 - r - jitter, middle))

    def batch(self, batch_size: int, step: int, split: str = "train") -> PairedBatch:
        images, labels = self.draw(batch_size, step, split)
        captions = self.encode_all([ALL_CAPTIONS[i] for i in caption_index(labels)])
        return PairedBatch(Tensor(images), Tensor(captions), labels)

    # ------------------------------------------------------------------ text

    def encode(self, text: str) -> list[int]:
        """Caption text as ``caption_length`` token ids, padded with ``pad_token`` at the end."""
        words = text.split()
        unknown = [w for w in words if w not in self._ids or w == PAD]
        if unknown:
            raise ValueError(f"captions: the words {unknown} are not in the vocabulary; the "
                             f"words known: {', '.join(WORDS)}")
        if not words or len(words) > self.caption_length:
            raise ValueError(f"captions: a caption has 1 to {self.caption_length} words; "
                             f"{text!r} has {len(words)}")
        ids = [self._ids[w] for w in words]
        return ids + [self.pad_token] * (self.caption_length - len(ids))

    def encode_all(self, texts):
        """Many captions as an int64 host array (n, caption_length)."""
        return host.array([self.encode(text) for text in texts], dtype="int64")

    def decode(self, tokens) -> str:
        """Token ids as caption text; padding is left out."""
        return " ".join(self.vocabulary[int(t)] for t in tokens if int(t) != self.pad_token)

    # ------------------------------------------------------------------ score

    def score(self, model, batches: int = 8, split: str = "valid",
              batch_size: int = SCORE_BATCH) -> dict[str, float]:
        """Retrieval and zero-shot accuracy on ``batches * batch_size`` held-out pairs.

        See ``paired_scores``: recall@1 and @5 both ways among the pool's own
        captions, zero-shot shape, size and place, and the chance level of each.
        """
        images, labels = zip(*(self.draw(batch_size, step, split) for step in range(batches)))
        images, labels = host.concatenate(images), host.concatenate(labels)
        indices = caption_index(labels)
        captions = self.encode_all(ALL_CAPTIONS)
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                pool = similarities(model, images, captions[indices])
                candidates = similarities(model, images, captions)
        finally:
            model.train(was_training)
        return {**paired_scores.retrieval_scores(pool, indices),
                **paired_scores.zero_shot_scores(candidates, host.array(ALL_LABELS), labels,
                                                 ("shape", "size", "place"))}


def similarities(model, images, captions):
    """``model.similarity`` of host arrays, as a host float array (N, M)."""
    return backend.to_host(model.similarity(Tensor(images), Tensor(captions)).data)


def make_captions(options, seed):
    """The ``captions`` task with pictures of ``size`` x ``size`` pixels."""
    return CaptionsTask(options["size"], seed)


TASKS = [
    TaskSpec(name="captions", kind="paired", make=make_captions,
             summary="shapes pictures, each with a caption ('a large disc at the top left')",
             options=(Option("size", 16, "image height and width in pixels", min=8, max=64),)),
]


@hookimpl
def register_tasks(register):
    """Register ``captions``."""
    for spec in TASKS:
        register(spec)
