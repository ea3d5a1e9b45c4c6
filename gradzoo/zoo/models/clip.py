"""``clip``: contrastive language-image pre-training (Radford et al., 2021), read top to bottom.

    I = normalise(f_image(x))          image encoder: an MLP over the H*W pixels, to d numbers
    T = normalise(W_t f_text(c))       text encoder: a transformer over the caption's tokens,
                                       its outputs averaged over the real (not pad) tokens
    S = I T^T                          cosine similarities (N, N): image i against caption j
    logits = e^t S                     t learned; e^t starts at 1/0.07 and never exceeds 100
    loss = (CE_rows(logits) + CE_columns(logits)) / 2
                                       symmetric InfoNCE: each image must pick its caption
                                       among the batch's, and each caption its image

normalise(v) = v / |v| puts every embedding on the unit sphere, so S holds
cosines in -1..1; e^t (1 / temperature) sharpens them into logits. There are
no labels: the other pairs of the batch are the negatives.

One departure from the paper's pseudocode: the paper's batches hold 32,768
different captions, ours a few dozen drawn from 72 sentences, so two pictures
of a batch often share a caption. Plain InfoNCE would then call the second
picture's caption a wrong answer for the first, the same sentence both right
and wrong. Here every caption that reads the same counts as right: the target
of a row (or column) is spread equally over them (``contrastive_loss``).
With all captions different this is exactly the paper's loss.
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.blocks import Block
from gradzoo.zoo.models.generative_parts import MLP

INITIAL_TEMPERATURE = 0.07
MAX_LOGIT_SCALE = math.log(100.0)  # t is clamped so that e^t <= 100, as in the paper


def normalise(v: Tensor) -> Tensor:
    """v / |v| for each row: unit-length embeddings, whose dot products are cosines."""
    return v / ((v * v).sum(dim=-1, keepdim=True) + 1e-12) ** 0.5


def positives_of(captions: Tensor) -> Tensor:
    """P (N, N): 1.0 where caption j reads exactly like caption i (the diagonal always), else 0."""
    ids = captions.data
    same = (ids[:, None, :] == ids[None, :, :]).all(axis=2)
    return Tensor(same.astype(backend.float32))


def contrastive_loss(logits: Tensor, positives: Tensor) -> Tensor:
    """Symmetric InfoNCE: (cross-entropy over each row + over each column) / 2.

    ``logits`` (N, M), image i against caption j; ``positives`` (N, M) 1 where
    the pair belongs together. Each row's target is spread equally over its
    positives, and so is each column's; with one positive per row and column
    (P = I) this is the paper's CE(logits, i) + CE(logits^T, j), halved.
    """
    to_text = positives / positives.sum(dim=1, keepdim=True)    # rows sum to 1
    to_image = positives / positives.sum(dim=0, keepdim=True)   # columns sum to 1
    image_to_text = -(to_text * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    text_to_image = -(to_image * F.log_softmax(logits, dim=0)).sum(dim=0).mean()
    return (image_to_text + text_to_image) / 2


class TextEncoder(nn.Module):
    """Token + position embeddings, ``layers`` blocks, LayerNorm, mean over real tokens, W_t."""

    def __init__(self, vocab_size: int, length: int, pad_token: int, width: int, layers: int,
                 heads: int, embedding: int):
        super().__init__()
        self.length, self.pad_token = length, pad_token
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(length, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.projection = nn.Linear(width, embedding, bias=False)  # W_t

    def forward(self, captions: Tensor) -> Tensor:
        """Caption embeddings (M, d), before normalising, for token ids (M, T)."""
        real = captions.data != self.pad_token                        # (M, T), True on words
        positions = backend.array_module(captions.device).arange(captions.shape[1])
        x = self.token_embedding(captions) + self.position_embedding(Tensor(positions))
        for block in self.blocks:
            x = block(x, real[:, None, None, :])          # keys: (M, 1, 1, T), broadcast
        x = self.ln_final(x)
        weights = real / real.sum(axis=1, keepdims=True)              # 1/words on each word
        pooled = (x * Tensor(weights[:, :, None].astype(backend.float32))).sum(dim=1)
        return self.projection(pooled)


class CLIP(nn.Module):
    """An image encoder and a text encoder into one space of ``embedding`` dimensions."""

    def __init__(self, data_dim: int, vocab_size: int, caption_length: int, pad_token: int,
                 hidden: int, width: int, layers: int, heads: int, embedding: int):
        super().__init__()
        self.data_dim, self.caption_length = data_dim, caption_length
        self.vocab_size = vocab_size
        self.image_encoder = MLP([data_dim, hidden, hidden, embedding])  # its last layer is W_i
        self.text_encoder = TextEncoder(vocab_size, caption_length, pad_token, width, layers,
                                        heads, embedding)
        self.logit_scale = nn.init.constant_(nn.init.new_parameter(),
                                             math.log(1.0 / INITIAL_TEMPERATURE))  # t
        self.last_metrics = {}

    def embed_images(self, images: Tensor) -> Tensor:
        """I = normalise(f_image(x)): unit vectors (N, d) for images (N, H*W)."""
        if images.ndim != 2 or images.shape[1] != self.data_dim:
            raise ValueError(f"clip: images must be (N, {self.data_dim}) floats, one flattened "
                             f"image per row; got shape {tuple(images.shape)}")
        return normalise(self.image_encoder(images))

    def embed_texts(self, captions: Tensor) -> Tensor:
        """T = normalise(W_t f_text(c)): unit vectors (M, d) for token ids (M, caption_length)."""
        if captions.ndim != 2 or captions.shape[1] != self.caption_length \
                or not backend.is_integer(captions.dtype):
            raise ValueError(f"clip: captions must be (M, {self.caption_length}) integer token "
                             f"ids; got {captions.dtype} of shape {tuple(captions.shape)}")
        return normalise(self.text_encoder(captions))

    def similarity(self, images: Tensor, captions: Tensor) -> Tensor:
        """S = I T^T: cosine similarities (N, M), before the temperature."""
        return self.embed_images(images) @ self.embed_texts(captions).T

    def scale(self) -> Tensor:
        """e^t with t clamped at log 100, so the logits are at most 100 times the cosines."""
        t = self.logit_scale
        return F.where(t > MAX_LOGIT_SCALE, Tensor(MAX_LOGIT_SCALE, device=t.device), t).exp()

    def loss(self, batch) -> Tensor:
        """Symmetric InfoNCE of the batch's pairs; logs the scale e^t it used."""
        scale = self.scale()
        logits = scale * self.similarity(batch.images, batch.captions)  # e^t I T^T
        self.last_metrics = {"logit_scale": scale.item()}
        return contrastive_loss(logits, positives_of(batch.captions))


def build(task, options) -> CLIP:
    """A CLIP sized for ``task``: its image size, vocabulary and caption length."""
    if options["width"] % options["heads"]:
        raise ValueError(f"clip: width {options['width']} must be divisible by heads "
                         f"{options['heads']}")
    return CLIP(task.data_dim, task.vocab_size, task.caption_length, task.pad_token,
                options["hidden"], options["width"], options["layers"], options["heads"],
                options["embedding"])


SPEC = ModelSpec(
    name="clip", kinds=("paired",), build=build, example_task="captions",
    summary="contrastive image-text model: two encoders, one space, symmetric InfoNCE",
    options=(
        Option("hidden", 256, "units in each of the image MLP's 2 hidden layers", min=1,
               max=8192),
        Option("width", 64, "width of the text transformer", min=1, max=8192),
        Option("layers", 2, "text transformer blocks", min=1, max=64),
        Option("heads", 4, "attention heads per block (must divide width)", min=1, max=64),
        Option("embedding", 32, "dimensions of the shared embedding space", min=1, max=8192),
    ),
    training={"steps": 1000, "lr": 3e-3, "batch_size": 64, "eval_every": 250},
)


@hookimpl
def register_models(register):
    """Register ``clip``."""
    register(SPEC)
