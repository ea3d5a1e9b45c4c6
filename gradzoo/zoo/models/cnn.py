"""``cnn``: a LeNet-style convolutional classifier (LeCun et al., 1998), read top to bottom.

    x                (B, 1, H, W)        the flattened picture folded back into its grid
    h1 = pool(relu(conv_5x5(x)))         (B, c, H/2, W/2)     c filters of 5x5, padding 2
    h2 = pool(relu(conv_5x5(h1)))        (B, 2c, H/4, W/4)    2c filters over all c maps
    z  = W_2 relu(W_1 flatten(h2) + b_1) + b_2                (B, K) logits, an MLP head

    conv: y[o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[c, i + u - 2, j + v - 2]
    pool: y[i, j] = max of the 2x2 block x[2i:2i+2, 2j:2j+2]

Weight sharing: one 5x5 filter slides over every place of the picture, so a
conv layer has out * in * 25 + out weights however large the picture (the
first: 25c + c), where a dense layer on H*W pixels has H*W per unit; and a
square found top left is found bottom right by the same weights.

Receptive field: a unit of h1 sees a 5x5 patch of pixels, its 2x2 pool a 6x6
patch; a unit of the second conv sees 5x5 pooled units, (5 - 1) * 2 + 6 = 14
pixels a side, and after the second pool 16x16: on 16x16 pictures each feature
of h2 can see (almost) the whole shape, which is what naming it needs.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.classifier_parts import Classifier

KERNEL = 5


class CNN(Classifier):
    """conv, ReLU, max-pool, conv, ReLU, max-pool, then an MLP head of ``hidden`` units."""

    def __init__(self, image_shape, num_classes: int, channels: int, hidden: int):
        height, width = image_shape
        super().__init__("cnn", height * width, num_classes)
        self.image_shape = (height, width)
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, KERNEL, padding=KERNEL // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, KERNEL, padding=KERNEL // 2), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())
        flat = 2 * channels * (height // 4) * (width // 4)  # two 2x2 pools halve each side twice
        self.head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(),
                                  nn.Linear(hidden, num_classes))

    def logits(self, images: Tensor) -> Tensor:
        x = images.reshape(images.shape[0], 1, *self.image_shape)  # (B, H*W) -> (B, 1, H, W)
        return self.head(self.features(x))


def build(task, options) -> CNN:
    """A CNN for ``task``'s picture size (at least 4 x 4) and its number of classes."""
    height, width = task.image_shape
    if height < 4 or width < 4:
        raise ValueError(f"cnn: pictures must be at least 4 x 4 pixels (two 2x2 poolings); "
                         f"task '{task.name}' has {height} x {width}")
    return CNN(task.image_shape, task.num_classes, options["channels"], options["hidden"])


SPEC = ModelSpec(
    name="cnn", kinds=("classification",), build=build,
    summary="LeNet-style classifier: conv, pool, conv, pool, then an MLP head",
    options=(
        Option("channels", 8, "filters of the first conv layer (the second has twice as many)",
               min=1, max=512),
        Option("hidden", 64, "units in the hidden layer of the MLP head", min=1, max=8192),
    ),
    training={"steps": 1500, "lr": 3e-3, "batch_size": 64, "eval_every": 500},
)


@hookimpl
def register_models(register):
    """Register ``cnn``."""
    register(SPEC)
