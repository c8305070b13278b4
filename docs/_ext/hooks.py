"""MkDocs hooks for matgrad's site (mkdocs.yml loads them).

The home page is README.md and the changelog page CHANGELOG.md, read from the
repository root when the site is built, so that each fact is written in one place; their
links to docs/*.md are made relative to the site. The stylesheet for highlighted code is
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


def on_files(files: Files, config) -> Files:
    root = Path(config.config_file_path).parent
    for page, source in ROOT_PAGES.items():
        text = (root / source).read_text(encoding="utf-8")
        files.append(File.generated(config, page, content=site_links(text)))
    css = HtmlFormatter().get_style_defs(".highlight")
    files.append(File.generated(config, STYLESHEET, content=css))
    return files
