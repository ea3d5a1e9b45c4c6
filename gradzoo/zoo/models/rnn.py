"""``rnn``: cell equations in gradzoo/engine/nn/recurrent.py, the stack in models/recurrent.py.

The Elman network, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh): the
simplest recurrent network. Its gradient through time is a product of
Jacobians that shrinks (or explodes) with distance, so it forgets fastest.
This file only registers the model: ``RecurrentLM`` built with ``nn.RNNCell``.
"""

from __future__ import annotations

from gradzoo.engine import nn
from gradzoo.plugins import hookimpl
from gradzoo.zoo.models.recurrent import recurrent_spec

SPEC = recurrent_spec("rnn", nn.RNNCell,
                      "Elman recurrent network (tanh): reads one token at a time", steps=4000)


@hookimpl
def register_models(register):
    register(SPEC)
