"""The documentation: the site builds offline with MkDocs in strict mode, its API
reference documents every public name, the built pages load nothing from a network,
every public function and class carries a docstring with a doctest example, and every
code block of the tutorial runs and prints what the page shows.
"""
from __future__ import annotations

import doctest
import html
import importlib.util
import inspect
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import matgrad as mg

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BUILD_TIMEOUT = 120


def _public_callables() -> list[tuple[str, object]]:
    """(name, object) for each function and class of matgrad.__all__."""
    return [(name, getattr(mg, name)) for name in mg.__all__
            if inspect.isfunction(getattr(mg, name)) or inspect.isclass(getattr(mg, name))]


# ---- docstrings --------------------------------------------------------------------------


def test_every_public_function_and_class_has_a_docstring_with_an_example():
    lacking = [name for name, obj in _public_callables()
               if not (obj.__doc__ or "").strip() or ">>>" not in obj.__doc__]
    assert not lacking, f"public names without a docstring or a >>> example: {lacking}"


def test_every_public_example_is_collected_as_a_doctest():
    # pytest's --doctest-modules finds examples as doctest's finder does: in the module
    # that defines the object, under the name it has there
    found: set[str] = set()
    for module in {sys.modules[obj.__module__] for _, obj in _public_callables()}:
        found |= {t.name for t in doctest.DocTestFinder().find(module) if t.examples}
    missing = [name for name, obj in _public_callables()
               if f"{obj.__module__}.{obj.__name__}" not in found]
    assert not missing, f"examples that --doctest-modules would not run: {missing}"


# ---- the tutorial ------------------------------------------------------------------------

_FENCE = re.compile(r"^```(\S*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _tutorial_as_doctest(text: str) -> str:
    """The page with its prose blanked and its code blocks kept on their own lines, so
    that a failure names the page's line. Inside a block, a blank line that output goes
    on after is the doctest's <BLANKLINE>: the page shows the output as printed."""
    lines = [""] * (text.count("\n") + 1)
    for block in _FENCE.finditer(text):
        first = text.count("\n", 0, block.start(2))
        body = block.group(2).split("\n")[:-1]
        for i, line in enumerate(body):
            going_on = i + 1 < len(body) and not body[i + 1].startswith(">>>")
            lines[first + i] = "<BLANKLINE>" if not line.strip() and going_on else line
    return "\n".join(lines)


def test_every_code_block_of_the_tutorial_is_a_pycon_example():
    text = TUTORIAL.read_text(encoding="utf-8")
    blocks = list(_FENCE.finditer(text))
    assert len(blocks) >= 10
    assert [b.group(1) for b in blocks] == ["pycon"] * len(blocks)
    assert all(b.group(2).startswith(">>> ") for b in blocks)
    # no indented code blocks either: everything shown as code is run
    prose = _FENCE.sub("", text)
    assert not re.search(r"^(    |\t)\S", prose, re.MULTILINE)


def test_the_tutorial_prints_what_the_page_shows():
    text = _tutorial_as_doctest(TUTORIAL.read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(text, {}, TUTORIAL.name, str(TUTORIAL), 0)
    assert len(test.examples) >= 30
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.REPORT_UDIFF)
    result = runner.run(test, out=report.append, clear_globs=True)
    assert result.failed == 0, "".join(report)


def test_the_tutorial_covers_the_seed_example_from_derivation_to_hessian():
    text = TUTORIAL.read_text(encoding="utf-8")
    for call in ("mg.grad(", "mg.derive(", "mg.check(", "mg.compile(", "mg.hessian("):
        assert f">>> {call}" in text or f"= {call}" in text, call
    for verdict in ("'correct'", "'transposed'", "'wrong-shape'"):
        assert verdict in text


def test_the_readme_links_the_tutorial():
    assert "(docs/tutorial.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


# ---- the site ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = [m for m in ("mkdocs", "mkdocstrings_handlers.python")
               if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing:
        pytest.fail(f"the docs tools are not installed ({', '.join(missing)}): "
                    f"pip install -e '.[docs]' (make test installs every extra)")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    return out


class _Resources(HTMLParser):
    """The ids of a page, and the URLs it loads (script, stylesheet, image, frame ...)."""

    LOADING = frozenset({"src", "srcset", "data", "poster", "background"})

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            # <a href> is an ordinary link a reader follows; every other href is fetched
            # (a stylesheet, an icon, a preload)
            if value and (name in self.LOADING or (name == "href" and tag != "a")):
                self.loads += [f"<{tag} {name}={url.strip()!r}>" for url in value.split(",")
                               if url.strip().startswith(("http:", "https:", "//"))]


def _parse(page: Path) -> _Resources:
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_the_site_builds_with_every_page(site):
    for page in ("index.html", "tutorial.html", "api.html", "changelog.html"):
        assert (site / page).is_file(), page
    built = {p.stem for p in site.glob("*.html")}
    assert {p.stem for p in (ROOT / "docs").glob("*.md")} <= built


def test_the_api_reference_documents_every_public_name(site):
    ids = _parse(site / "api.html").ids
    missing = []
    for name in mg.__all__:
        obj = getattr(mg, name)
        # a name that is also a submodule's is documented by its full path
        paths = {f"matgrad.{name}", f"{getattr(obj, '__module__', 'matgrad')}.{name}"}
        if not paths & ids:
            missing.append(name)
    assert not missing, f"not in the API reference: {missing}"


def test_the_api_reference_shows_the_examples_as_code(site):
    page = (site / "api.html").read_text(encoding="utf-8")
    assert "<blockquote>" not in page  # a >>> read as a quote
    assert page.count("&gt;&gt;&gt;") >= 2 * len(_public_callables())


def test_the_home_page_is_the_readme_with_site_links(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "Quick start" in page
    assert 'href="tutorial.html"' in page and 'href="docs/' not in page


def test_no_page_loads_anything_from_a_network(site):
    remote = []
    for page in site.rglob("*.html"):
        remote += [f"{page.relative_to(site)}: {url}" for url in _parse(page).loads]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        remote += [f"{sheet.relative_to(site)}: {u}" for u in
                   re.findall(r"(?:url\(|@import)\s*['\"]?((?:https?:)?//[^'\")\s]+)", text)]
    assert not remote, "\n".join(remote)


def test_the_operations_page_lists_every_declared_operation(site):
    """The page is written from the registry and the elementwise table: a declared
    operation or a table row appears with its rule without anyone editing the page."""
    from matgrad import registry
    from matgrad.elementwise import table
    page = (site / "operations.html").read_text(encoding="utf-8")
    for op in registry.operations().values():
        summary = registry.summary(op)
        assert summary["call"] in page, op.name
        assert html.escape(summary["convention"], quote=False) in page, op.name
    for name in table():
        assert f"<code>{name}(" in page, name
