"""One training loop for every model: AdamW, warm-up then cosine decay, clipping, checkpoints.

    for step in 1..steps:
        lr   = schedule(step)                 # linear warm-up, then cosine decay
        loss = model.loss(task.batch(step))   # the same batches for every model and seed
        loss.backward(); clip_grad_norm_(params, clip); optimizer.step()

A model may keep ``last_metrics`` (a dict of floats, e.g. the two terms of a
VAE's loss); they are logged beside the loss. A model with its own
``train_step(batch, optimizer, settings) -> float`` (a GAN, which steps its
discriminator and its generator in turn) replaces the standard step.

Every ``eval_every`` steps the task scores the model and a checkpoint is
written. Ctrl-C finishes the current step, writes a checkpoint and stops
(exit code 130); ``resume`` continues from the last checkpoint and ends where
an uninterrupted run would have. A NaN or infinite loss stops the run,
keeping the last good checkpoint.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gradzoo.engine import backend, io, nn, optim
from gradzoo.lab.errors import RunError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import Experiment
from gradzoo.lab.training.initialise import trainable
from gradzoo.lab.training.settings import learning_rate
from gradzoo.plugins.protocols import offers


class TrainingStopped(Exception):
    """The run stopped early; ``exit_code`` is 130 for Ctrl-C, 1 for a diverged loss."""

    def __init__(self, message: str, exit_code: int, step: int):
        super().__init__(message)
        self.exit_code = exit_code
        self.step = step


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    scores: dict
    seconds: float


class _StopRequest:
    """Turns the first Ctrl-C into a flag the loop checks between steps (a second one aborts)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trains an ``Experiment`` (model + task + settings), writing its run directory."""

    def __init__(self, experiment: Experiment, run_dir, progress: bool = True, echo=print):
        self.experiment = experiment
        self.settings = experiment.settings
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.echo = echo
        self.model = experiment.model
        # frozen parameters (``--freeze``) are left out: no update and no optimizer state
        self.optimizer = optim.AdamW(trainable(self.model), lr=self.settings.lr,
                                     betas=(self.settings.beta1, self.settings.beta2),
                                     weight_decay=self.settings.weight_decay)
        self.scored = None  # (step, scores) of the last evaluation, so the end does not redo it
        self.step = 0
        self.step_seconds = 0.0  # time spent in training steps by this process (not evaluating)
        self.steps_timed = 0

    # ------------------------------------------------------------------ start / resume

    def start(self) -> None:
        """A new run: write config.json and an empty metrics file."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        runs.write_json(self.run_dir / runs.CONFIG, self.experiment.config())
        io.write_atomically(self.run_dir / runs.METRICS, "")

    def resume(self) -> None:
        """Continue from the last checkpoint: weights, optimizer moments, step, random state."""
        if not (self.run_dir / runs.STATE).exists():
            raise RunError(f"{self.run_dir} has no checkpoint to resume from "
                           f"({runs.STATE} is missing)")
        state = runs.load_checkpoint(self.run_dir, self.model, self.optimizer)
        self.step = state["step"]
        try:
            backend.set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError) as error:
            raise RunError(f"{self.run_dir / runs.STATE} is damaged: its random-generator "
                           f"state cannot be restored ({type(error).__name__}: {error})") from None
        runs.truncate_metrics(self.run_dir, self.step)

    # ------------------------------------------------------------------ the loop

    def train(self) -> TrainResult:
        settings, task = self.settings, self.experiment.task
        started = time.perf_counter()
        loss_value = float("nan")
        window_tokens, window_start = 0, time.perf_counter()
        self.model.train()
        with _StopRequest() as stop, self._bar() as bar:
            while self.step < settings.steps:
                step = self.step + 1
                lr = learning_rate(step, settings)
                batch = task.batch(settings.batch_size, step)
                step_started = time.perf_counter()
                loss_value = self._train_step(batch, lr)
                self.step_seconds += time.perf_counter() - step_started
                self.steps_timed += 1
                if not math.isfinite(loss_value):
                    raise TrainingStopped(
                        f"the loss became {loss_value} at step {step}; the run stopped and keeps "
                        f"its last good checkpoint (step {self._checkpoint_step()}). Try a lower "
                        f"learning rate (--lr) or stronger clipping.", 1, step)
                self.step = step
                window_tokens += batch_tokens(batch)
                bar.update(1, (loss_value, window_tokens / max(time.perf_counter() - window_start,
                                                               1e-9)))
                if step % settings.log_every == 0 or step == settings.steps:
                    speed = window_tokens / max(time.perf_counter() - window_start, 1e-9)
                    extra = self.model.last_metrics if offers(self.model, "last_metrics") else {}
                    runs.append_metrics(self.run_dir, {"step": step, "loss": loss_value, "lr": lr,
                                                       "tokens_per_s": speed,
                                                       "elapsed_s": time.perf_counter() - started,
                                                       **extra})
                    window_tokens, window_start = 0, time.perf_counter()
                if step % settings.eval_every == 0 or step == settings.steps:
                    self._evaluate_and_save()
                if stop.requested:
                    self.save()
                    raise TrainingStopped(f"interrupted at step {step}; checkpoint saved. "
                                          f"Continue with --resume.", 130, step)
        if self.scored is not None and self.scored[0] == self.step:
            scores = self.scored[1]   # the last step was just evaluated: sampling costs minutes
        else:
            scores = self.experiment.task.score(self.model)
        return TrainResult(self.step, loss_value, scores, time.perf_counter() - started)

    def _train_step(self, batch, lr: float) -> float:
        """One optimisation step; a model with its own ``train_step`` (a GAN) takes over here."""
        self.optimizer.lr = lr
        if offers(self.model, "train_step"):
            return float(self.model.train_step(batch, self.optimizer, self.settings))
        loss = self.model.loss(batch)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.optimizer.params, self.settings.clip)
        self.optimizer.step()
        return loss.item()

    def _evaluate_and_save(self) -> None:
        scores = self.experiment.task.score(self.model)
        self.scored = (self.step, scores)
        runs.append_metrics(self.run_dir, {"step": self.step, **{f"eval_{k}": v
                                                                 for k, v in scores.items()}})
        self.save()

    def save(self) -> None:
        runs.save_checkpoint(self.run_dir, self.model, self.optimizer,
                             {"step": self.step, "rng": backend.get_rng_state()})

    def _checkpoint_step(self) -> int:
        state_file = self.run_dir / runs.STATE
        return runs.read_json(state_file)["step"] if state_file.exists() else 0

    def _bar(self):
        import click

        def show(item):
            if item is None:
                return ""
            loss, speed = item
            return f"loss {loss:.4f}  {speed:,.0f} tok/s"

        return click.progressbar(length=self.settings.steps - self.step, label="training",
                                 show_eta=True, show_pos=True, item_show_func=show,
                                 file=None if self.progress else _Null(),
                                 update_min_steps=1)


class _Null:
    """A file that swallows the progress bar (``progress=False``)."""

    def write(self, text):
        pass

    def flush(self):
        pass

    def isatty(self):
        return False


def batch_tokens(batch) -> int:
    """Number of tokens (or samples) in a batch, for the tokens-per-second figure."""
    for name in ("inputs", "source", "points", "images"):
        value = getattr(batch, name, None)
        if value is not None:
            count = value.size
            if name == "source" and getattr(batch, "target", None) is not None:
                count += batch.target.size
            return count
    return len(batch)
