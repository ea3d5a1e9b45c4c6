"""What ``gradzoo sample`` shows: generated text, a model's answers beside the right ones,
pictures of a generative model's samples (PNG files in RUN_DIR/samples/), or a classifier's
guesses for held-out pictures beside their true classes."""

from __future__ import annotations

from pathlib import Path

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.lab.errors import UsageError
from gradzoo.lab.pictures.generative import draw_generative_run
from gradzoo.lab.training.opening import open_run
from gradzoo.plugins.manager import Registry
from gradzoo.plugins.protocols import offers

SEQUENCE_EXAMPLES = 8      # fresh examples shown beside their right answers
GENERATIVE_SAMPLES = 1000  # points (or images) drawn for the pictures
PAIRED_PICTURES = 8        # test pictures shown beside their most similar captions
CLOZE_WINDOWS = 4          # gapped windows shown with the model's fill-ins
CLASSIFIED_PICTURES = 16   # held-out pictures shown with their true and predicted class


def sample_run(registry: Registry, run_dir, prompt=None, tokens=200, temperature=0.8, top_k=None,
               count=None, seed=0) -> list[str]:
    """Lines to print for a run: depends on the task's kind."""
    experiment = open_run(run_dir, registry)
    backend.manual_seed(seed)
    model, task = experiment.model, experiment.task
    model.eval()
    if offers(task, "fill_in"):  # a language task with gaps to fill in: cloze
        return gaps_filled(model, task, count or CLOZE_WINDOWS, seed)
    if task.kind == "language":
        return [generate_text(model, task, prompt, tokens, temperature, top_k)]
    if task.kind == "sequence":
        return answer_table(model, task, count or SEQUENCE_EXAMPLES, seed)
    if task.kind == "generative":
        with no_grad():
            return draw_generative_run(model, task, count or GENERATIVE_SAMPLES,
                                       Path(run_dir) / "samples")
    if task.kind == "paired":
        from gradzoo.lab.pictures.paired import draw_paired_run

        return draw_paired_run(model, task, count or PAIRED_PICTURES, Path(run_dir) / "samples")
    if task.kind == "classification":
        with no_grad():
            return class_table(model, task, count or CLASSIFIED_PICTURES, seed)
    raise UsageError(f"sample does not know how to show a {task.kind} task yet")


def generate_text(model, task, prompt, tokens, temperature, top_k) -> str:
    """The prompt and its continuation, sampled one character at a time."""
    prompt = prompt if prompt else "\n"
    try:
        ids = task.encode(prompt)
        out = model.generate(Tensor([ids]), tokens, temperature=temperature, top_k=top_k)
    except ValueError as error:  # characters the text never had, a prompt longer than the model's
        raise UsageError(str(error)) from None
    return task.decode(out.numpy()[0])


def answer_table(model, task, count, seed) -> list[str]:
    """Fresh examples (the test split): source -> the model's answer, and the right one."""
    batch = task.batch(count, seed, split="test")
    predicted = model.predict(batch.source).numpy()
    lines = []
    right = 0
    for source, answer, truth in zip(batch.source.numpy(), predicted, batch.target.numpy()):
        ok = bool((answer == truth).all())
        right += ok
        mark = "ok   " if ok else "WRONG"
        lines.append(f"{mark} {task.decode(source)}  ->  {task.decode(answer)}"
                     + ("" if ok else f"   (right: {task.decode(truth)})"))
    lines.append(f"{right} of {len(predicted)} right")
    return lines


def class_table(model, task, count, seed) -> list[str]:
    """Held-out pictures (the test split): true class, predicted class and its probability.

    The probability is softmax(logits) of the predicted class: how sure the model is.
    """
    batch = task.batch(count, seed, split="test")
    probabilities = model.classify(batch.images).softmax(dim=-1).numpy()
    predicted = probabilities.argmax(axis=1)
    truth = batch.labels.numpy()
    names = task.class_names
    width = max(len("predicted"), *(len(name) for name in names))
    lines = [f"picture  {'true':<{width}}  {'predicted':<{width}}  probability"]
    right = 0
    for index, (guess, label, p) in enumerate(zip(predicted, truth, probabilities)):
        ok = bool(guess == label)
        right += ok
        lines.append(f"{index:>7}  {names[label]:<{width}}  {names[guess]:<{width}}  "
                     f"{p[guess]:11.2f}" + ("" if ok else "  WRONG"))
    lines.append(f"{right} of {len(truth)} right: accuracy {right / max(len(truth), 1):.1%}")
    return lines


def gaps_filled(model, task, count, seed) -> list[str]:
    """Fresh gapped windows (the test split): the text with gaps, the model's fill-in, the marks.

    Under each window a ``^`` marks a wrong guess and a ``.`` a right one.
    """
    batch = task.batch(count, seed, split="test")
    filled, gaps = task.fill_in(model, batch)
    lines, right = [], 0
    for gapped, guess, truth, hidden in zip(batch.tokens.numpy(), filled,
                                            batch.original.numpy(), gaps):
        marks = "".join(("." if g == t else "^") if h else " "
                        for g, t, h in zip(guess, truth, hidden))
        right += int((guess[hidden] == truth[hidden]).sum())
        lines += [f"gaps    {_printable(task.decode(gapped))}",
                  f"filled  {_printable(task.decode(guess))}",
                  f"        {marks}", ""]
    lines.append(f"{right} of {int(gaps.sum())} hidden characters right")
    return lines


def _printable(text: str) -> str:
    """One line, one column per character: newlines and tabs shown as visible marks."""
    return text.replace("\n", "↵").replace("\t", "→")
