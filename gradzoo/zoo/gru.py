"""``gru``: gated recurrent unit (Cho et al., 2014).

Two gates instead of the LSTM's three and no separate cell state:
h_t = (1 - z) * n + z * h_{t-1}, the update gate z choosing between the old
state and the candidate n.
"""

from __future__ import annotations

from gradzoo.engine import nn
from gradzoo.plugins import hookimpl
from gradzoo.zoo.recurrent import recurrent_spec

SPEC = recurrent_spec("gru", nn.GRUCell, "gated recurrent unit: two gates, no separate cell state",
                      steps=2500)


@hookimpl
def register_models(register):
    register(SPEC)
