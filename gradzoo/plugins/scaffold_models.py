"""The model module ``gradzoo new-plugin`` writes, one per kind, as ``string.Template`` text.

Each is a small working model to start from, with its formula on top and the
lines to change marked CHANGE: a bigram baseline (sequence, language), a
Gaussian fit (generative), two linear encoders into one space (paired), a
linear softmax classifier (classification).
``scaffold_templates.py`` holds the package around it: pyproject, README, tests.
"""

# ---------------------------------------------------------------------- token models

TOKEN_MODEL_HEAD = '''\
"""``$name``: a gradzoo model plugin made by ``gradzoo new-plugin``: a bigram baseline.

    logits_t = W_out E[token_t] + b     the next token is guessed from the current one alone

It sees one token at a time, so it learns which tokens tend to follow which,
but it cannot $cannot: a baseline that any real model must beat.
To make it your own model, change the parts marked CHANGE below.

Try it:  gradzoo train $name --task $task    gradzoo graph $name    pytest
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn, no_grad
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
'''

TOKEN_MODEL_CLASS = '''

class $class_name(nn.Module):
    """A token embedding, then a linear read-out to next-token logits."""

    def __init__(self, vocab_size: int, width: int):
        super().__init__()
        # CHANGE: your layers. Layers and nn.Parameters assigned as attributes are
        # registered: trained, saved in checkpoints, drawn by `gradzoo graph`.
        self.embedding = nn.Embedding(vocab_size, width)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits (B, L, V) for token ids (B, L); position t reads tokens 0..t only."""
        # CHANGE: your computation. Keep it causal: output t must not read tokens after t.
        return self.head(self.embedding(tokens))
'''

SEQUENCE_METHODS = '''
    def loss(self, batch) -> Tensor:
        """Cross-entropy of the answer, reading ``source SEP target`` as one stream.

        ``batch.stream()`` gives the stream's inputs and labels; the labels of the
        source positions are IGNORE, so only the answer is scored.
        """
        inputs, labels = batch.stream()
        return F.cross_entropy(self(inputs), labels, ignore_index=IGNORE)

    def predict(self, source: Tensor) -> Tensor:
        """The greedy answer (B, T): read ``source SEP``, then add the likeliest token T times."""
        xp = backend.xp_of(source.data)
        sep = xp.full((source.shape[0], 1), self.sep_token, dtype=source.dtype)
        tokens = xp.concatenate([source.data, sep], axis=1)
        with no_grad():
            for _ in range(self.target_length):
                logits = self(Tensor(tokens)).data[:, -1, :]
                next_token = logits.argmax(axis=-1).astype(tokens.dtype)
                tokens = xp.concatenate([tokens, next_token[:, None]], axis=1)
        return Tensor(tokens[:, -self.target_length:])


def build(task, options) -> $class_name:
    """The model sized for ``task``; ``options`` holds the values of the spec's options."""
    model = $class_name(task.vocab_size, options["width"])
    model.sep_token, model.target_length = task.sep_token, task.target_length
    return model
'''

LANGUAGE_METHODS = '''
    def loss(self, batch) -> Tensor:
        """Cross-entropy of the next character at every position."""
        return F.cross_entropy(self(batch.inputs), batch.targets)

    def generate(self, prompt: Tensor, tokens: int, temperature: float = 1.0,
                 top_k: int | None = None) -> Tensor:
        """Continue ``prompt`` (B, L) by ``tokens`` ids drawn from softmax(logits / temperature)."""
        xp = backend.xp_of(prompt.data)
        ids = prompt.data
        with no_grad():
            for _ in range(tokens):
                logits = backend.to_host(self(Tensor(ids)).data[:, -1, :])
                chosen = pick_next(logits, temperature, top_k)
                chosen = backend.to_device(chosen.astype(ids.dtype), prompt.device)
                ids = xp.concatenate([ids, chosen[:, None]], axis=1)
        return Tensor(ids)


def pick_next(logits, temperature: float, top_k: int | None):
    """One id per row of host logits: the likeliest at temperature 0, else a random draw."""
    host = backend.array_module("cpu")
    if temperature <= 0:
        return logits.argmax(axis=-1)
    scaled = logits.astype("float64") / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth_largest = host.sort(scaled, axis=-1)[:, -top_k][:, None]
        scaled = host.where(scaled < kth_largest, -host.inf, scaled)
    probabilities = host.exp(scaled - scaled.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    rng = backend.host_rng()  # gradzoo's seeded generator: runs are reproducible
    return host.array([rng.choice(len(row), p=row) for row in probabilities])


def build(task, options) -> $class_name:
    """The model sized for ``task``; ``options`` holds the values of the spec's options."""
    return $class_name(task.vocab_size, options["width"])
'''

