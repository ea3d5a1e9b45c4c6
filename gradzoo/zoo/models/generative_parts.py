"""What the generative models (vae, diffusion, gan, flow) are built from.

All four can be made of small MLPs and read any generative task: a batch's
``flat`` tensor holds one example per row, ``task.data_dim`` numbers each
(2 for points, H*W for images). On pictures ``gan`` and ``vae`` use the
convolutional networks of ``image_nets.py`` instead (their option ``network``).
Their noise comes from the engine's seeded generator, so a run is reproducible
and a resumed run draws what it would have.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import Option


def leaky_relu(x: Tensor, slope: float = 0.2) -> Tensor:
    """x for x > 0, ``slope`` * x otherwise: relu(x) - slope * relu(-x)."""
    return F.relu(x) - slope * F.relu(-x)


ACTIVATIONS = {"relu": F.relu, "leaky_relu": leaky_relu, "tanh": F.tanh, "gelu": F.gelu}


class MLP(nn.Module):
    """Linear layers of ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with an activation between.

    No activation after the last layer: the output is a plain linear read-out.
    """

    def __init__(self, sizes, activation: str = "relu"):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.activation = ACTIVATIONS[activation]

    def forward(self, x: Tensor) -> Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return last(x)


def hidden_sizes(width: int, layers: int) -> list[int]:
    """``layers`` hidden layers of ``width`` units: the middle of an MLP's ``sizes``."""
    return [width] * layers


def standard_normal(rows: int, cols: int, device: str) -> Tensor:
    """A (rows, cols) tensor of independent N(0, 1) draws (no gradient)."""
    return Tensor(backend.random_normal((rows, cols), device))


def softplus(x: Tensor) -> Tensor:
    """log(1 + e^x), computed as relu(x) + log(1 + e^-|x|) so that e^x never overflows.

    -log sigmoid(x) = softplus(-x): the binary cross-entropy of a logit x.
    """
    magnitude = F.relu(x) + F.relu(-x)                      # |x|
    return F.relu(x) + F.log(1.0 + F.exp(-magnitude))


def width_options(width: int = 128, layers: int = 2) -> tuple[Option, ...]:
    """The ``width`` and ``layers`` options every generative model's MLPs take."""
    return (Option("width", width, "units in each hidden layer of the MLPs", min=1, max=8192),
            Option("layers", layers, "hidden layers in each MLP", min=1, max=16))


NETWORKS = ("auto", "mlp", "conv")


def network_option(model: str) -> Option:
    """The ``network`` option of ``gan`` and ``vae``: MLPs, or convolutions for pictures."""
    return Option("network", "auto", f"{model}'s networks: conv (image_nets.py) or mlp; auto: "
                  f"conv when the task has pictures, mlp for points", choices=NETWORKS)


def uses_conv(task, network: str, model: str) -> bool:
    """Whether ``network`` means convolutions on ``task``; conv needs pictures (image_shape)."""
    image_shape = getattr(task, "image_shape", None)
    if network == "conv" and image_shape is None:
        raise ValueError(f"{model}: network=conv needs a task with pictures (image_shape); task "
                         f"'{task.name}' has points of {task.data_dim} numbers: use "
                         f"network=mlp or auto")
    return network == "conv" or network == "auto" and image_shape is not None
