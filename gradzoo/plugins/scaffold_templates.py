"""The files ``gradzoo new-plugin`` writes, as ``string.Template`` text ($name, $module, ...).

They are Python strings, not data files, so they ship inside the package with
no packaging configuration. Each kind of plugin gets its own model module and
test; the pyproject.toml and the README are shared.
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "$summary (a gradzoo model plugin)"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["gradzoo"]

# This is what makes the package a gradzoo plugin: gradzoo loads every module
# named in the entry-point group "gradzoo" and calls its @hookimpl functions.
[project.entry-points.gradzoo]
$name = "$module"

[tool.setuptools]
py-modules = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]

[tool.ruff]
line-length = 100

[tool.ruff.lint.isort]
known-first-party = ["$module"]
"""

GITIGNORE = """\
__pycache__/
*.egg-info/
build/
runs/
*-graph.svg
*-graph.dot
"""

README = """\
# $distribution

A gradzoo model plugin: **$name**, $summary.

It was written by `gradzoo new-plugin $name --kind $kind` and works as it is:
a small model to start from. Change it into your own model step by step,
running the tests after each step.

## Try it

```sh
# once: gradzoo finds the plugin by its entry point (offline: add --no-build-isolation)
pip install -e .
# the model is in the table of models, with its options
gradzoo list
gradzoo info $name
# train it, draw the computation graph of its loss, run its tests
gradzoo train $name --task $task --steps 200
gradzoo graph $name
pytest
```

Compare it with a built-in model on the same data:

```sh
gradzoo compare $name $rival --task $task --steps 200
```

## Make it yours

Everything is in `$module.py`. The lines marked `CHANGE` are the ones to
edit: the layers in `__init__`, the computation, the options in `SPEC`.
$kind_notes

`tests/test_$name.py` runs gradzoo's conformance kit
(`gradzoo.plugins.testing`): the spec's fields, shapes, that every parameter
gets a gradient, a gradient check in float64, no looking ahead, that the loss
falls, that saved weights load back, and that the graph draws. When a check
fails, its message says what to change.

## Publish it

Build and upload like any Python package (`python -m build`, then
`twine upload dist/*`). Anyone who runs `pip install $distribution` gets
`$name` in their `gradzoo list`.
"""

KIND_NOTES = {
    "sequence": """
`forward(tokens)` maps token ids (B, L) to next-token logits (B, L, V). Keep
it causal: the output at position t may read tokens 0..t only, because a
sequence task is read as one stream `source SEP target` and the model must
not see the answer it is asked to predict. `loss` and `predict` then work as
they are.""",
    "language": """
`forward(tokens)` maps character ids (B, L) to next-character logits
(B, L, V). Keep it causal: the output at position t may read characters 0..t
only. `loss` and `generate` then work as they are.""",
    "generative": """
A generative model needs two methods: `loss(batch)`, a number to minimise
(here the negative log-likelihood), and `sample(n)`, n new examples, one per
row. `batch.flat` holds the data, one example of `task.data_dim` numbers per row.""",
}

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

# ---------------------------------------------------------------------- tests

TEST_HEAD = '''\
"""Tests of the $name plugin: gradzoo's conformance kit, then one property of the model."""

from types import SimpleNamespace

import pytest
from gradzoo.engine import Tensor
from gradzoo.plugins.testing import conformance_cases

import $module


@pytest.mark.parametrize("case", conformance_cases($module.SPEC), ids=str)
def test_conforms(case):
    """One test per check of the kit; a failure says what to change."""
    case.run()
'''

TOKEN_TEST = '''

def test_each_output_reads_only_its_own_token():
    """A bigram's guess at position t depends on token t alone (CHANGE: test your model)."""
    task = SimpleNamespace(vocab_size=5, sep_token=4, target_length=2)
    model = $module.build(task, {"width": 4})
    first = model(Tensor([[0, 1, 2, 3]])).numpy()
    other = model(Tensor([[3, 1, 0, 2]])).numpy()
    assert abs(first[0, 1] - other[0, 1]).max() < 1e-6     # same token 1 at position 1
    assert abs(first[0, 0] - other[0, 0]).max() > 1e-6     # different tokens at position 0
'''

GENERATIVE_TEST = '''

def test_the_fit_finds_the_mean_of_the_data():
    """Maximum likelihood puts mu at the data's mean (CHANGE: test your model)."""
    from gradzoo.engine import optim

    points = Tensor([[1.0, -2.0], [3.0, -2.0], [2.0, 0.0], [2.0, -4.0]])  # mean (2, -2)
    batch = SimpleNamespace(flat=points)
    model = $module.build(SimpleNamespace(data_dim=2), {"initial_std": 1.0})
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(300):
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert abs(model.mean.numpy() - [2.0, -2.0]).max() < 0.05
'''