TOKEN_SPEC = '''

SPEC = ModelSpec(
    name="$name",
    # CHANGE: the summary, one line for `gradzoo list`
    summary="$summary",
    kinds=("$kind",),
    build=build,
    options=(
        # CHANGE: your hyperparameters; users set them with --set width=64
        Option("width", 32, "size of the token embedding", min=1, max=4096),
    ),
    training={"steps": 300, "lr": 1e-2},  # the lab's training defaults for this model
)


@hookimpl
def register_models(register):
    """gradzoo calls this once when it starts: register each model of the plugin."""
    register(SPEC)
'''

# ---------------------------------------------------------------------- a generative model

GENERATIVE_MODEL = '''\
"""``$name``: a gradzoo model plugin made by ``gradzoo new-plugin``: a Gaussian fit.

    p(x)   = N(x; mu, diag sigma^2)                  mu and log sigma are learned
    loss   = -mean log p(x)                          the negative log-likelihood, in nats
           = mean sum_j (x_j - mu_j)^2 / (2 sigma_j^2) + log sigma_j + log(2 pi) / 2
    sample   x = mu + sigma * eps,  eps ~ N(0, I)

It learns where the data lies and how far it spreads, not its shape: two
half-moons become one blob. That is the baseline gradzoo's generative tasks
report (gaussian_baseline); a real model must beat it. To make it your own
model, change the parts marked CHANGE below.

Try it:  gradzoo train $name --task moons    gradzoo graph $name    pytest
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class $class_name(nn.Module):
    """A diagonal Gaussian with a learned mean and a learned log standard deviation."""

    def __init__(self, data_dim: int, initial_std: float):
        super().__init__()
        # CHANGE: your layers and parameters. nn.Parameters assigned as attributes are
        # registered: trained, saved in checkpoints, drawn by `gradzoo graph`.
        self.mean = nn.init.zeros_(nn.init.new_parameter(data_dim))
        self.log_std = nn.init.constant_(nn.init.new_parameter(data_dim), math.log(initial_std))

    def loss(self, batch) -> Tensor:
        """-log p(x) per example, averaged over the batch (``batch.flat``: one example per row)."""
        x = batch.flat
        z = (x - self.mean) / self.log_std.exp()
        return (0.5 * z * z + self.log_std + HALF_LOG_TWO_PI).sum(dim=1).mean()

    def sample(self, n: int) -> Tensor:
        """``n`` new examples (n, D): x = mu + sigma * eps."""
        eps = Tensor(backend.random_normal((n, self.mean.shape[0]), self.mean.device))
        return self.mean + self.log_std.exp() * eps


def build(task, options) -> $class_name:
    """The model sized for ``task``; ``options`` holds the values of the spec's options."""
    return $class_name(task.data_dim, options["initial_std"])


SPEC = ModelSpec(
    name="$name",
    # CHANGE: the summary, one line for `gradzoo list`
    summary="$summary",
    kinds=("generative",),
    build=build,
    options=(
        # CHANGE: your hyperparameters; users set them with --set initial_std=0.5
        Option("initial_std", 1.0, "standard deviation before training", min=1e-3, max=100.0),
    ),
    training={"steps": 300, "lr": 5e-2},  # the lab's training defaults for this model
)


@hookimpl
def register_models(register):
    """gradzoo calls this once when it starts: register each model of the plugin."""
    register(SPEC)
'''

# ---------------------------------------------------------------------- a paired model

