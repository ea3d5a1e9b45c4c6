"""The ``gradzoo`` command line (click). Thin: it parses, then calls lab/ and engine/.

Usage errors (the lab's ``UsageError``: an unknown model, task or option, a bad
run directory) print one line and exit with 2; a run stopped by Ctrl-C exits
with 130; a diverged run with 1.
"""

from __future__ import annotations

import os
import sys

import click

from gradzoo import __version__

# The zoo's matrices are small: one BLAS thread is faster for them than several
# threads waiting on each other (measured 10-20x on a busy 2-core machine).
# Set OPENBLAS_NUM_THREADS (or OMP_/MKL_) yourself to choose otherwise.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


class GradzooError(click.ClickException):
    """A one-line error about the user's input: printed as 'Error: ...', exit code 2."""

    exit_code = 2


class ZooGroup(click.Group):
    """The command group: plugins are loaded on first need and may add commands."""

    _loaded = False

    def _ensure_plugins(self, ctx) -> None:
        if ZooGroup._loaded:
            return
        ZooGroup._loaded = True
        from gradzoo.plugins.manager import PluginError, get_registry

        plugins_dir = ctx.params.get("plugins_dir") if ctx is not None else None
        try:
            get_registry(plugins_dir=plugins_dir, cli=self, reload=True)
        except PluginError as error:
            raise GradzooError(str(error)) from None

    def list_commands(self, ctx):
        self._ensure_plugins(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        self._ensure_plugins(ctx)
        return super().get_command(ctx, name)


def registry():
    """The loaded plugin registry."""
    from gradzoo.plugins.manager import get_registry

    return get_registry()


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradzoo")
@click.option("--plugins-dir", type=click.Path(file_okay=False), envvar="GRADZOO_PLUGINS_DIR",
              is_eager=True,  # read before --help, which lists the plugins' commands
              help="Load the .py files of this directory as plugins (or GRADZOO_PLUGINS_DIR).")
def main(plugins_dir):
    """gradzoo: a teaching deep-learning lab.

    A readable autograd engine and a zoo of models (RNN, LSTM, GRU,
    transformer, GPT...) to train, compare and draw. Start with
    `gradzoo list`, then `gradzoo train lstm --task reverse`.
    """
    from gradzoo.engine import backend

    # Training frees and allocates the same array sizes at every step; glibc would hand each
    # freed buffer back to the kernel and the next step would pay to map it again. This is a
    # setting of the whole process, so the library never makes it: the CLI owns its process.
    backend.keep_freed_memory()


# ---------------------------------------------------------------------- demo


@main.command()
@click.option("--steps", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Training steps.")
@click.option("--hidden", default=32, show_default=True, type=click.IntRange(1, 4096),
              help="Width of the hidden layer.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--device", default=None, type=click.Choice(["auto", "cpu", "gpu"]),
              help="Where to compute (default: GRADZOO_DEVICE, else auto).")
def demo(steps, hidden, seed, device):
    """Train a 2-layer MLP on two half-moons and watch the loss fall."""
    use_device(device)
    from gradzoo.lab.demo import run_demo

    click.echo(f"A 2-layer MLP (2 -> {hidden} -> 2) learns to separate two half-moons.")
    run_demo(steps=steps, hidden=hidden, seed=seed, echo=click.echo)


# ---------------------------------------------------------------------- catalogue


@main.command("list")
def list_command():
    """List the models and tasks every plugin registered."""
    from gradzoo.engine import backend
    from gradzoo.lab import catalog
    from gradzoo.lab.tables import format_table

    # Counting parameters builds every model: on the CPU that is quick and takes no GPU memory.
    # The default device is the process's, so the command sets it, never the lab behind it.
    backend.set_default_device("cpu")
    reg = registry()
    click.echo("Models\n")
    click.echo(format_table(["name", "kinds", "parameters (task)", "plugin", "summary"],
                            catalog.model_rows(reg)))
    click.echo("\nTasks\n")
    click.echo(format_table(["name", "kind", "plugin", "summary"], catalog.task_rows(reg)))
    click.echo("\n`gradzoo info NAME` shows a model's or task's options.")


@main.command()
@click.argument("name")
def info(name):
    """Show a model's or a task's options, with defaults, types and help."""
    from gradzoo.lab import catalog
    from gradzoo.lab.tables import format_table
    from gradzoo.plugins.specs import did_you_mean

    reg = registry()
    found = [(kind, table[name]) for kind, table in (("model", reg.models), ("task", reg.tasks))
             if name in table]
    if not found:
        hint = did_you_mean(name, list(reg.models) + list(reg.tasks))
        raise GradzooError(f"no model or task called '{name}'{hint}; `gradzoo list` shows them all")
    for kind, spec in found:
        what = ",".join(spec.kinds) if kind == "model" else spec.kind
        click.echo(f"{kind} {spec.name} ({what}) from plugin {reg.plugin_of(kind, name)}")
        click.echo(f"  {spec.summary}\n")
        if spec.options:
            click.echo(format_table(["option", "default", "allowed", "help"],
                                    catalog.option_rows(spec), max_width=70))
        else:
            click.echo("(no options)")
        if kind == "model" and spec.training:
            settings = ", ".join(f"{k}={v}" for k, v in spec.training.items())
            click.echo(f"\ntraining defaults: {settings}")
        if kind == "model" and spec.picture_training:
            settings = ", ".join(f"{k}={v}" for k, v in spec.picture_training.items())
            click.echo(f"on pictures: {settings}")
        click.echo("")


@main.command()
def plugins():
    """Show every plugin: where it came from, what it registered, and failures."""
    from gradzoo.lab import catalog
    from gradzoo.lab.tables import format_table

    reg = registry()
    click.echo(format_table(["plugin", "from", "status", "registered"],
                            catalog.plugin_rows(reg), max_width=80))
    failed = [record for record in reg.plugins.values() if record.failed]
    if failed:  # the table may cut a long error: here it is whole
        click.echo("\nfailed plugins:")
        for record in failed:
            click.echo(f"  {record.name} ({record.source}): {record.error}")


@main.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(), default=None,
              help="Where to write the package (default: ./gradzoo-NAME); must be new or empty.")
@click.option("--kind", type=click.Choice(["sequence", "language", "generative", "paired",
                                           "classification"]),
              default="sequence", show_default=True,
              help="The tasks the model runs: a bigram baseline, a Gaussian fit (generative), "
                   "linear encoders (paired) or a linear classifier (classification).")
def new_plugin(name, directory, kind):
    """Write a new plugin package: a small working model, its tests and a README."""
    from gradzoo.plugins import scaffold

    try:
        root, written = scaffold.write_plugin_package(name, directory, kind, registry())
    except scaffold.ScaffoldError as error:
        raise GradzooError(str(error)) from None
    click.echo(f"wrote the plugin '{name}' in {root}/:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    click.echo("next:")
    for line in scaffold.next_steps(name, root, kind):
        click.echo(f"  {line}")


# ---------------------------------------------------------------------- train, sample, evaluate


@main.command()
@click.argument("model")
@click.option("--task", "task_name", required=True, help="The task to train on (`gradzoo list`).")
@click.option("--steps", type=click.IntRange(1, 10_000_000), default=None,
              help="Training steps (default: the model's).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A model or task option; repeatable. Use model.KEY / task.KEY if both have KEY.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--lr", type=click.FloatRange(0, None, min_open=True), default=None,
              help="Peak learning rate (default: the model's).")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=None,
              help="Examples per step (default: the model's).")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None,
              help="Where to compute (default: GRADZOO_DEVICE, else auto).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: runs/MODEL-TASK, numbered if taken).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--init-from", "init_from", default=None, metavar="RUN_OR_SAFETENSORS",
              help="Start from these weights (a run directory, or a .safetensors file such as "
                   "`gradzoo export` writes), matched by name; embedding rows matched by token.")
