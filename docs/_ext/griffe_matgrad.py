"""Griffe extension for matgrad's API reference (mkdocs.yml loads it).

Two things the static reading of the sources does not give on its own:

- Doctest examples (``>>>`` lines and their output) are plain text in the docstrings,
  where Markdown would read the ``>`` as quotes; each run of them becomes a fenced
  ``pycon`` block, so the page shows what pytest's doctests run (``<BLANKLINE>`` shown
  as the blank line it stands for, and ``# doctest:`` directives left out).
- Functions built at import time (the elementwise functions, ``relu = _elementwise(...)``,
  and a family's, ``expm = FAMILY.function``) read as attributes without a docstring; they are taken from the imported module instead,
  so that they appear with their signature and docstring like any other function.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import griffe

_DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")


def fence_doctests(text: str) -> str:
    """`text` with each run of doctest lines (a ``>>>`` line up to the next blank line)
    fenced as a ``pycon`` code block."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        block = []
        while i < len(lines) and lines[i].strip():
            shown = lines[i]
            if shown.strip() == "<BLANKLINE>":
                shown = ""
            elif shown.lstrip().startswith((">>>", "...")):
                shown = _DIRECTIVE.sub("", shown)
            block.append(shown)
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [indent + "```pycon", *block, indent + "```"]
    return "\n".join(out)


class MatgradDocs(griffe.Extension):
    """Fences doctest examples and reads import-time functions from the running module."""

    def on_module(self, *, mod: griffe.Module, **kwargs) -> None:
        built = [name for name, member in mod.members.items()
                 if not member.is_alias and member.is_attribute
                 and isinstance(member.value, (griffe.ExprCall, griffe.ExprAttribute))]
        if not built or mod.filepath is None or isinstance(mod.filepath, list):
            return
        # the folder holding the top-level package, so that these sources are imported
        # (griffe's import paths replace sys.path while it imports)
        paths = [Path(mod.filepath).parents[mod.path.count(".")], *sys.path]
        runtime = griffe.dynamic_import(mod.path, paths)
        names = [name for name in built
                 if inspect.isfunction(getattr(runtime, name, None))
                 and getattr(runtime, name).__module__ == mod.path]
        if not names:
            return
        inspected = griffe.inspect(mod.path, filepath=mod.filepath, import_paths=paths)
        for name in names:
            func = inspected[name]
            static = mod.members[name]
            func.lineno, func.endlineno = static.lineno, static.endlineno
            mod.set_member(name, func)
            self._fence(func)

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        self._fence(obj)

    @staticmethod
    def _fence(obj) -> None:
        doc = obj.docstring
        if doc is not None and ">>>" in doc.value and "```pycon" not in doc.value:
            doc.value = fence_doctests(doc.value)
