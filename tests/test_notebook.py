"""The example notebook, run and exported as a reader would: docs/notebook.ipynb is stored
without outputs, runs in a Python kernel of this interpreter, and exports (with the
template docs/notebook.md gives) to HTML that shows its mathematics as MathML and needs no
script and no network.

The last test opens the export in headless Chromium (Debian's, driven by Playwright) in
the light and the dark theme. Under CI it must run; elsewhere it skips, saying why, when
Chromium or Playwright is missing.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jinja2 import DictLoader
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOTEBOOK = DOCS / "notebook.ipynb"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
KERNEL = "matgrad-test-python"
THEMES = ("light", "dark")


def offline_template() -> str:
    """The template that docs/notebook.md tells readers to use (its ```jinja block)."""
    m = re.search(r"```jinja\n(.*?)```", (DOCS / "notebook.md").read_text(), re.DOTALL)
    assert m, "docs/notebook.md gives no template"
    return m.group(1)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, run top to bottom in a kernel of this interpreter."""
    kernels = tmp_path_factory.mktemp("kernels")
    (kernels / KERNEL).mkdir()
    (kernels / KERNEL / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (matgrad tests)", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, km=km, timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(DOCS)}}).execute()
    return nb


@pytest.fixture(scope="module")
def exported(executed, tmp_path_factory) -> dict:
    """theme -> the path of the notebook exported to HTML in that theme."""
    out = tmp_path_factory.mktemp("export")
    paths = {}
    for theme in THEMES:
        exporter = HTMLExporter(extra_loaders=[DictLoader({"offline.html.j2":
                                                           offline_template()})],
                                template_file="offline.html.j2", theme=theme)
        body, _ = exporter.from_notebook_node(executed)
        paths[theme] = out / f"notebook-{theme}.html"
        paths[theme].write_text(body, encoding="utf-8")
    return paths


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert code_cells(nb)
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source


def test_every_cell_runs_and_displays_mathematics(executed):
    results = []
    for cell in code_cells(executed):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        results += [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(results) >= 10
    for out in results:
        assert "<math" in out.data["text/html"], out.data["text/plain"]
        assert "<script" not in out.data["text/html"]
    # the example's objects: an expression, a report, a derivation, verdicts, tensors
    shown = " ".join(o.data["text/html"] for o in results)
    for kind in ("expr", "report", "derivation", "check", "derivative"):
        assert f"matgrad-{kind}" in shown, kind
    for verdict in ("wrong value", "correct", "transposed"):
        assert verdict in shown, verdict
    assert "every line checked numerically" in shown
    assert "tensor of order 3" in shown and "tensor of order 4" in shown


def test_the_export_has_mathml_and_no_script(exported):
    for theme, path in exported.items():
        page = path.read_text(encoding="utf-8")
        assert page.count("<math") >= 50, theme
        assert "<script" not in page.lower(), theme  # MathJax, require.js, Mermaid
        # no element refers to anything outside the page (URLs in style comments only)
        refs = re.findall(r"""\b(?:src|href|action|data)\s*=\s*["']?([^"'\s>]+)""", page)
        assert not [r for r in refs if re.match(r"(?i)(https?:)?//", r)], refs
        assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", page), theme
        assert not re.search(r"(?i)@import", page), theme


# ---- in a browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    def unavailable(reason: str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run under CI: {reason}", pytrace=False)
        pytest.skip(reason)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[browser]')")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


# Every <math> element's box, and the colours of math and of the text around it.
MEASURE = """() => {
  const maths = [...document.querySelectorAll('.matgrad math')];
  const boxes = maths.map(m => m.getBoundingClientRect());
  const out = document.querySelector('.jp-OutputArea-output .matgrad');
  return {
    count: maths.length,
    empty: boxes.filter(b => !(b.width > 0 && b.height > 0)).length,
    mathColor: getComputedStyle(maths[0]).color,
    textColor: getComputedStyle(out.parentElement).color,
    background: getComputedStyle(document.body).backgroundColor,
  };
}"""


def luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.browser
@pytest.mark.parametrize("theme", THEMES)
def test_the_export_renders_offline_in_chromium(browser, exported, theme):
    context = browser.new_context()
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda req: requests.append(req.url))
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(exported[theme].as_uri())
    page.wait_for_load_state("load")
    seen = page.evaluate(MEASURE)
    context.close()
    assert seen["count"] >= 50
    assert seen["empty"] == 0, seen
    # mathematics takes the colour of the text around it, so it reads in either theme
    assert seen["mathColor"] == seen["textColor"], seen
    contrast = abs(luminance(seen["mathColor"]) - luminance(seen["background"]))
    assert contrast > 0.5, seen
    assert not errors, errors
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not outside, f"the page fetched from elsewhere: {outside}"
    assert requests and requests[0].startswith("file:")