@click.option("--freeze", "freeze", multiple=True, metavar="GLOB",
              help="Do not train the parameters matching GLOB (e.g. 'blocks.0.*', "
                   "'token_embedding.*'); repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model, task_name, steps, assignments, seed, lr, batch_size, device, out, resume,
          init_from, freeze, quiet):
    """Train MODEL on a task, writing a run directory (config, metrics, weights).

    With --init-from it starts from another run's weights (pre-train, then
    fine-tune) and prints what was loaded, resized, new, frozen and ignored.
    """
    from gradzoo.lab.errors import UsageError
    from gradzoo.lab.training.loop import TrainingStopped
    from gradzoo.lab.training.session import TrainRequest, train_run

    use_device(device)
    request = TrainRequest(model, task_name, assignments, seed,
                           {"steps": steps, "lr": lr, "batch_size": batch_size}, out, resume,
                           init_from, tuple(freeze))
    try:
        result, run_dir = train_run(registry(), request, progress=not quiet, echo=click.echo)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    except TrainingStopped as stopped:
        click.echo(f"\n{stopped}", err=True)
        sys.exit(stopped.exit_code)
    from gradzoo.lab.compare.report import score_lines

    scores = ", ".join(f"{k} {v:.4g}" for k, v in result.scores.items())
    click.echo(f"finished {result.steps} steps in {result.seconds:.1f} s; "
               f"loss {result.final_loss:.4f}")
    beside_baselines = score_lines(result.scores)  # generative: each score beside its baselines
    click.echo("validation:" if beside_baselines else f"validation: {scores}")
    for line in beside_baselines:
        click.echo(f"  {line}")
    click.echo(f"run saved in {run_dir}  (try: gradzoo sample {run_dir})")


