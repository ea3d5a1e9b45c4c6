"""The position-wise feed-forward network that gpt, bert, clip and the transformer share.

Every transformer block has two sub-layers: attention, which mixes positions,
and this network, which transforms each position on its own:

    FFN(x) = dropout(W_2 act(W_1 x + b_1) + b_2)

``act`` is GELU in the GPT family (gpt, bert, clip's text tower) and ReLU in
the original transformer. The hidden layer is wider than the model (4x by
default, as in all four papers), so each position is lifted into a larger
space, bent by the activation, and projected back.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class FeedForward(nn.Module):
    """FFN(x) = dropout(proj(act(fc(x)))): Linear width->hidden, activation, Linear hidden->width.

    ``hidden`` defaults to 4 * width; ``activation`` is ``"gelu"`` or ``"relu"``.
    """

    def __init__(self, width: int, hidden: int | None = None, activation: str = "gelu",
                 dropout: float = 0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"FeedForward: unknown activation {activation!r}; "
                             f"choose one of {', '.join(ACTIVATIONS)}")
        hidden = 4 * width if hidden is None else hidden
        self.fc = nn.Linear(width, hidden)                # W_1, b_1
        self.activation = ACTIVATIONS[activation]
        self.proj = nn.Linear(hidden, width)              # W_2, b_2
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.activation(self.fc(x))))
