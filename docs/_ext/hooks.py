"""MkDocs hooks for matgrad's site (mkdocs.yml loads them).

The home page is README.md and the changelog page CHANGELOG.md, read from the
repository root when the site is built, so that each fact is written in one place; their
links to docs/*.md are made relative to the site. The operations page is written from
the registry and the elementwise table (`operations_page`), so it lists every operation
with its declared differential and convention, and is never out of date. The stylesheet for highlighted code is
written by Pygments at build time, so the site needs nothing from a network.
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files
from pygments.formatters import HtmlFormatter

# page in the site <- file at the repository root
ROOT_PAGES = {"index.md": "README.md", "changelog.md": "CHANGELOG.md"}
STYLESHEET = "css/pygments.css"


def site_links(text: str) -> str:
    """Links of a repository-root page, rewritten for the site: docs/X.md is the page
    X.md, and a root file that is also a page is that page."""
    text = re.sub(r"\]\(docs/", "](", text)
    for page, source in ROOT_PAGES.items():
        text = text.replace(f"]({source})", f"]({page})")
    return text


OPERATIONS_PAGE = "operations.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def operations_page() -> str:
    """Markdown: a table of every declared operation (matgrad.registry) and one of every
    elementwise function, each with its differential and where it is defined."""
    import matgrad as mg
    from matgrad import registry
    from matgrad.elementwise import table
    from matgrad.printing.text import to_text
    lines = [
        "# Operations", "",
        "Every operation of the language, as it is declared: this page is written from "
        "the declarations (`matgrad.operations`, one each, see "
        "[the architecture](architecture.md)) when the site is built. Each differential "
        "is the rule the derivations apply and print; the convention says where an "
        "operation is defined and what is taken where it is not differentiable.", "",
        "## Matrix operations", "",
        "| function | shapes | differential | domain and convention | declared in |",
        "| --- | --- | --- | --- | --- |",
    ]
    for op in registry.operations().values():
        s = registry.summary(op)
        lines.append(f"| `{s['call']}` | `{s['signature']}` | {_cell(s['differential'])} | "
                     f"{_cell(s['convention'])} | `{s['module']}` |")
    lines += ["", "## Elementwise functions", "",
              "Applied entry by entry: d f(A) = f′(A) ⊙ dA, with f′ from the table "
              "(`matgrad.elementwise`).", "",
              "| function | printed | f′(t) | defined on |", "| --- | --- | --- | --- |"]
    domains = {"real": "every real number", "positive": "t > 0", "unit": "−1 < t < 1"}
    t = mg.scalar("t")
    for name, row in table().items():
        args = (1, t) if getattr(row, "ordered", False) else (t,)
        node = mg.ops.fn(name, *args)
        slope = to_text(row.derivative(t, node, *args[:-1]))
        call = f"{name}(1, t)" if len(args) == 2 else f"{name}(t)"
        lines.append(f"| `{call}` | {_cell(to_text(node))} | {_cell(slope)} | "
                     f"{domains.get(row.domain, row.domain)} |")
    return "\n".join(lines) + "\n"


def on_files(files: Files, config) -> Files:
    root = Path(config.config_file_path).parent
    files.append(File.generated(config, OPERATIONS_PAGE, content=operations_page()))
    for page, source in ROOT_PAGES.items():
        text = (root / source).read_text(encoding="utf-8")
        files.append(File.generated(config, page, content=site_links(text)))
    css = HtmlFormatter().get_style_defs(".highlight")
    files.append(File.generated(config, STYLESHEET, content=css))
    return files