@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--prompt", default=None, help="Text to continue (language runs).")
@click.option("--tokens", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="How many tokens to generate (language runs).")
@click.option("--temperature", type=click.FloatRange(0, None), default=0.8, show_default=True,
              help="Sampling temperature; 0 picks the most likely token.")
@click.option("--top-k", type=click.IntRange(1, None), default=None,
              help="Sample only among the K most likely tokens.")
@click.option("--n", "count", type=click.IntRange(1, 10_000), default=None,
              help="How many examples (sequence runs, default 8), samples (generative "
                   "runs, default 1000), gapped windows (cloze, default 4) or pictures "
                   "(paired runs, default 8; classification runs, default 16).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for sampling.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None)
def sample(run_dir, prompt, tokens, temperature, top_k, count, seed, device):
    """Show what a trained run produces: text, answers beside the right ones, gaps filled
    in, pictures (samples; images beside their best captions), or classes guessed."""
    from gradzoo.lab import sampling
    from gradzoo.lab.errors import UsageError

    use_device(device)
    try:
        lines = sampling.sample_run(registry(), run_dir, prompt=prompt, tokens=tokens,
                                    temperature=temperature, top_k=top_k, count=count, seed=seed)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    for line in lines:
        click.echo(line)


@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--batches", type=click.IntRange(1, 10_000), default=16, show_default=True,
              help="Fresh batches to score on.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None)
def evaluate(run_dir, batches, device):
    """Score a trained run on fresh data (the task's test split)."""
    from gradzoo.lab.errors import UsageError
    from gradzoo.lab.training.opening import open_run

    use_device(device)
    try:
        experiment = open_run(run_dir, registry())
    except UsageError as error:
        raise GradzooError(str(error)) from None
    from gradzoo.lab.compare.report import score_lines

    try:
        scores = experiment.task.score(experiment.model, batches=batches, split="test")
    except ValueError as error:  # what the task cannot do as asked (its judge's cache unwritable)
        raise GradzooError(str(error)) from None
    click.echo(f"{experiment.model_spec.name} on {experiment.task_spec.name}:")
    if experiment.init_from:  # a fine-tuned run: where its weights started
        click.echo(f"  started from {experiment.init_from['path']} "
                   f"(sha256 {experiment.init_from['sha256'][:12]}…)")
    beside_baselines = score_lines(scores)  # generative: each score beside its baselines
    for line in beside_baselines:
        click.echo(f"  {line}")
    for name, value in ({} if beside_baselines else scores).items():
        click.echo(f"  {name:14s} {value:.4f}")


@main.command("export")
@click.argument("run_dir", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["torch"]), default="torch", show_default=True,
              help="torch: the parameter names and layouts of the equivalent torch.nn modules.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The file to write, FILE.safetensors.")
