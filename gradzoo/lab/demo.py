"""The first lesson: a 2-layer MLP learns to separate two interleaved half-moons.

Everything here is the engine at work: forward pass, cross-entropy, backward
pass, an Adam step, a hundred times over, while the loss falls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradzoo.engine import backend, nn, optim, tensor
from gradzoo.engine import functional as F


def two_moons(n: int, noise: float, seed: int):
    """``n`` 2-D points on two interleaved half-circles, and their labels (0 or 1)."""
    xp = backend.array_module("cpu")
    rng = backend.new_rng(seed)
    angle = rng.uniform(0.0, math.pi, size=n)
    label = rng.integers(0, 2, size=n)
    # moon 0: the upper half-circle; moon 1: the lower one, shifted right and down
    x = xp.where(label == 0, xp.cos(angle), 1.0 - xp.cos(angle))
    y = xp.where(label == 0, xp.sin(angle), 0.5 - xp.sin(angle))
    points = xp.stack([x, y], axis=1) + noise * rng.normal(size=(n, 2))
    return points.astype("float32"), label


class MLP(nn.Module):
    """Two linear layers with a tanh between them: 2 -> hidden -> 2 class scores."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, points):
        return self.out(self.hidden(points).tanh())


@dataclass
class DemoResult:
    losses: list[float]
    accuracy: float


def run_demo(steps: int = 200, hidden: int = 32, seed: int = 0, report_every: int = 20,
             echo=print) -> DemoResult:
    """Train the MLP on two moons with Adam, echoing the loss as it falls."""
    backend.manual_seed(seed)
    points, labels = two_moons(512, noise=0.1, seed=seed)
    inputs, targets = tensor(points), tensor(labels)
    model = MLP(hidden)
    optimizer = optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for step in range(1, steps + 1):
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step == 1 or step % report_every == 0 or step == steps:
            echo(f"step {step:4d}   loss {losses[-1]:.4f}")
    accuracy = float((model(inputs).data.argmax(axis=-1) == targets.data).mean())
    echo(f"accuracy on the {len(points)} training points: {accuracy:.1%}")
    return DemoResult(losses, accuracy)
