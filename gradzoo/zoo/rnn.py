"""``rnn``: the Elman network, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

The simplest recurrent network. Its gradient through time is a product of
Jacobians that shrinks (or explodes) with distance, so it forgets fastest.
"""

from __future__ import annotations

from gradzoo.engine import nn
from gradzoo.plugins import hookimpl
from gradzoo.zoo.recurrent import recurrent_spec

SPEC = recurrent_spec("rnn", nn.RNNCell,
                      "Elman recurrent network (tanh): reads one token at a time", steps=4000)


@hookimpl
def register_models(register):
    register(SPEC)
