"""What the classifiers (cnn, mlp) share: the cross-entropy loss over ``classify``'s logits.

A classifier reads a batch of a classification task, ``images`` (B, H*W)
grey levels and ``labels`` (B,) class indices, and answers logits (B, K), one
score per class; softmax turns them into probabilities p_k = e^{z_k} / sum_j e^{z_j}.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F


class Classifier(nn.Module):
    """Base of the classifiers: a subclass defines ``logits(images)``; ``classify`` checks input."""

    def __init__(self, name: str, data_dim: int, num_classes: int):
        super().__init__()
        self.name, self.data_dim, self.num_classes = name, data_dim, num_classes
        self.last_metrics = {}

    def logits(self, images: Tensor) -> Tensor:
        raise NotImplementedError(f"{self.name} must define logits(images)")

    def classify(self, images: Tensor) -> Tensor:
        """Logits (B, num_classes) for images (B, H*W), one flattened picture per row."""
        if images.ndim != 2 or images.shape[1] != self.data_dim:
            raise ValueError(f"{self.name}: images must be (B, {self.data_dim}) floats, one "
                             f"flattened image per row; got shape {tuple(images.shape)}")
        return self.logits(images)

    def loss(self, batch) -> Tensor:
        """Cross-entropy -(1/B) sum_i log p_{y_i}; logs the batch's accuracy beside it."""
        logits = self.classify(batch.images)
        right = logits.data.argmax(axis=-1) == batch.labels.data
        self.last_metrics = {"batch_accuracy": float(right.mean())}
        return F.cross_entropy(logits, batch.labels)
