"""The files ``gradzoo new-plugin`` writes, as ``string.Template`` text ($name, $module, ...).

They are Python strings, not data files, so they ship inside the package with
no packaging configuration. Each kind of plugin gets its own test (its model
module is in ``scaffold_models.py``); the pyproject.toml and the README are shared.
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
    "paired": """
A paired model needs two methods: `loss(batch)`, a number to minimise (here
the symmetric contrastive loss), and `similarity(images, captions)`, the
cosines (N, M) of N images against M captions. `batch.images` holds one
flattened image per row, `batch.captions` the token ids of its caption, with
`task.pad_token` after the last word. Keep the embeddings unit-length, so the
similarities stay in -1..1.""",
    "classification": """
A classification model needs two methods: `loss(batch)`, a number to minimise
(here the cross-entropy), and `classify(images)`, the logits (B, C): one score
per class of `task.class_names` for each image. `batch.images` holds one
flattened image per row (`task.image_shape` gives its height and width, for a
convolution), `batch.labels` the class id of each.""",
}

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

PAIRED_TEST = '''

def test_a_caption_is_the_bag_of_its_words():
    """Word order and padding leave a caption's embedding alone (CHANGE: test your model)."""
    task = SimpleNamespace(data_dim=4, vocab_size=5, pad_token=0)
    model = $module.build(task, {"width": 4, "embedding": 3, "temperature": 0.1})
    image = Tensor([[1.0, 0.0, 2.0, -1.0]])
    scores = model.similarity(image, Tensor([[1, 2, 0, 0], [2, 1, 0, 0], [3, 1, 0, 0]])).numpy()
    longer = model.similarity(image, Tensor([[1, 2, 0, 0, 0, 0]])).numpy()
    assert abs(scores[0, 0] - scores[0, 1]) < 1e-6      # same words, other order
    assert abs(scores[0, 0] - longer[0, 0]) < 1e-6      # same words, more padding
    assert abs(scores[0, 0] - scores[0, 2]) > 1e-6      # other words
'''

CLASSIFICATION_TEST = '''

def test_the_classifier_learns_to_tell_two_pictures_apart():
    """A few steps of Adam fit two labelled pictures (CHANGE: test your model)."""
    from gradzoo.engine import optim

    images = Tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    batch = SimpleNamespace(images=images, labels=Tensor([0, 1]))
    model = $module.build(SimpleNamespace(data_dim=4, num_classes=2), {"bias": True})
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(100):
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert list(model.classify(images).numpy().argmax(axis=1)) == [0, 1]
'''