def export_command(run_dir, fmt, out):
    """Write a run's weights for PyTorch (safetensors; --init-from reads it back)."""
    from gradzoo.lab.errors import UsageError
    from gradzoo.lab.export import export_run

    try:
        written = export_run(registry(), run_dir, fmt, out)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    click.echo(f"wrote {written['tensors']} tensors of {written['model']} to {written['path']} "
               f"(format {fmt}; {len(written['renamed'])} under torch.nn names of their own)")
    for name, parts in written["renamed"].items():
        click.echo(f"  {name:28s} <- {' + '.join(parts)}")


@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--example", type=int, default=None,
              help="Which held-out example to look at (default 0).")
@click.option("--input", "text", default=None,
              help="Your own tokens instead (space-separated names, or characters).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where the pictures and JSON go (default: RUN_DIR/inspect).")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None)
def inspect(run_dir, example, text, out, device):
    """Look inside a trained run for one example: attention maps per layer and head, or
    recurrent states, gates and gradient norms over time (PNG, SVG, bertviz JSON)."""
    from gradzoo.lab.errors import UsageError
    from gradzoo.lab.inspect.session import inspect_run

    use_device(device)
    try:
        outcome = inspect_run(registry(), run_dir, example=example, text=text, out=out)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    for line in outcome["lines"]:
        click.echo(line)
    click.echo(f"written: {', '.join(str(p) for p in outcome['written'])}")


# ---------------------------------------------------------------------- graph


@main.command("graph")
@click.argument("model", required=False)
@click.option("--task", "task_name", default=None,
              help="The task whose batch the model reads (default: copy, or the model's first).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A model or task option; with --expr, the value of a name (w=0.5, x=[1,2]).")
@click.option("--expr", default=None, metavar="EXPR",
              help='Draw a formula of named values instead, e.g. "tanh(w*x + b)".')
@click.option("--depth", type=click.IntRange(0, None), default=None,
              help="Fold modules nested deeper into boxes (0: the model as one box). "
                   "Default: every op.")
@click.option("--backward", is_flag=True, help="Draw the gradient graph (one node per backward).")
@click.option("--values", is_flag=True, help="Show the values and gradients of small tensors.")
@click.option("--walk", is_flag=True,
              help="Write the backward pass as numbered frames, in the engine's order.")
@click.option("--unroll", is_flag=True, help="Draw repeated modules one by one (no ×N).")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf", "dot"]), default=None,
              help="Picture format (default: from --out, else svg; png for --walk).")
