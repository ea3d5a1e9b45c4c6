"""What tasks and models promise each other, so any model can meet any task of its kind.

These are ``typing.Protocol`` classes: documentation a type checker can use.
A plugin's task or model needs no base class, only these attributes and methods.

Batches are plain objects holding integer or float ``Tensor``s. A sequence
batch poses ``source`` (B, S) and ``target`` (B, T) token ids; decoder-only
models read it as one stream ``source SEP target`` and are scored on the
target positions only (``SequenceBatch.stream()`` builds it). A language batch
holds ``inputs`` (B, L) and ``targets`` (B, L), the inputs shifted by one. A
generative batch offers ``flat``, the (B, D) float tensor of its examples. A
paired batch holds ``images`` (B, D) floats and ``captions`` (B, T) token ids,
row i of one describing row i of the other.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Task(Protocol):
    """Every task: a kind, a reproducible stream of batches, and a score."""

    kind: str

    def batch(self, batch_size: int, step: int, split: str = "train") -> Any:
        """Batch number ``step`` of a split ('train', 'valid', 'test'); always the same data."""

    def score(self, model, batches: int = 8, split: str = "valid") -> dict[str, float]:
        """Numbers that say how well ``model`` does on held-out data ('valid' or 'test').

        ``main_metric`` names the number that ranks models, ``higher_is_better`` its direction.
        """


@runtime_checkable
class SequenceTask(Task, Protocol):
    """(source, target) token pairs: ``vocab_size`` ids, ``sep_token`` between them."""

    vocab_size: int
    sep_token: int
    source_length: int
    target_length: int

    def decode(self, tokens) -> str:
        """Token ids as readable text (digits, letters, ``|`` for SEP)."""


@runtime_checkable
class LanguageTask(Task, Protocol):
    """Next-token prediction on text: ``encode``/``decode`` between text and ids."""

    vocab_size: int
    context: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens) -> str: ...


@runtime_checkable
class GenerativeTask(Task, Protocol):
    """Samples of a distribution: batches offer ``batch.flat``, a float (B, ``data_dim``) tensor.

    ``image_shape`` is (H, W) for image tasks (rows of ``flat`` are images
    flattened row by row) and None for point sets; ``draw(n, step, split)``
    gives host arrays of examples and their labels, for pictures.
    """

    data_dim: int
    image_shape: tuple[int, int] | None

    def draw(self, n: int, step: int, split: str = "train"): ...


@runtime_checkable
class PairedTask(Task, Protocol):
    """Images with a caption each: ``data_dim`` floats per image, ``caption_length`` tokens.

    ``encode``/``decode`` turn caption text into ids and back; short captions are
    padded with ``pad_token`` at the end.
    """

    data_dim: int
    image_shape: tuple[int, int]
    vocab_size: int
    caption_length: int
    pad_token: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens) -> str: ...


@runtime_checkable
class Model(Protocol):
    """Every model is an ``nn.Module`` with a ``loss`` on a batch of its task."""

    def loss(self, batch):
        """A scalar Tensor to minimise."""


@runtime_checkable
class SequenceModel(Model, Protocol):
    def predict(self, source):
        """Target token ids (B, T) for source ids (B, S), greedily."""


@runtime_checkable
class GenerativeModel(Model, Protocol):
    def sample(self, n: int):
        """``n`` new examples (n, data_dim) drawn from the model alone.

        Optional extras that ``gradzoo sample`` draws when present:
        ``sample_trajectory`` (diffusion), ``encode``/``reconstruct`` (VAE),
        ``log_prob`` (flow), ``discriminator`` (GAN).
        """


@runtime_checkable
class LanguageModel(Model, Protocol):
    def generate(self, prompt, tokens: int, temperature: float = 1.0, top_k: int | None = None):
        """Continue the prompt ids (B, L) by ``tokens`` sampled ids."""


@runtime_checkable
class PairedModel(Model, Protocol):
    def similarity(self, images, captions):
        """Cosine similarities (N, M) of N images (N, D) and M captions (M, T).

        Row i ranks the captions for image i; column j ranks the images for caption j.
        """
