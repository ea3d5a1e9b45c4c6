"""The docs stay true to the code: links resolve, and quoted code is the code.

A fenced ``python`` block whose first line is a path comment, such as
``# gradzoo/zoo/gpt.py``, quotes that file: its lines must appear there, in
order and together (indentation aside), so an equation in the docs always sits
beside the lines that really compute it.
"""

import re
from pathlib import Path

import pytest

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
