r"""Typesetting with a real LaTeX engine: many math fragments, one pdflatex run.

`compile_fragments(fragments)` writes one document (amsmath, amssymb) holding every
fragment in a display of its own, preceded by a `\typeout{FRAGMENT n}` marker, runs
pdflatex once in a temporary directory with `-interaction=nonstopmode` (and without
`-halt-on-error`, so that TeX recovers and every error is reported), and maps each error
and each warning that means broken output back to the fragment after whose marker it
appears in the log. Fragments with unbalanced braces are refused before the run: they
would swallow the fragments after them. Should the run stop early anyway, the fragments
it did not reach are typeset again in a run of their own.

`require_engine()` is called by the tests that need pdflatex: under CI (CI=true) a
missing engine fails them; elsewhere they skip and say why.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest

ENGINE = "pdflatex"
TIMEOUT = 120  # seconds for one engine run
MAX_RUNS = 20  # runs for one call, should fatal errors keep stopping the engine early

PREAMBLE = r"""\documentclass{article}
\usepackage{amsmath,amssymb}
\tracinglostchars=1
\hbadness=10000 \vbadness=10000 \hfuzz=\maxdimen \vfuzz=\maxdimen
\setlength{\textwidth}{16cm}
\begin{document}
"""
MARKER = "FRAGMENT"
END = "FRAGMENTS DONE"

# Lines of the log that mean a fragment did not typeset as written. "! ..." is any TeX or
# LaTeX error (undefined control sequence, missing $, an unknown Unicode character);
# a missing character is a glyph the font lacks, silently dropped from the output.
_FAILURE = re.compile(r"^(! .*|Missing character: .*|LaTeX Warning: Command .* invalid.*"
                      r"|Package \w+ Warning: .*)$")
_MARK = re.compile(rf"^{MARKER} (\d+)$")
_BOX = re.compile(r"^(Overfull|Underfull|Tight|Loose) \\[hv]box")


def engine_path() -> str | None:
    return shutil.which(ENGINE)


def require_engine() -> str:
    """The path of pdflatex; fails under CI, and skips elsewhere, when there is none."""
    path = engine_path()
    if path is None:
        reason = (f"{ENGINE} is not installed (apt-get install texlive-latex-base); "
                  "the LaTeX compile tests need a real engine")
        if os.environ.get("CI") == "true":
            pytest.fail(f"LaTeX tests must run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return path


def _balanced(text: str) -> bool:
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


def _has_alignment(text: str) -> bool:
    r"""Whether text holds an alignment tab & or a row break \\ (not an escaped \&)."""
    return re.search(r"(?<!\\)&", text) is not None or "\\\\" in text


def _wrap(fragment: str, display: bool) -> str:
    body = fragment
    if _has_alignment(body) and not body.lstrip().startswith(r"\begin{"):
        body = "\\begin{aligned}\n" + body + "\n\\end{aligned}"
    if display:
        return "\\[ " + body + " \\]"
    return "$ " + body + " $"


def _document(items: list, display: bool) -> str:
    parts = [PREAMBLE]
    for n, fragment in items:
        parts.append(f"\\typeout{{{MARKER} {n}}}\n\\noindent {_wrap(fragment, display)}\n\n")
    parts.append(f"\\typeout{{{END}}}\n\\end{{document}}\n")
    return "".join(parts)


def _run(items: list, display: bool, timeout: float) -> tuple[dict, set]:
    """({fragment number: [failure lines]}, numbers whose marker the run reached)."""
    engine = require_engine()
    with tempfile.TemporaryDirectory(prefix="matgrad-latex-") as tmp:
        tex = os.path.join(tmp, "fragments.tex")
        with open(tex, "w", encoding="utf-8") as f:
            f.write(_document(items, display))
        try:
            subprocess.run([engine, "-interaction=nonstopmode", "-no-shell-escape",
                            "-draftmode", "-no-file-line-error", "fragments.tex"],
                           cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{ENGINE} ran for more than {timeout} s") from exc
        log_path = os.path.join(tmp, "fragments.log")
        if not os.path.exists(log_path):
            raise AssertionError(f"{ENGINE} wrote no log: it did not start")
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read().splitlines()
    errors: dict = {}
    reached: set = set()
    current = None
    in_box = False  # a box shown in the log (after "Overfull \hbox"), not a message
    for i, line in enumerate(log):
        if _BOX.match(line):
            in_box = True
            continue
        if in_box:
            in_box = line.strip() != ""
            continue
        m = _MARK.match(line)
        if m:
            current = int(m.group(1))
            reached.add(current)
            continue
        if line == END:
            current = None
            continue
        if _FAILURE.match(line):
            # the error line and the context TeX prints after it (l.42 <text>)
            context = [x for x in log[i + 1:i + 4] if x.startswith("l.")]
            message = line + (" [" + context[0] + "]" if context else "")
            errors.setdefault(current, []).append(message)
    if END not in log:
        # the run stopped: the last fragment it reached is the one that stopped it
        last = max(reached) if reached else None
        if last is not None:
            errors.setdefault(last, []).append("the engine stopped on this fragment")
    return errors, reached


def compile_fragments(fragments: list[str], display: bool = True,
                      timeout: float = TIMEOUT) -> list[str | None]:
    """For each fragment of math-mode LaTeX: None if it typesets cleanly, else the errors.

    One engine run for all of them (more only if a fatal error stops the engine early);
    each fragment is in `\\[ ... \\]` (with display=False, `$ ... $`), inside `aligned`
    when it holds & or \\\\ and is not an environment itself.
    """
    require_engine()
    results: list = [None] * len(fragments)
    todo = []
    for n, fragment in enumerate(fragments):
        if not _balanced(fragment):
            results[n] = "unbalanced braces"
        else:
            todo.append((n, fragment))
    runs = 0
    while todo:
        runs += 1
        if runs > MAX_RUNS:
            for n, _ in todo:
                results[n] = "not typeset: the engine kept stopping early"
            break
        errors, reached = _run(todo, display, timeout)
        rest = []
        for n, fragment in todo:
            if n in errors:
                results[n] = "; ".join(errors[n])
            elif n not in reached:
                rest.append((n, fragment))
        if errors.get(None):  # outside every fragment: the document itself is broken
            raise AssertionError("LaTeX failed outside the fragments: "
                                 + "; ".join(errors[None]))
        if len(rest) == len(todo):  # no progress (cannot happen); do not loop forever
            for n, _ in rest:
                results[n] = "not typeset"
            break
        todo = rest
    return results


def failures(fragments: list[str], display: bool = True) -> list[tuple[str, str]]:
    """(fragment, error) for each fragment that does not typeset cleanly."""
    return [(f, e) for f, e in zip(fragments, compile_fragments(fragments, display))
            if e is not None]
