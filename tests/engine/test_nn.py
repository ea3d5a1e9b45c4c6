"""nn: Module bookkeeping, and each layer against numbers worked out by hand.

Tests that take ``device`` (tests/conftest.py) run on the CPU and on the GPU code
path, with that device as the default for every tensor and layer they make.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradzoo.engine import hooks, manual_seed, nn, tensor


def set_params(module: nn.Module, values: dict) -> None:
    """Set some parameters by hand (dotted name -> nested list), through load_state_dict."""
    module.load_state_dict({name: tensor(v) for name, v in values.items()}, strict=False)


def close(actual, expected, tol=1e-6):
    np.testing.assert_allclose(actual.numpy(), np.asarray(expected, dtype=np.float32),
                               rtol=tol, atol=tol)


class Block(nn.Module):
    """A transformer-like block: attributes assigned in a deliberately non-alphabetical order."""

    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(4, 2)
        self.norm = nn.LayerNorm(4)
        self.ff = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))

    def forward(self, x):
        return x + self.ff(self.norm(x + self.self_attn(x, x, x)))


class Tower(nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        self.layers = nn.ModuleList([Block() for _ in range(layers)])
        self.head = nn.Linear(4, 3, bias=False)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


# ---------------------------------------------------------------------- Module bookkeeping


def test_named_parameters_are_dotted_paths_in_assignment_order():
    names = [name for name, _ in Tower().named_parameters()]
    attn = [f"layers.0.self_attn.{p}.{w}" for p in ("q_proj", "k_proj", "v_proj", "out_proj")
            for w in ("weight", "bias")]
    assert names[:8] == attn
    assert names[8:14] == ["layers.0.norm.weight", "layers.0.norm.bias",
                           "layers.0.ff.0.weight", "layers.0.ff.0.bias",
                           "layers.0.ff.2.weight", "layers.0.ff.2.bias"]
    assert names[14] == "layers.1.self_attn.q_proj.weight"
    assert names[-1] == "head.weight"  # bias=False: no 'head.bias'
    assert len(names) == 2 * 14 + 1
    assert [p for _, p in Tower().named_parameters()] != []  # parameters are real objects


def test_parameters_follow_named_parameters_and_state_dict_keys():
    model = Tower()
    assert list(model.parameters()) == [p for _, p in model.named_parameters()]
    assert list(model.state_dict()) == [name for name, _ in model.named_parameters()]


def test_shared_parameter_listed_once_but_saved_under_both_names():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.embed.weight  # weight tying, as in GPT-2

    model = Tied()
    assert [name for name, _ in model.named_parameters()] == ["embed.weight"]
    assert list(model.state_dict()) == ["embed.weight", "out.weight"]


def test_reassigning_a_parameter_keeps_its_position():
    layer = nn.Linear(2, 2)
    layer.weight = nn.Parameter(np.zeros((2, 2), dtype=np.float32))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_plain_tensor_cannot_replace_a_parameter_but_none_removes_it():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        layer.weight = tensor([[1.0, 2.0], [3.0, 4.0]])
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.bias is None


def test_forgetting_super_init_gives_a_helpful_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_children_and_named_modules():
    model = Tower(layers=1)
    assert [type(m).__name__ for m in model.children()] == ["ModuleList", "Linear"]
    names = [name for name, _ in model.named_modules()]
    assert names[:4] == ["", "layers", "layers.0", "layers.0.self_attn"]
    assert "layers.0.ff.1" in names and names[-1] == "head"


def test_buffers_move_and_save_but_are_not_parameters():
    class WithTable(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", tensor([1.0, 2.0]))
            self.register_buffer("scratch", tensor([0.0]), persistent=False)

    model = WithTable()
    assert list(model.parameters()) == []
    assert list(model.state_dict()) == ["table"]
    assert [name for name, _ in model.named_buffers()] == ["table", "scratch"]


def test_train_and_eval_reach_every_submodule():
    model = Tower()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_gradient(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model(tensor([[1.0, 2.0]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_call_runs_forward_through_the_module_called_hook():
    running, seen = [], []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(tuple(running))
            return x

    def note(module, forward, *args, **kwargs):
        running.append(module)
        try:
            return forward(*args, **kwargs)
        finally:
            running.pop()

    outer = nn.Sequential(Probe())
    with hooks.module_called(note):
        assert outer(5) == 5
    assert seen == [(outer, outer[0])]
    assert outer(6) == 6 and seen[-1] == ()  # after the with: no wrapper runs


def test_repr_lists_children_like_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1))
    assert repr(model) == ("Sequential(\n"
                           "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                           "  (1): ReLU()\n"
                           "  (2): Dropout(p=0.1)\n"
                           ")")


def test_to_float64_keeps_parameter_identity():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    assert layer.to("float64") is layer
    assert layer.weight is weight and weight.dtype == np.float64
    with pytest.raises(ValueError, match="device"):
        layer.to("cuda")


def test_to_gpu_moves_data_in_place(fake_gpu):
    layer = nn.Linear(2, 2, device="cpu")
    weight, values = layer.weight, layer.weight.numpy()
    layer.to(fake_gpu)
    assert layer.weight is weight and weight.device == "gpu"
    np.testing.assert_array_equal(weight.numpy(), values)
    assert layer.to("cpu").weight.device == "cpu"


def test_same_seed_gives_same_weights_on_cpu_and_gpu(fake_gpu):
    manual_seed(7)
    on_cpu = nn.GRUCell(3, 4, device="cpu")
    manual_seed(7)
    on_gpu = nn.GRUCell(3, 4, device=fake_gpu)
    assert on_gpu.weight_ih.device == "gpu"
    for (name, a), (_, b) in zip(on_cpu.state_dict().items(), on_gpu.state_dict().items(),
                                 strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


# ---------------------------------------------------------------------- state dicts


def test_state_dict_round_trip_gives_the_same_outputs(device):
    manual_seed(1)
    source = Tower()
    manual_seed(2)
    target = Tower()
    x = tensor(np.linspace(-1, 1, 2 * 3 * 4).reshape(2, 3, 4))
    assert not np.allclose(source(x).numpy(), target(x).numpy())
    weight = target.head.weight
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    assert target.head.weight is weight  # loaded in place: an optimizer's references stay valid


def test_state_dict_is_a_snapshot():
    layer = nn.Linear(2, 1)
    saved = layer.state_dict()
    before = saved["weight"].numpy()
    layer.weight.data *= 2.0
    np.testing.assert_array_equal(saved["weight"].numpy(), before)


def test_load_state_dict_names_missing_and_unexpected_keys():
    layer = nn.Linear(2, 1)
    state = layer.state_dict()
    del state["bias"]
    state["bais"] = tensor([0.0])
    with pytest.raises(nn.StateDictError) as error:
        layer.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: bias" in message and "unexpected keys: bais" in message
    assert "Linear" in message
    result = layer.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["bais"]


def test_load_state_dict_reports_shape_mismatch_even_when_not_strict():
    layer = nn.Linear(2, 3)
    with pytest.raises(nn.StateDictError, match=r"'weight'.*\(3, 2\).*\(2, 3\)"):
        layer.load_state_dict({"weight": tensor(np.zeros((2, 3))), "bias": tensor([0., 0, 0])})
    with pytest.raises(nn.StateDictError, match="shape mismatch"):
        layer.load_state_dict({"weight": tensor(np.zeros((2, 3)))}, strict=False)


# ---------------------------------------------------------------------- layers


def test_linear_by_hand(device):
    layer = nn.Linear(2, 3)
    set_params(layer, {"weight": [[1, 2], [3, 4], [5, 6]], "bias": [0.5, -1, 0]})
    # y = x W^T + b with x = [1, -1]:
    #   [1*1 + 2*(-1) + 0.5, 3*1 + 4*(-1) - 1, 5*1 + 6*(-1) + 0] = [-0.5, -2, -1]
    close(layer(tensor([[1.0, -1.0]])), [[-0.5, -2.0, -1.0]])
    assert nn.Linear(2, 3, bias=False)(tensor([[1.0, -1.0]])).shape == (1, 3)


def test_linear_init_is_pytorch_uniform_bound():
    layer = nn.Linear(16, 300)
    bound = 1 / math.sqrt(16)  # 0.25
    assert layer.weight.shape == (300, 16) and layer.bias.shape == (300,)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        values = p.numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() - values.min() > 1.8 * bound  # the whole range is used


def test_init_is_reproducible_from_the_seed():
    manual_seed(3)
    a = nn.Linear(4, 4).weight.numpy()
    manual_seed(3)
    b = nn.Linear(4, 4).weight.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Linear(4, 4).weight.numpy())


def test_embedding_picks_rows_and_starts_standard_normal(device):
    embed = nn.Embedding(3, 2)
    set_params(embed, {"weight": [[0, 1], [2, 3], [4, 5]]})
    close(embed(tensor([[2, 0], [1, 1]])), [[[4, 5], [0, 1]], [[2, 3], [2, 3]]])
    values = nn.Embedding(1000, 16).weight.numpy()
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1.0) < 0.02


def test_layer_norm_by_hand(device):
    norm = nn.LayerNorm(4)
    close(norm.weight, [1, 1, 1, 1])
    close(norm.bias, [0, 0, 0, 0])
    set_params(norm, {"weight": [2, 2, 2, 2], "bias": [1, 1, 1, 1]})
    # x = [1, 2, 3, 4]: mean 2.5, var = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    # x_hat = (x - 2.5) / sqrt(1.25 + 1e-5) = [-1.341635, -0.447212, 0.447212, 1.341635]
    # y = 2 * x_hat + 1
    close(norm(tensor([[1.0, 2.0, 3.0, 4.0]])), [[-1.683271, 0.105576, 1.894424, 3.683271]],
          tol=1e-5)


def test_dropout_respects_train_and_eval(device):
    manual_seed(0)
    dropout = nn.Dropout(0.25)
    x = tensor(np.ones((100, 100)))
    y = dropout(x).numpy()
    kept = y != 0
    assert 0.70 < kept.mean() < 0.80                   # about 1 - p kept
    np.testing.assert_allclose(y[kept], 1 / 0.75)     # the kept ones scaled by 1/(1-p)
    dropout.eval()
    assert dropout(x) is x
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)


def test_activations(device):
    x = tensor([-1.0, 0.0, 2.0])
    close(nn.ReLU()(x), [0, 0, 2])
    close(nn.Tanh()(x), np.tanh([-1.0, 0.0, 2.0]))
    close(nn.Sigmoid()(x), 1 / (1 + np.exp([1.0, 0.0, -2.0])))
    close(nn.GELU()(tensor([0.0, 1.0])), [0.0, 0.841345], tol=1e-5)  # 1 * Phi(1) = 0.841345


# ---------------------------------------------------------------------- recurrent cells


@pytest.mark.parametrize("cell_class, gates", [(nn.RNNCell, 1), (nn.LSTMCell, 4),
                                               (nn.GRUCell, 3)])
def test_cell_parameters_have_pytorch_names_shapes_and_init(cell_class, gates):
    cell = cell_class(3, 5)
    shapes = {name: p.shape for name, p in cell.named_parameters()}
    assert shapes == {"weight_ih": (gates * 5, 3), "weight_hh": (gates * 5, 5),
                      "bias_ih": (gates * 5,), "bias_hh": (gates * 5,)}
    bound = 1 / math.sqrt(5)
    assert all(np.abs(p.numpy()).max() <= bound for p in cell.parameters())


def test_rnn_cell_one_step_by_hand(device):
    cell = nn.RNNCell(1, 1)
    set_params(cell, {"weight_ih": [[0.5]], "weight_hh": [[-1.0]],
                      "bias_ih": [0.1], "bias_hh": [0.2]})
    # h' = tanh(0.5 * 2 + 0.1 + (-1) * 0.5 + 0.2) = tanh(0.8) = 0.664037
    close(cell(tensor([[2.0]]), tensor([[0.5]])), [[0.664037]])
    # no h: zeros, so h' = tanh(1.0 + 0.1 + 0.2) = tanh(1.3) = 0.861723
    close(cell(tensor([[2.0]])), [[0.861723]])


def lstm_with(bias_ih, weight_ih=((0,), (0,), (0,), (0,))):
    cell = nn.LSTMCell(1, 1)
    set_params(cell, {"weight_ih": weight_ih, "weight_hh": [[0], [0], [0], [0]],
                      "bias_ih": bias_ih, "bias_hh": [0, 0, 0, 0]})
    return cell


def test_lstm_cell_one_step_by_hand(device):
    cell = lstm_with([0, 0, 0, 0], weight_ih=[[1], [2], [3], [4]])
    h, c = cell(tensor([[1.0]]), (tensor([[0.0]]), tensor([[1.0]])))
    # x = 1, h = 0, c = 1; each gate's pre-activation is its row of W_ih: 1, 2, 3, 4
    # i = sigmoid(1) = 0.731059, f = sigmoid(2) = 0.880797,
    # g = tanh(3) = 0.995055,    o = sigmoid(4) = 0.982014
    # c' = f * c + i * g = 0.880797 + 0.731059 * 0.995055 = 1.608240
    # h' = o * tanh(c') = 0.982014 * 0.922900 = 0.906300
    close(c, [[1.608240]])
    close(h, [[0.906300]])


def test_lstm_gate_order_forget_gate_is_second(device):
    x, state = tensor([[0.0]]), (tensor([[0.0]]), tensor([[2.0]]))
    # All pre-activations 0: i = o = 0.5, g = 0, so c' = f * 2 and h' = 0.5 * tanh(c').
    # With only the forget-gate bias (slot 1) large, f = 1: the cell state is kept.
    h, c = lstm_with([0, 100, 0, 0])(x, state)
    close(c, [[2.0]])
    close(h, [[0.482014]])  # 0.5 * tanh(2)
    # Without it, f = sigmoid(0) = 0.5 halves the state.
    _, c = lstm_with([0, 0, 0, 0])(x, state)
    close(c, [[1.0]])
    # Slot 2 is the candidate g: a large bias there writes i * g = 0.5 * 1 into c.
    _, c = lstm_with([0, 0, 100, 0])(x, state)
    close(c, [[1.5]])  # 0.5 * 2 + 0.5 * tanh(100)


def test_lstm_cell_without_state_starts_from_zeros(device):
    h, c = lstm_with([0, 0, 100, 0])(tensor([[0.0], [0.0]]))
    close(c, [[0.5], [0.5]])  # f * 0 + i * g = 0.5 * 1
    assert h.shape == (2, 1)


def test_gru_cell_one_step_by_hand_with_pytorch_reset_formula(device):
    cell = nn.GRUCell(1, 1)
    set_params(cell, {"weight_ih": [[1], [2], [3]], "weight_hh": [[0.5], [-0.5], [1.0]],
                      "bias_ih": [0, 0, 0.1], "bias_hh": [0, 0, 0.2]})
    # x = 1, h = 0.5
    # r = sigmoid(1 + 0.5 * 0.5) = sigmoid(1.25) = 0.777300
    # z = sigmoid(2 - 0.5 * 0.5) = sigmoid(1.75) = 0.851953
    # n = tanh(3 + 0.1 + r * (1.0 * 0.5 + 0.2)) = tanh(3.644110) = 0.998634   (r scales b_hn)
    # h' = (1 - z) * n + z * h = 0.148047 * 0.998634 + 0.851953 * 0.5 = 0.573821
    close(cell(tensor([[1.0]]), tensor([[0.5]])), [[0.573821]])


def test_gru_gate_order_update_gate_is_second(device):
    cell = nn.GRUCell(1, 1)
    set_params(cell, {"weight_ih": [[0], [0], [0]], "weight_hh": [[0], [0], [0]],
                      "bias_ih": [0, 100, 0], "bias_hh": [0, 0, 0]})
    # z = sigmoid(100) = 1: the new state is the old one, whatever the candidate.
    close(cell(tensor([[3.0]]), tensor([[0.7]])), [[0.7]])
    set_params(cell, {"bias_ih": [0, -100, 1]})
    # z = 0: h' = n = tanh(0 + 1 + r * 0) = tanh(1) = 0.761594
    close(cell(tensor([[3.0]]), tensor([[0.7]])), [[0.761594]])


def test_cells_reject_the_wrong_input_size():
    with pytest.raises(RuntimeError, match="input_size=3"):
        nn.RNNCell(3, 2)(tensor([[1.0, 2.0]]))


# ---------------------------------------------------------------------- attention


def identity_attention(embed_dim, num_heads, **options):
    attention = nn.MultiheadAttention(embed_dim, num_heads, **options)
    eye = np.eye(embed_dim).tolist()
    zeros = [0.0] * embed_dim
    set_params(attention, {f"{p}.{w}": (eye if w == "weight" else zeros)
                           for p in ("q_proj", "k_proj", "v_proj", "out_proj")
                           for w in ("weight", "bias")})
    return attention


X = [[[1.0, 0.0], [0.0, 1.0]]]  # batch 1, two positions, embed_dim 2


def test_attention_one_head_identity_projections_by_hand(device):
    attention = identity_attention(2, 1)
    x = tensor(X)
    # scores = X X^T / sqrt(2) = [[0.7071, 0], [0, 0.7071]]
    # row 0: softmax([0.7071, 0]) = [e^0.7071, 1] / (e^0.7071 + 1) = [0.669762, 0.330238]
    # output row 0 = 0.669762 * [1, 0] + 0.330238 * [0, 1]; row 1 mirrors it
    close(attention(x, x, x), [[[0.669762, 0.330238], [0.330238, 0.669762]]])
    close(attention.attention_weights(x, x), [[[[0.669762, 0.330238], [0.330238, 0.669762]]]])
    # causal: position 0 sees only itself -> [1, 0]; position 1 as before
    close(attention(x, x, x, is_causal=True), [[[1.0, 0.0], [0.330238, 0.669762]]])
    close(attention.attention_weights(x, x, is_causal=True), [[[[1.0, 0.0], [0.330238, 0.669762]]]])
    # a boolean mask is True where a query MAY look: the same as is_causal here
    allowed = tensor(np.tril(np.ones((2, 2), dtype=bool)))
    close(attention(x, x, x, attn_mask=allowed), [[[1.0, 0.0], [0.330238, 0.669762]]])
    close(attention.attention_weights(x, x, attn_mask=allowed),
          [[[[1.0, 0.0], [0.330238, 0.669762]]]])
    # a float mask is added to the scores: -inf hides, 0 leaves as is
    additive = tensor([[0.0, -np.inf], [0.0, 0.0]])
    close(attention.attention_weights(x, x, attn_mask=additive),
          [[[[1.0, 0.0], [0.330238, 0.669762]]]])


def test_attention_two_heads_each_see_their_own_slice(device):
    attention = identity_attention(2, 2)
    x = tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # three positions (not two: 2 heads)
    # head 0 sees dim 0: q = k = v = [1, 0, 1] over the positions, scale 1/sqrt(1)
    #   positions 0, 2: softmax([1, 0, 1]) = [e, 1, e] / (2e + 1) = [0.422319, 0.155362, 0.422319]
    #                   -> 0.422319 * 1 + 0.155362 * 0 + 0.422319 * 1 = 0.844638
    #   position 1:     softmax([0, 0, 0]) = 1/3 each -> 2/3
    # head 1 sees dim 1: q = k = v = [0, 1, 1]: position 0 -> 2/3, positions 1, 2 -> 0.844638
    close(attention(x, x, x), [[[0.844638, 0.666667], [0.666667, 0.844638],
                                [0.844638, 0.844638]]])
    weights = attention.attention_weights(x, x)
    assert weights.shape == (1, 2, 3, 3)  # (batch, heads, queries, keys)
    close(weights[0, 0], [[0.422319, 0.155362, 0.422319], [1 / 3, 1 / 3, 1 / 3],
                          [0.422319, 0.155362, 0.422319]])


def test_attention_sequence_first_layout_and_cross_attention_shapes(device):
    attention = nn.MultiheadAttention(4, 2, batch_first=False)
    query = tensor(np.zeros((5, 3, 4)))     # (length 5, batch 3, embed 4)
    memory = tensor(np.ones((7, 3, 4)))     # a 7-long encoder output
    assert attention(query, memory, memory).shape == (5, 3, 4)
    with pytest.raises(ValueError, match="3-D"):
        attention(tensor(np.zeros((5, 4))), memory, memory)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)


def test_attention_dropout_only_while_training(device):
    manual_seed(0)
    attention = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4))
    attention.eval()
    reference = attention(x, x, x).numpy()
    np.testing.assert_array_equal(attention(x, x, x).numpy(), reference)
    attention.train()
    assert not np.allclose(attention(x, x, x).numpy(), reference)
    attention.dropout = 0.0
    np.testing.assert_allclose(attention(x, x, x).numpy(), reference, rtol=1e-6)


def test_attention_gradients_reach_every_projection(device):
    attention = nn.MultiheadAttention(4, 2)
    x = tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4))
    attention(x, x, x, is_causal=True).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in attention.parameters())


# ---------------------------------------------------------------------- containers


def test_sequential_runs_in_order_by_hand(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    set_params(model, {"0.weight": [[1, 0], [0, -1]], "0.bias": [0, 0],
                       "2.weight": [[1, 1]], "2.bias": [10]})
    # [3, 2] -> Linear: [3, -2] -> ReLU: [3, 0] -> Linear: 3 + 0 + 10 = 13
    close(model(tensor([[3.0, 2.0]])), [[13.0]])
    assert len(model) == 3 and isinstance(model[1], nn.ReLU) and isinstance(model[-1], nn.Linear)
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]


def test_module_list_holds_indexes_and_registers():
    blocks = nn.ModuleList()
    blocks.append(nn.Linear(2, 2)).append(nn.Linear(2, 3))
    assert len(blocks) == 2 and blocks[-1].out_features == 3
    assert [name for name, _ in blocks.named_parameters()] == ["0.weight", "0.bias",
                                                               "1.weight", "1.bias"]
    blocks[0] = nn.Linear(2, 4)
    assert [m.out_features for m in blocks] == [4, 3]  # replaced in place, order kept
    with pytest.raises(IndexError, match="2 modules"):
        blocks[2]


# ---------------------------------------------------------------------- clip_grad_norm_


def test_clip_grad_norm_scales_all_gradients_together(device):
    a, b, unused = nn.Parameter([0.0, 0.0]), nn.Parameter([0.0]), nn.Parameter([0.0])
    a.grad, b.grad = tensor([3.0, 4.0]), tensor([12.0])
    # total norm = sqrt(3^2 + 4^2 + 12^2) = sqrt(169) = 13; max_norm 6.5 halves every gradient
    total = nn.utils.clip_grad_norm_([a, b, unused], max_norm=6.5)
    assert total.item() == pytest.approx(13.0)
    close(a.grad, [1.5, 2.0])
    close(b.grad, [6.0])
    assert unused.grad is None


def test_clip_grad_norm_leaves_small_gradients_alone(device):
    a = nn.Parameter([0.0, 0.0])
    a.grad = tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_([a], max_norm=10.0).item() == pytest.approx(5.0)
    close(a.grad, [3.0, 4.0])
    assert a.grad.dtype == np.float32
