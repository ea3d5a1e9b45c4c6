"""``gru``: cell equations in gradzoo/engine/ops/gru_cell.py, the stack in models/recurrent.py.

Gated recurrent unit (Cho et al., 2014): two gates instead of the LSTM's three
and no separate cell state, h_t = (1 - z) * n + z * h_{t-1}, the update gate z
choosing between the old state and the candidate n. This file only registers
the model: ``RecurrentLM`` built with ``nn.GRUCell``.
"""

from __future__ import annotations

from gradzoo.engine import nn
from gradzoo.plugins import hookimpl
from gradzoo.zoo.models.recurrent import recurrent_spec

SPEC = recurrent_spec("gru", nn.GRUCell, "gated recurrent unit: two gates, no separate cell state",
                      steps=2500)


@hookimpl
def register_models(register):
    register(SPEC)
