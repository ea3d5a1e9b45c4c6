"""The judge: a small CNN trained on a picture task's labels, whose eyes score generated pictures.

FID (Heusel et al., 2017) compares generated and real pictures in the feature
space of a classifier, Inception, trained on ImageNet's labels. gradzoo's
pictures are tiny shapes, so its judge is the zoo's own ``cnn`` (LeNet-style,
``models/cnn.py``) trained on the task's own labels (square, disc, cross, line):

    features(x) = relu(W_1 flatten(h2(x)) + b_1)     the hidden layer of its MLP head (64 units)
    class(x)    = argmax_k (W_2 features(x) + b_2)_k  the shape it sees

It is trained once per task, picture size and seed, for ``steps`` steps of Adam
(about 10 s on one core for 16x16 shapes), and cached as a safetensors file:

    $GRADZOO_CACHE/judges/judge-shapes-16x16-seed0-1000steps.safetensors
    (~/.cache/gradzoo/judges/... when GRADZOO_CACHE is not set)

with its held-out accuracy in the file's metadata. A cache file that cannot be
read, or was written for other settings, is trained again, never trusted. Two
processes that train the same judge at once both write whole files
(``write_atomically``: a temporary file, then a rename), so a reader finds one
whole judge or the other, never a mix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gradzoo.engine import Tensor, backend, io, no_grad, optim
from gradzoo.engine import functional as F
from gradzoo.zoo.models.cnn import CNN
from gradzoo.zoo.tasks.generative import seeded

host = backend.array_module("cpu")
FORMAT = "gradzoo-judge-1"   # bump when the network or its training changes
STEPS = 1000                 # ~0.99 held-out accuracy on 16x16 shapes
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
CHANNELS, HIDDEN = 8, 64     # the cnn's defaults
FIRST_STEP = 2_000_000_000   # the judge's batches: far from any model's training batches
ACCURACY_BATCHES = 8         # 8 x 128 test pictures to measure its accuracy on
CHUNK = 256                  # pictures per forward pass when judging


class JudgeCacheError(ValueError):
    """The judge's cache directory cannot be created or written."""


@dataclass
class Judge:
    """A trained ``cnn`` and what is known of it: held-out accuracy, its file, fresh or loaded."""

    network: CNN
    accuracy: float
    path: Path
    trained: bool  # True when this call trained it, False when it was read from the cache

    def features(self, pictures):
        """The hidden layer of the head for each picture: host float64 (n, HIDDEN)."""
        return looked_at(self.network, pictures, self.network.head[:2])

    def classes(self, pictures):
        """The class the judge gives each picture (the argmax of its logits): host (n,)."""
        return looked_at(self.network, pictures, self.network.head).argmax(axis=1)


def looked_at(network: CNN, pictures, head):
    """``head`` applied to the conv features of (n, H*W) pictures, in chunks: host float64."""
    pictures = host.asarray(pictures, dtype="float32").reshape(len(pictures), -1)
    outputs = []
    with no_grad():
        for start in range(0, len(pictures), CHUNK):
            chunk = Tensor(pictures[start:start + CHUNK])
            grid = chunk.reshape(len(chunk), 1, *network.image_shape)  # (B, H*W) -> (B, 1, H, W)
            outputs.append(backend.to_host(head(network.features(grid)).data))
    return host.concatenate(outputs).astype("float64")


def judge_for(task, steps: int = STEPS) -> Judge | None:
    """The task's judge, read from the cache or trained and cached; None if it has no labels."""
    if not task.label_names:
        return None
    path = cache_directory() / f"judge-{cache_name(task)}-{steps}steps.safetensors"
    cached = load_judge(path, task, steps)
    if cached is not None:
        return cached
    network, accuracy = train_judge(task, steps)
    save_judge(network, path, {**expected_metadata(task, steps), "accuracy": repr(accuracy)})
    return Judge(network, accuracy, path, trained=True)


def cache_name(task) -> str:
    """What tells two judges apart: the task, its picture size and its seed."""
    height, width = task.image_shape
    return f"{task.name}-{height}x{width}-seed{task.seed}"


def cache_directory() -> Path:
    """``$GRADZOO_CACHE/judges`` (else ``~/.cache/gradzoo/judges``), created if need be."""
    root = os.environ.get("GRADZOO_CACHE") or os.path.join("~", ".cache", "gradzoo")
    directory = Path(root).expanduser() / "judges"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise JudgeCacheError(cache_message(directory, error)) from None
    return directory


def cache_message(where, error: OSError) -> str:
    return (f"cannot write the picture judge's cache in {where}: {error.strerror or error}; "
            f"set GRADZOO_CACHE to a directory you can write to")


def expected_metadata(task, steps: int) -> dict[str, str]:
    """What a cache file must say of itself to be used for ``task``."""
    return {"format": FORMAT, "task": cache_name(task), "steps": str(steps),
            "classes": ",".join(task.label_names)}


def load_judge(path: Path, task, steps: int) -> Judge | None:
    """The judge cached in ``path``, or None when it is missing, damaged or for other settings."""
    if not path.is_file():
        return None
    network = new_network(task)
    try:
        metadata = io.read_metadata(path)
        if any(metadata.get(k) != v for k, v in expected_metadata(task, steps).items()):
            return None
        network.load_state_dict(io.load(path))
        accuracy = float(metadata["accuracy"])
    except (io.CheckpointError, KeyError, ValueError, TypeError):
        return None  # a half-copied or foreign file: train a new judge rather than trust it
    network.eval()
    return Judge(network, accuracy, path, trained=False)


def save_judge(network: CNN, path: Path, metadata: dict[str, str]) -> None:
    try:
        io.save(network.state_dict(), path, metadata=metadata)
    except OSError as error:
        raise JudgeCacheError(cache_message(path, error)) from None


def new_network(task) -> CNN:
    """A fresh judge network, its weights drawn without moving the global random generator."""
    with seeded([task.seed, 9]):
        return CNN(task.image_shape, len(task.label_names), CHANNELS, HIDDEN)


def train_judge(task, steps: int) -> tuple[CNN, float]:
    """A ``cnn`` trained on ``steps`` batches of the task's labelled pictures, and its accuracy.

    Cross-entropy with Adam, the learning rate decayed linearly to 0; the weights and
    batches are seeded from the task's seed, and the global generator is put back.
    """
    with seeded([task.seed, 9]):
        network = new_network(task)
        optimizer = optim.Adam(network.parameters(), lr=LEARNING_RATE)
        for step in range(steps):
            optimizer.lr = LEARNING_RATE * (1.0 - step / steps)
            pictures, labels = task.draw(BATCH_SIZE, FIRST_STEP + step, "train")
            loss = F.cross_entropy(network.classify(Tensor(pictures)), Tensor(labels))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    network.eval()
    return network, held_out_accuracy(network, task)


def held_out_accuracy(network: CNN, task) -> float:
    """The share of test pictures (never trained on) whose label the network names."""
    right = [(looked_at(network, pictures, network.head).argmax(axis=1) == labels).mean()
             for pictures, labels in (task.draw(128, FIRST_STEP + i, "test")
                                      for i in range(ACCURACY_BATCHES))]
    return float(sum(right) / len(right))
