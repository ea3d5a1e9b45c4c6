"""The docs stay true to the code: links resolve, quoted code is the code, the commands the
tour and the plugin guide show run, docs/cli.md is what the commands say, and every page
docs/zh/ mirrors has its Chinese version, in step with the English one.

A fenced ``python`` block whose first line is a path comment, such as
``# gradzoo/zoo/models/gpt.py``, quotes that file: its lines must appear there, in
order and together (indentation aside), so an equation in the docs always sits
beside the lines that really compute it.
"""

import difflib
import importlib.util
import re
from pathlib import Path

import pytest

from tests import docs_commands

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"```python\n# (gradzoo/[\w/]+\.py)\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _stripped(lines):
    return [line.strip() for line in lines if line.strip()]


def quotes():
    for doc in DOCS:
        for match in FENCE.finditer(doc.read_text(encoding="utf-8")):
            yield pytest.param(doc, match.group(1), match.group(2),
                               id=f"{doc.relative_to(ROOT)}:{match.group(1)}")


@pytest.mark.parametrize("doc, path, block", list(quotes()))
def test_quoted_code_is_in_the_file(doc, path, block):
    source = _stripped((ROOT / path).read_text(encoding="utf-8").splitlines())
    quoted = _stripped(block.splitlines())
    assert quoted, f"{doc.name}: empty quote of {path}"
    starts = [i for i, line in enumerate(source) if line == quoted[0]]
    assert any(source[i:i + len(quoted)] == quoted for i in starts), (
        f"{doc.relative_to(ROOT)} quotes lines of {path} that are no longer there together:\n"
        + "\n".join(quoted))


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_internal_links_resolve(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{doc.relative_to(ROOT)} links to {target}, which does not exist"


def test_html_images_resolve():
    """``<img src="...">`` in a page points at a file that exists (Markdown images are links)."""
    for doc in DOCS:
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", text):
            if not re.match(r"^[a-z]+:", target):
                assert (doc.parent / target).exists(), f"{doc.name}: no image {target}"


# ---------------------------------------------------------------------- the CLI reference


def test_the_cli_reference_is_up_to_date():
    """docs/cli.md is what the click commands say now (it is generated from them)."""
    spec = importlib.util.spec_from_file_location("make_cli_reference",
                                                  ROOT / "docs" / "make_cli_reference.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    current = maker.builtin_reference()
    diff = "".join(list(difflib.unified_diff(written.splitlines(True), current.splitlines(True),
                                             "docs/cli.md", "the commands now"))[:40])
    assert written == current, ("docs/cli.md is stale: the commands changed. Regenerate it "
                                "with `python docs/make_cli_reference.py` (make docs) and "
                                "commit it.\n" + diff)


# ---------------------------------------------------------------------- the Chinese pages

DOCS_DIR = ROOT / "docs"
ZH = DOCS_DIR / "zh"


def pages_with_a_chinese_version() -> list[Path]:
    """The English pages that docs/zh/ mirrors: the tour, the plugin guide, every model page."""
    pages = [DOCS_DIR / "tour.md", DOCS_DIR / "plugins.md",
             *sorted((DOCS_DIR / "models").glob("*.md"))]
    return [page for page in pages if page.exists()]


def chinese(page: Path) -> Path:
    return ZH / page.relative_to(DOCS_DIR)


def test_every_english_page_has_its_chinese_counterpart():
    missing = [str(chinese(page).relative_to(ROOT)) for page in pages_with_a_chinese_version()
               if not chinese(page).exists()]
    if not (DOCS_DIR / "tour.md").exists():
        missing.insert(0, "docs/tour.md (and its Chinese version)")
    assert not missing, "pages without their Chinese counterpart: " + ", ".join(missing)


def _commands_and_pictures(page: Path):
    text = page.read_text(encoding="utf-8")
    commands = [step[1].words for step in docs_commands.page_steps(text)
                if step[0] == "command"]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    pictures = [Path(target).name for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", prose)]
    return commands, pictures


@pytest.mark.parametrize("page", [p for p in pages_with_a_chinese_version() if chinese(p).exists()],
                         ids=lambda p: str(p.relative_to(DOCS_DIR)))
def test_a_chinese_page_keeps_in_step_with_the_english_one(page):
    """The same commands (comments may be translated) and the same pictures, in the same order."""
    english, translated = _commands_and_pictures(page), _commands_and_pictures(chinese(page))
    assert translated[0] == english[0], (f"{chinese(page).relative_to(ROOT)} shows other "
                                         f"commands than {page.relative_to(ROOT)}")
    assert translated[1] == english[1], (f"{chinese(page).relative_to(ROOT)} shows other "
                                         f"pictures than {page.relative_to(ROOT)}")


# ---------------------------------------------------------------------- the commands shown


@pytest.mark.parametrize("name", ["tour.md", "plugins.md"])
def test_every_command_the_page_shows_runs(name, tmp_path):
    """Each ``gradzoo`` line of the page's sh blocks exits 0, in order, at a small size."""
    page = DOCS_DIR / name
    if not page.exists():
        pytest.skip(f"docs/{name} is not written yet")
    runner = docs_commands.PageRunner(tmp_path)
    runner.run_page(page.read_text(encoding="utf-8"))
    assert any(line.split()[0] == "gradzoo" or " gradzoo " in line for line in runner.ran)
