"""``lstm``: cell equations in gradzoo/engine/ops/lstm_cell.py, the stack in models/recurrent.py.

Long short-term memory (Hochreiter & Schmidhuber, 1997): a cell state
c_t = f * c_{t-1} + i * g carried by gates; when the forget gate stays near 1
the gradient flows back through time almost unchanged, so an LSTM remembers
over longer distances than a plain RNN (but not any distance). This file only
registers the model: ``RecurrentLM`` built with ``nn.LSTMCell``.
"""

from __future__ import annotations

from gradzoo.engine import nn
from gradzoo.plugins import hookimpl
from gradzoo.zoo.models.recurrent import recurrent_spec

SPEC = recurrent_spec("lstm", nn.LSTMCell,
                      "long short-term memory: gated recurrent network with a cell state",
                      steps=1500)


@hookimpl
def register_models(register):
    register(SPEC)
