"""What tasks and models promise each other, so any model can meet any task of its kind.

This module is the one list of what a model or task may offer; the lab, the
conformance kit and the scaffold all read it:

- per kind, what a task has (``TASK_PROTOCOLS``) and the methods a model must
  have (``MODEL_PROTOCOLS``, ``MODEL_METHODS``): ``loss`` and the kind's own;
- ``CAPABILITIES``, what a model or task may offer beyond its kind, each with
  what the lab does with it; ``offers(obj, name)`` asks whether it does.

The protocols are ``typing.Protocol`` classes: documentation a type checker can use.
A plugin's task or model needs no base class, only these attributes and methods.

Batches are plain objects holding integer or float ``Tensor``s. A sequence
batch poses ``source`` (B, S) and ``target`` (B, T) token ids; decoder-only
models read it as one stream ``source SEP target`` and are scored on the
target positions only (``SequenceBatch.stream()`` builds it). A language batch
holds ``inputs`` (B, L) and ``targets`` (B, L), the inputs shifted by one. A
generative batch offers ``flat``, the (B, D) float tensor of its examples. A
paired batch holds ``images`` (B, D) floats and ``captions`` (B, T) token ids,
row i of one describing row i of the other. A classification batch holds
``labels`` (B,) class ids and the inputs they name: ``images`` (B, H*W) floats in
[0, 1] from a picture task, or ``tokens`` (B, T) token ids from a text task
(``classification_inputs(batch)`` gives whichever it holds).
"""

from __future__ import annotations

from dataclasses import dataclass
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
class ClassificationTask(Task, Protocol):
    """Pictures or passages of text with a class label each.

    A picture task has ``image_shape`` (H, W) and ``data_dim`` = H*W floats; a text
    task says ``inputs = "tokens"`` and has ``image_shape`` None, ``data_dim`` =
    ``context`` token ids per passage and a ``vocab_size`` (``reads_text(task)``).
    Labels are ids from 0 to ``num_classes`` - 1, named by ``class_names``; ``score``
    gives the ``accuracy`` beside the ``majority_baseline`` (always guessing the
    commonest class).
    """

    data_dim: int
    image_shape: tuple[int, int] | None
    num_classes: int
    class_names: tuple[str, ...]


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

        ``gradzoo sample`` draws more pictures for the ``CAPABILITIES`` a model
        offers: ``sample_trajectory`` (diffusion), ``encode``/``reconstruct``
        (VAE), ``log_prob`` (flow), ``discriminator`` (GAN).
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


@runtime_checkable
class ClassificationModel(Model, Protocol):
    def classify(self, inputs):
        """Logits (B, num_classes), the class scores before softmax, for a batch's inputs:
        images (B, H*W) of a picture task or tokens (B, T) of a text task."""


# ---------------------------------------------------------------------- per kind

MODEL_PROTOCOLS: dict[str, type] = {"sequence": SequenceModel, "language": LanguageModel,
                                    "generative": GenerativeModel, "paired": PairedModel,
                                    "classification": ClassificationModel}
TASK_PROTOCOLS: dict[str, type] = {"sequence": SequenceTask, "language": LanguageTask,
                                   "generative": GenerativeTask, "paired": PairedTask,
                                   "classification": ClassificationTask}


def reads_text(task) -> bool:
    """Whether a classification task poses passages of text (``tokens``) rather than pictures.

    >>> class Topics:
    ...     inputs = "tokens"
    >>> reads_text(Topics()), reads_text(object())
    (True, False)
    """
    return getattr(task, "inputs", "images") == "tokens"


def classification_inputs(batch):
    """What a classification batch asks a model to classify: its ``tokens``, else its ``images``."""
    tokens = getattr(batch, "tokens", None)
    return batch.images if tokens is None else tokens


def _own_methods(protocol: type) -> tuple[str, ...]:
    """The methods a protocol class declares itself (not those of the protocols it extends)."""
    return tuple(name for name, value in vars(protocol).items()
                 if callable(value) and not name.startswith("_"))


# The methods a model of each kind must have: ``loss``, and the kind's own method.
MODEL_METHODS: dict[str, tuple[str, ...]] = {
    kind: _own_methods(Model) + _own_methods(protocol) for kind, protocol in MODEL_PROTOCOLS.items()
}


def kind_method(kind: str) -> str:
    """The method that shows what a model of ``kind`` does (predict, generate, sample, ...)."""
    return MODEL_METHODS[kind][-1]


# ---------------------------------------------------------------------- optional capabilities


@dataclass(frozen=True)
class Capability:
    """Something a model or task may offer beyond its kind, and what the lab does with it.

    ``offered_when`` says what the attribute must be: "callable" (a method), "true"
    (the value True) or "dict" (a dict of numbers).
    """

    name: str
    owner: str  # "model" or "task"
    offered_when: str
    purpose: str


CAPABILITIES: dict[str, Capability] = {c.name: c for c in (
    Capability("train_step", "model", "callable",
               "train_step(batch, optimizer, settings) -> float replaces the lab's step of "
               "loss, backward, clip and update (a GAN's contest of two players)"),
    Capability("last_metrics", "model", "dict",
               "numbers of the latest step (name -> float), logged beside the loss"),
    Capability("bidirectional", "model", "true",
               "the model reads both sides of a token by design (bert): the kit's look-ahead "
               "check is skipped, and cloze tasks score it on the gaps"),
    Capability("sample_trajectory", "model", "callable",
               "sample_trajectory(n, snapshots) gives (t, samples) pairs on the way from noise "
               "to data (diffusion): `gradzoo sample` draws the trajectory"),
    Capability("encode", "model", "callable",
               "encode(x) gives the posterior's (mean, ...) of a generative model's latent code "
               "(VAE): `gradzoo sample` draws test data in the latent space"),
    Capability("reconstruct", "model", "callable",
               "reconstruct(x) gives x through the latent code (VAE): pictures of images beside "
               "their reconstructions"),
    Capability("log_prob", "model", "callable",
               "log_prob(x) gives the log-density of points (a flow): a density map of 2-D data"),
    Capability("discriminator", "model", "callable",
               "discriminator(x) scores how real points look (GAN): a map of its verdict on 2-D "
               "data"),
    Capability("fill_in", "task", "callable",
               "fill_in(model, batch) gives the model's guesses for the gaps of a batch (cloze): "
               "`gradzoo sample` shows gaps filled instead of a continuation"),
)}


def offers(obj, capability: str) -> bool:
    """Whether ``obj`` (a model or task) offers ``capability``, a name from ``CAPABILITIES``.

    >>> class Bert:
    ...     bidirectional = True
    >>> offers(Bert(), "bidirectional"), offers(Bert(), "train_step")
    (True, False)
    """
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; the capabilities a model or task "
                         f"may offer: {', '.join(CAPABILITIES)}")
    value = getattr(obj, capability, None)
    test = CAPABILITIES[capability].offered_when
    if test == "true":
        return value is True
    if test == "dict":
        return isinstance(value, dict)
    return callable(value)
