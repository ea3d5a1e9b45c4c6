"""How a run trains: its settings (the lab's defaults, a model's, the user's) and its schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from gradzoo.lab.errors import UsageError


@dataclass
class TrainSettings:
    """How to train: the lab's defaults, overridden by a model's ``training``, then the CLI."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    warmup: int = 50
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    beta1: float = 0.9       # Adam's moment decay rates (DCGAN trains with beta1 = 0.5)
    beta2: float = 0.999
    clip: float = 1.0
    eval_every: int = 100
    log_every: int = 10

    @classmethod
    def build(cls, *layers: dict) -> TrainSettings:
        """Defaults updated by each dict in turn (later wins); unknown keys are a UsageError."""
        known = {f.name for f in fields(cls)}
        values = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                if key not in known:
                    raise UsageError(f"unknown training setting '{key}'; allowed: "
                                     f"{', '.join(sorted(known))}")
                if value is not None:
                    values[key] = value
        return cls(**values)


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr_ratio * lr`` at the last step.

    warm-up:  lr * step / warmup
    decay:    min + (lr - min) * (1 + cos(pi * progress)) / 2,  progress from 0 to 1
    """
    if step <= settings.warmup:
        return settings.lr * step / max(settings.warmup, 1)
    progress = (step - settings.warmup) / max(settings.steps - settings.warmup, 1)
    low = settings.lr * settings.min_lr_ratio
    return low + (settings.lr - low) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
