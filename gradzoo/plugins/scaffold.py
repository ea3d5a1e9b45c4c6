"""``gradzoo new-plugin NAME``: write an installable plugin package with a small working model.

    gradzoo-NAME/
      pyproject.toml        the entry point [project.entry-points.gradzoo] NAME = "gradzoo_NAME"
      gradzoo_NAME.py       the model, its ModelSpec, and the @hookimpl that registers it
      tests/test_NAME.py    the conformance kit, and one test of the model itself
      README.md             how to try it, change it and publish it

A sequence or language plugin starts as a bigram baseline, a generative one
as a Gaussian fit, a paired one as two linear encoders into one space, a
classification one as a linear softmax classifier on the pixels. The
task it is tried on is the one the registry shows such a model on
(``Registry.example_task``). Nothing is ever overwritten: a taken name, a name that is
not a lowercase identifier, or a directory that exists and is not empty is
refused before anything is written.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from gradzoo.plugins import manager
from gradzoo.plugins import scaffold_models as models
from gradzoo.plugins import scaffold_templates as templates
from gradzoo.plugins.specs import KINDS, ModelSpec

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SUMMARIES = {  # at most 60 characters: what `gradzoo list` shows whole
    "sequence": "bigram baseline: each token guessed from the one before",
    "language": "bigram baseline: each character guessed from the one before",
    "generative": "Gaussian fit: one blob with the data's mean and spread",
    "paired": "linear encoders: images and captions in one cosine space",
    "classification": "linear softmax classifier: class scores from the pixels",
}
RIVAL = {"sequence": "gpt", "language": "gpt", "generative": "vae", "paired": "clip",
         "classification": "cnn"}
CANNOT = {"sequence": "copy or reverse a string", "language": "use more than the last character"}


class ScaffoldError(ValueError):
    """The plugin cannot be written as asked; the message says why and what to do."""


def check_name(name: str, registry=None) -> None:
    """Refuse a name that is not a lowercase identifier, or that a plugin already uses."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"'{name}' is not a valid plugin name: use lowercase letters, digits "
                            f"and underscores, starting with a letter, and not a Python keyword "
                            f"(e.g. {_suggest(name)})")
    if registry is None:
        return
    for table, what in ((registry.models, "model"), (registry.tasks, "task")):
        if name in table:
            raise ScaffoldError(f"the name '{name}' is taken by {what} '{name}' of plugin "
                                f"'{registry.plugin_of(what, name)}'; choose another name")
    if name in registry.plugins:
        raise ScaffoldError(f"the name '{name}' is taken by the plugin '{name}' "
                            f"({registry.plugins[name].source}); choose another name")


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha() or keyword.iskeyword(cleaned):
        cleaned = "my_" + (cleaned or "model")
    return cleaned


def check_directory(directory: Path) -> None:
    """Refuse a directory that exists and is not empty (or is a file): nothing is overwritten."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ScaffoldError(f"{directory} already exists and is not empty; nothing was written. "
                            f"Choose another --dir, or remove it first")


def distribution_name(name: str) -> str:
    """The package's name on PyPI: ``gradzoo-NAME`` (underscores become hyphens)."""
    return "gradzoo-" + name.replace("_", "-")


def try_task(name: str, kind: str, registry=None) -> str:
    """The task the new model is tried on: the one the registry shows a model of ``kind`` on."""
    registry = manager.get_registry() if registry is None else registry
    planned = ModelSpec(name=name, summary=SUMMARIES[kind], kinds=(kind,), build=_built_by_package)
    return registry.example_task(planned) or manager.USUAL_TASKS[kind]


def _built_by_package(task, options):
    """The planned spec only asks the registry for a task; the written package builds the model."""
    raise ScaffoldError("the plugin is not written yet: its own build() makes the model")


def package_files(name: str, kind: str = "sequence", registry=None) -> dict[str, str]:
    """Relative path -> text of every file of the plugin package."""
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind '{kind}'; choose one of: {', '.join(KINDS)}")
    values = {
        "name": name, "kind": kind, "module": f"gradzoo_{name}",
        "distribution": distribution_name(name), "summary": SUMMARIES[kind],
        "class_name": "".join(part.capitalize() for part in name.split("_")),
        "task": try_task(name, kind, registry), "rival": RIVAL[kind],
        "cannot": CANNOT.get(kind, ""),
        "kind_notes": templates.KIND_NOTES[kind],
    }

    def fill(text: str) -> str:
        return Template(text).substitute(values)

    return {
        "pyproject.toml": fill(templates.PYPROJECT),
        f"{values['module']}.py": fill(_model_template(kind)),
        f"tests/test_{name}.py": fill(_test_template(kind)),
        "README.md": fill(templates.README),
        ".gitignore": templates.GITIGNORE,
    }


def _model_template(kind: str) -> str:
    if kind == "generative":
        return models.GENERATIVE_MODEL
    if kind == "paired":
        return models.PAIRED_MODEL
    if kind == "classification":
        return models.CLASSIFICATION_MODEL
    methods = models.SEQUENCE_METHODS if kind == "sequence" else models.LANGUAGE_METHODS
    ignore = "\nIGNORE = -100  # the label of a position that is not scored\n"
    extra = ignore if kind == "sequence" else ""
    return (models.TOKEN_MODEL_HEAD + extra + models.TOKEN_MODEL_CLASS + methods
            + models.TOKEN_SPEC)


def _test_template(kind: str) -> str:
    own = {"generative": templates.GENERATIVE_TEST, "paired": templates.PAIRED_TEST,
           "classification": templates.CLASSIFICATION_TEST}
    return templates.TEST_HEAD + own.get(kind, templates.TOKEN_TEST)


def write_plugin_package(name: str, directory=None, kind: str = "sequence",
                         registry=None) -> tuple[Path, list[Path]]:
    """Check everything, then write the package; returns (its directory, the files written)."""
    check_name(name, registry)
    root = Path(directory) if directory is not None else Path(distribution_name(name))
    check_directory(root)
    files = package_files(name, kind, registry)
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return root, written


def next_steps(name: str, root: Path, kind: str, registry=None) -> list[str]:
    """The commands to run after writing the package, for the CLI to print."""
    return [f"pip install -e {root}",
            "gradzoo list",
            f"gradzoo train {name} --task {try_task(name, kind, registry)} --steps 200",
            f"gradzoo graph {name}",
            f"cd {root} && pytest"]