@click.option("--out", default=None, help="Output file (a directory for --walk).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--batch-size", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Examples in the batch whose loss is drawn.")
def graph_command(model, task_name, assignments, expr, depth, backward, values, walk, unroll,
                  fmt, out, seed, batch_size):
    """Draw the computation graph of one training loss of MODEL (or of --expr) with Graphviz."""
    from gradzoo.lab.drawing.graphs import GraphRequest, draw_graph
    from gradzoo.lab.errors import UsageError

    request = GraphRequest(model, task_name, assignments, expr, depth, backward, values, walk,
                           unroll, fmt, out, seed, batch_size)
    try:
        draw_graph(registry() if model is not None else None, request, echo=click.echo)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    except RuntimeError as error:  # Graphviz's dot failed
        raise click.ClickException(str(error)) from None


@main.command()
@click.argument("models", nargs=-1)
@click.option("--task", "task_name", default=None, help="The task every model trains on.")
@click.option("--steps", type=click.IntRange(1, 10_000_000), default=None,
              help="Training steps for every model (default: each model's own).")
@click.option("--sweep", default=None, metavar="OPTION=V1,V2,...",
              help="Repeat over values of a task option, e.g. distance=4,16,64.")
@click.option("--seeds", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Repeat with this many seeds; report mean and spread.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A model or task option for every run; repeatable.")
@click.option("--match-params", is_flag=True,
              help="Scale each model's width so parameter counts agree within 10%.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Training runs at once (each in its own process).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where runs, results.json, plots and report.html go "
                   "(default: runs/compare-TASK).")
@click.option("--resume", is_flag=True, help="Keep finished runs in --out and run the rest.")
@click.option("--init-from", "init_from", multiple=True, metavar="LABEL=RUN_OR_SAFETENSORS",
              help="Start the model (or variant) LABEL from these weights; repeatable.")
@click.option("--freeze", "freeze", multiple=True, metavar="LABEL=GLOB",
              help="Do not train LABEL's parameters matching GLOB; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of tables.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None)
@click.pass_context
def compare(ctx, models, task_name, steps, sweep, seeds, assignments, match_params, jobs, out,
            resume, init_from, freeze, as_json, device):
    """Train MODELS on the same data, steps and seeds, and report side by side.

    With no arguments: the lesson of why transformers replaced RNNs (rnn, lstm
    and transformer on `remember`, swept over distance 4, 16, 64).

    \b
    A model may be named twice as variants, MODEL@LABEL: pre-trained beside
    from scratch, on the same data, steps and seeds:
      gradzoo compare gpt gpt@pretrained --task doc_topics \\
          --init-from gpt@pretrained=runs/gpt-chars
    --init-from and --freeze apply to the variant they name, as in
    --freeze 'gpt@pretrained=blocks.0.*'; --set gpt.KEY=V sets every gpt
    variant, --set gpt@pretrained.KEY=V that one only.
    """
    from gradzoo.lab.compare.plan import CompareRequest, parse_sweep, parse_variant_options
    from gradzoo.lab.compare.session import DEFAULT_LESSON, run_comparison
    from gradzoo.lab.errors import UsageError
    from gradzoo.lab.training.experiment import parse_assignments

    use_device(device)
    lesson = DEFAULT_LESSON
    if not models and task_name is None:
        models, task_name = lesson["models"], lesson["task"]
        sweep, steps = sweep or lesson["sweep"], steps or lesson["steps"]
    if len(models) < 1 or task_name is None:
        raise GradzooError("name the models and a --task (gradzoo compare rnn transformer "
                           "--task remember), or give no arguments for the default lesson")
    try:
        option, values = parse_sweep(sweep)
        starts = {label: paths[-1] for label, paths in
                  parse_variant_options(init_from, list(models), "--init-from").items()}
        request = CompareRequest(list(models), task_name, steps, option, values, seeds,
                                 parse_assignments(assignments), match_params, jobs,
                                 out or f"runs/compare-{task_name}",
                                 ctx.find_root().params.get("plugins_dir"), starts,
                                 parse_variant_options(freeze, list(models), "--freeze"))
        outcome = run_comparison(registry(), request, resume=resume,
                                 echo=(lambda *a: None) if as_json else click.echo)
    except UsageError as error:
        raise GradzooError(str(error)) from None
    if as_json:
        click.echo(outcome["written"]["results"].read_text(encoding="utf-8"), nl=False)
        return
    click.echo("\n" + outcome["tables"] + "\n")
    for name, path in outcome["written"].items():
        if name != "plots":
            click.echo(f"{name}: {path}")
    click.echo(f"plots: {', '.join(str(p) for p in outcome['written']['plots'])}")


# ---------------------------------------------------------------------- helpers


def use_device(device: str | None) -> None:
    """Apply ``--device``; a device this machine lacks is a usage error (exit 2)."""
    from gradzoo.engine import backend

    try:
        if device is not None:
            backend.set_default_device(device)
        backend.default_device()
    except (backend.DeviceError, ValueError) as error:
        raise GradzooError(str(error)) from None


BUILTIN_COMMANDS = frozenset(main.commands)


def forget_plugins() -> None:
    """Unload plugins and their commands, so the next command loads them afresh (tests)."""
    from gradzoo.plugins.manager import reset_registry

    for name in set(main.commands) - BUILTIN_COMMANDS:
        main.commands.pop(name)
    ZooGroup._loaded = False
    reset_registry()