PAIRED_MODEL = '''\
"""``$name``: a gradzoo model plugin made by ``gradzoo new-plugin``: a linear contrastive pair.

    I = normalise(W_i x)                  an image: one linear map of its pixels to d numbers
    T = normalise(W_t mean_j E[c_j])      a caption: the mean embedding of its words (pads
                                          left out), then a linear map to the same d numbers
    S = I T^T                             cosine similarities (N, M): image i, caption j
    loss = (CE_rows(S / tau) + CE_columns(S / tau)) / 2
                                          symmetric contrastive loss: image i must pick
                                          caption i among the batch's, and caption i image i

normalise(v) = v / |v| puts every embedding on the unit sphere, so S holds
cosines; the temperature tau sharpens them into logits. A caption is a bag
of words here (word order is lost): a baseline that clip, with a transformer
over the words, must beat. (Two pairs of a batch with the same caption count
as wrong for each other here; clip counts every identical caption as right.)
To make it your own model, change the parts marked CHANGE below.

Try it:  gradzoo train $name --task $task    gradzoo graph $name    pytest
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl


def normalise(v: Tensor) -> Tensor:
    """v / |v| for each row: unit-length embeddings, whose dot products are cosines."""
    return v / ((v * v).sum(dim=-1, keepdim=True) + 1e-12) ** 0.5


class $class_name(nn.Module):
    """A linear image encoder and a mean-of-word-embeddings caption encoder into one space."""

    def __init__(self, data_dim: int, vocab_size: int, pad_token: int, width: int,
                 embedding: int, temperature: float):
        super().__init__()
        self.pad_token, self.temperature = pad_token, temperature
        # CHANGE: your encoders. Layers assigned as attributes are registered:
        # trained, saved in checkpoints, drawn by `gradzoo graph`.
        self.image_encoder = nn.Linear(data_dim, embedding)               # W_i
        self.word_embedding = nn.Embedding(vocab_size, width)              # E
        self.text_projection = nn.Linear(width, embedding, bias=False)     # W_t

    def embed_images(self, images: Tensor) -> Tensor:
        """I = normalise(W_i x): unit vectors (N, d) for images (N, H*W)."""
        return normalise(self.image_encoder(images))

    def embed_captions(self, captions: Tensor) -> Tensor:
        """T = normalise(W_t mean_j E[c_j]): unit vectors (M, d) for token ids (M, T)."""
        words = self.word_embedding(captions)                              # (M, T, width)
        real = captions.data != self.pad_token                             # True on words
        counts = real.sum(axis=1, keepdims=True).clip(1, None)            # words per caption
        weights = (real / counts).astype(words.data.dtype)                # 1/words on each word
        pooled = (words * Tensor(weights[:, :, None])).sum(dim=1)         # (M, width)
        return normalise(self.text_projection(pooled))

    def similarity(self, images: Tensor, captions: Tensor) -> Tensor:
        """S = I T^T: cosine similarities (N, M) of N images and M captions."""
        return self.embed_images(images) @ self.embed_captions(captions).T

    def loss(self, batch) -> Tensor:
        """The symmetric contrastive loss: row i and column i of S / tau must pick pair i."""
        logits = self.similarity(batch.images, batch.captions) / self.temperature
        xp = backend.xp_of(batch.captions.data)
        pairs = Tensor(xp.arange(logits.shape[0]))                         # image i <-> caption i
        return (F.cross_entropy(logits, pairs) + F.cross_entropy(logits.T, pairs)) / 2


def build(task, options) -> $class_name:
    """The model sized for ``task``; ``options`` holds the values of the spec's options."""
    return $class_name(task.data_dim, task.vocab_size, task.pad_token, options["width"],
                       options["embedding"], options["temperature"])


SPEC = ModelSpec(
    name="$name",
    # CHANGE: the summary, one line for `gradzoo list`
    summary="$summary",
    kinds=("paired",),
    build=build,
    options=(
        # CHANGE: your hyperparameters; users set them with --set embedding=64
        Option("width", 32, "size of each word embedding", min=1, max=4096),
        Option("embedding", 16, "dimensions of the shared space of images and captions",
               min=1, max=4096),
        Option("temperature", 0.1, "tau: the similarities are divided by it", min=1e-3,
               max=10.0),
    ),
    training={"steps": 300, "lr": 1e-2},  # the lab's training defaults for this model
)


@hookimpl
def register_models(register):
    """gradzoo calls this once when it starts: register each model of the plugin."""
    register(SPEC)
'''

# ---------------------------------------------------------------------- a classification model

CLASSIFICATION_MODEL = '''\
"""``$name``: a gradzoo model plugin made by ``gradzoo new-plugin``: a linear softmax classifier.

    z = W x + b                           logits (num_classes): one score per class, from
                                          the image's H*W pixels read as one long vector
    p = softmax(z)                        the probability of each class
    loss = -log p[y]                      cross-entropy with the true label y, averaged

Every pixel votes for every class with its own weight, wherever the shape
lies in the picture: a baseline that cnn, whose filters are shared across
the picture, must beat. To make it your own model, change the parts marked
CHANGE below.

Try it:  gradzoo train $name --task $task    gradzoo graph $name    pytest
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl


class $class_name(nn.Module):
    """One linear map from the pixels to a score per class."""

    def __init__(self, data_dim: int, num_classes: int, bias: bool):
        super().__init__()
        # CHANGE: your layers. Layers assigned as attributes are registered:
        # trained, saved in checkpoints, drawn by `gradzoo graph`.
        self.scores = nn.Linear(data_dim, num_classes, bias=bias)         # W, b

    def classify(self, images: Tensor) -> Tensor:
        """z = W x + b: logits (B, num_classes) for images (B, H*W)."""
        return self.scores(images)

    def loss(self, batch) -> Tensor:
        """Cross-entropy of the logits with the batch's labels (B,)."""
        return F.cross_entropy(self.classify(batch.images), batch.labels)


def build(task, options) -> $class_name:
    """The model sized for ``task``; ``options`` holds the values of the spec's options."""
    return $class_name(task.data_dim, task.num_classes, options["bias"])


SPEC = ModelSpec(
    name="$name",
    # CHANGE: the summary, one line for `gradzoo list`
    summary="$summary",
    kinds=("classification",),
    build=build,
    options=(
        # CHANGE: your hyperparameters; users set them with --set bias=false
        Option("bias", True, "learn a bias b per class (false: z = W x)"),
    ),
    training={"steps": 300, "lr": 1e-2},  # the lab's training defaults for this model
)


@hookimpl
def register_models(register):
    """gradzoo calls this once when it starts: register each model of the plugin."""
    register(SPEC)
'''
