"""``mlp``: a multi-layer perceptron classifier, the baseline a CNN is measured against.

    h_1 = relu(W_1 x + b_1)              x (B, H*W): the pixels, one flat vector per picture
    h_2 = relu(W_2 h_1 + b_2)            (with layers=2)
    z   = W_out h_last + b_out           (B, K) logits

Every unit of the first layer has its own weight for every pixel: H*W * width
+ width parameters (16 * 16 * 64 + 64 = 16,448 at the defaults), and nothing
tells it that neighbouring pixels belong together or that a square top left is
the same thing as a square bottom right; it must learn each place apart. A
CNN's filters share their weights over the picture instead (see ``cnn``).
"""

from __future__ import annotations

from gradzoo.engine import Tensor
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.classifier_parts import Classifier
from gradzoo.zoo.models.generative_parts import MLP


class MLPClassifier(Classifier):
    """``layers`` hidden layers of ``width`` ReLU units, then a linear read-out to K logits."""

    def __init__(self, data_dim: int, num_classes: int, width: int, layers: int):
        super().__init__("mlp", data_dim, num_classes)
        self.net = MLP([data_dim, *[width] * layers, num_classes])

    def logits(self, images: Tensor) -> Tensor:
        return self.net(images)


def build(task, options) -> MLPClassifier:
    """An MLP for ``task``'s pixels (``data_dim``) and its number of classes."""
    return MLPClassifier(task.data_dim, task.num_classes, options["width"], options["layers"])


SPEC = ModelSpec(
    name="mlp", kinds=("classification",), build=build,
    summary="multi-layer perceptron classifier over the pixels: the baseline for cnn",
    options=(
        Option("width", 64, "units in each hidden layer", min=1, max=8192),
        Option("layers", 2, "hidden layers (one or two)", min=1, max=2),
    ),
    training={"steps": 3000, "lr": 1e-3, "batch_size": 64, "eval_every": 500},
)


@hookimpl
def register_models(register):
    """Register ``mlp``."""
    register(SPEC)
