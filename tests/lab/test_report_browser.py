"""report.html in a real browser: every image and graph loads, the console stays clean.

Marked ``browser``: it needs Chromium (Debian's ``chromium`` package). ``.ci/run``
installs it, so CI always runs this test; elsewhere it skips and says how to enable it.
"""

import re
import shutil
import subprocess

import pytest

from gradzoo.lab.compare.plan import CompareRequest
from gradzoo.lab.compare.session import run_comparison
from gradzoo.plugins.manager import get_registry

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Appended to a copy of the page: after load, list every image or graph that did not load.
CHECK = """
<script>
window.addEventListener("load", () => {
  const broken = [];
  document.querySelectorAll("img").forEach((img, i) => {
    if (!img.complete || img.naturalWidth === 0) broken.push("img " + i + " " + img.alt);
  });
  document.querySelectorAll("svg").forEach((svg, i) => {
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) broken.push("svg " + i);
  });
  const result = document.createElement("pre");
  result.id = "gradzoo-check";
  result.textContent = "IMAGES=" + document.images.length + " SVGS=" +
    document.querySelectorAll("svg").length + " BROKEN=[" + broken.join("; ") + "]";
  document.body.appendChild(result);
});
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium "
                                             "(.ci/run installs it)")
def test_report_opens_cleanly_in_chromium(tmp_path):
    request = CompareRequest(["gpt", "transformer"], "copy", steps=4, sweep_option="length",
                             sweep_values=["2", "3"],
                             assignments={"width": "8", "heads": "2", "layers": "1", "ff": "8"},
                             out=str(tmp_path / "compare"))
    outcome = run_comparison(get_registry(), request, echo=lambda *a: None)
    page = outcome["written"]["report"].read_text(encoding="utf-8")
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    browser = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=10000", "--dump-dom", checked.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r"IMAGES=(\d+) SVGS=(\d+) BROKEN=\[(.*?)\]", browser.stdout)
    assert found, f"the page did not finish loading:\n{browser.stderr[-2000:]}"
    images, svgs, broken = int(found.group(1)), int(found.group(2)), found.group(3)
    assert images >= 3, "expected the loss, score and speed plots"
    assert broken == "", f"not loaded: {broken}"
    if shutil.which("dot"):
        assert svgs >= 2, "expected one graph per model"
    console = [line for line in browser.stderr.splitlines()
               if "CONSOLE" in line and ("Error" in line or "error" in line)]
    assert not console, "\n".join(console)
