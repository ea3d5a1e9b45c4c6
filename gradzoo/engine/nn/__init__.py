"""Neural-network layers (``nn``): Modules that hold Parameters, named as in ``torch.nn``.

>>> from gradzoo.engine import nn, tensor
>>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""

from gradzoo.engine.nn import init, utils
from gradzoo.engine.nn.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    ReLU,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)
from gradzoo.engine.nn.attention import MultiheadAttention
from gradzoo.engine.nn.containers import ModuleList, Sequential
from gradzoo.engine.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from gradzoo.engine.nn.dropout import Dropout
from gradzoo.engine.nn.embedding import Embedding
from gradzoo.engine.nn.flatten import Flatten
from gradzoo.engine.nn.linear import Linear
from gradzoo.engine.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from gradzoo.engine.nn.module import LoadResult, Module, StateDictError
from gradzoo.engine.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from gradzoo.engine.nn.pooling import AvgPool2d, MaxPool2d, Upsample
from gradzoo.engine.nn.recurrent import GRUCell, LSTMCell, RNNCell
from gradzoo.engine.tensor import Parameter

__all__ = [
    "Module", "Parameter", "StateDictError", "LoadResult",
    "Linear", "Embedding", "LayerNorm", "Dropout",
    "GroupNorm", "BatchNorm1d", "BatchNorm2d",
    "Conv2d", "ConvTranspose2d", "Conv1d",
    "MaxPool2d", "AvgPool2d", "Upsample", "Flatten",
    "ReLU", "GELU", "Tanh", "Sigmoid",
    "LeakyReLU", "ELU", "SiLU", "Softplus", "Hardtanh", "LogSigmoid",
    "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
    "Sequential", "ModuleList", "init", "utils",
    "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "L1Loss",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss",
]
