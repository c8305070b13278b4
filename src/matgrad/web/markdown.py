r"""A small Markdown to HTML renderer for derivations, with the mathematics as MathML.

It knows what a derivation writes: paragraphs, headings, lists, pipe tables, fenced
code, inline code, bold, and mathematics between `$...$`, `$$...$$`, `\(...\)` or
`\[...\]`. All other text is escaped, so nothing in the input becomes markup. Inline
mathematics that mixes words and formulas (a rule such as
`$\text{chain rule through relu};\ \mathrm{d}\hat{y} = ...$`) is written as text with
formulas in it, so that it wraps on a narrow screen (`printing.mathml.mixed_html`).

>>> to_html("We have $x$ **here**.")
'<p>We have <math display="inline"><mrow><mi>x</mi></mrow></math> <strong>here</strong>.</p>'
>>> to_html("- a < b")
'<ul><li>a &lt; b</li></ul>'
"""
from __future__ import annotations

import html
import re

from ..printing.mathml import mixed_html, to_mathml

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


# opening delimiter -> (closing delimiter, kind)
_DELIMS = (("$$", "$$", "block"), ("\\[", "\\]", "block"), ("\\(", "\\)", "math"),
           ("$", "$", "math"), ("`", "`", "code"), ("**", "**", "bold"))


def inline(text: str) -> str:
    """HTML for one line or paragraph of Markdown text (no block structure).

    Mathematics ends at its closing `$` outside braces, so `$\\text{a $x$ b}$` is one
    formula.
    """
    out, plain, i = [], 0, 0
    while i < len(text):
        if text.startswith("\\$", i):  # an escaped dollar is a dollar
            out.append(html.escape(text[plain:i], quote=False) + "$")
            i += 2
            plain = i
            continue
        for opening, closing, kind in _DELIMS:
            if not text.startswith(opening, i):
                continue
            start = i + len(opening)
            end = _close(text, start, closing) if kind in ("math", "block") else \
                text.find(closing, start)
            if end <= start:
                continue
            body = text[start:end]
            out.append(html.escape(text[plain:i], quote=False))
            if kind == "block":
                out.append(to_mathml(body, "block"))
            elif kind == "math":
                out.append(mixed_html(body))
            elif kind == "code":
                out.append(f"<code>{html.escape(body, quote=False)}</code>")
            else:
                out.append(f"<strong>{inline(body)}</strong>")
            i = plain = end + len(closing)
            break
        else:
            i += 1
    out.append(html.escape(text[plain:], quote=False))
    return "".join(out)


def _close(text: str, start: int, closing: str) -> int:
    """Where `closing` ends the mathematics begun at `start`: outside braces, not
    escaped; -1 if it never does."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and not text.startswith(closing, i):
            i += 2
            continue
        if depth == 0 and text.startswith(closing, i):
            return i
        depth += (ch == "{") - (ch == "}")
        i += 1
    return -1


def to_html(markdown: str) -> str:
    """HTML for a Markdown document (see the module docstring for what is understood)."""
    lines = markdown.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            code = "\n".join(lines[i + 1:j])
            out.append(f"<pre><code>{html.escape(code, quote=False)}</code></pre>")
            i = j + 1
        elif stripped.startswith("$$") or stripped.startswith("\\["):
            close = "$$" if stripped.startswith("$$") else "\\]"
            body = stripped[2:]
            j = i
            while close not in body:
                j += 1
                if j >= len(lines):
                    break
                body += "\n" + lines[j]
            math, _, rest = body.partition(close)
            out.append(f'<div class="math">{to_mathml(math, "block")}</div>')
            if rest.strip():
                out.append(f"<p>{inline(rest.strip())}</p>")
            i = j + 1
        elif _HEADING.match(stripped):
            level, text = _HEADING.match(stripped).groups()
            n = min(6, len(level) + 2)  # the page's own headings come first
            out.append(f"<h{n}>{inline(text)}</h{n}>")
            i += 1
        elif _BULLET.match(line) or _NUMBERED.match(line):
            tag, pattern = ("ul", _BULLET) if _BULLET.match(line) else ("ol", _NUMBERED)
            items = []
            while i < len(lines) and pattern.match(lines[i]):
                item = pattern.match(lines[i]).group(1)
                i += 1
                while i < len(lines) and lines[i].startswith(("  ", "\t")) and \
                        lines[i].strip() and not pattern.match(lines[i]):
                    item += " " + lines[i].strip()  # a continuation line
                    i += 1
                items.append(f"<li>{inline(item)}</li>")
            out.append(f"<{tag}>{''.join(items)}</{tag}>")
        elif stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].strip())
                i += 1
            out.append(_table(rows))
        else:
            para = [stripped]
            i += 1
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
    return "".join(out)


def _starts_block(line: str) -> bool:
    s = line.strip()
    return (s.startswith(("```", "$$", "\\[", "|")) or bool(_HEADING.match(s))
            or bool(_BULLET.match(line)) or bool(_NUMBERED.match(line)))


def _cells(row: str) -> list[str]:
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    # A pipe inside mathematics, braces or code does not separate cells.
    cells, in_math, in_code, depth, start, k = [], False, False, 0, 0, 0
    while k < len(body):
        ch = body[k]
        if ch == "\\":
            k += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "$" and not in_code and depth == 0:
            in_math = not in_math
        elif ch == "`" and not in_math:
            in_code = not in_code
        elif ch == "|" and not in_math and not in_code and depth == 0:
            cells.append(body[start:k])
            start = k + 1
        k += 1
    cells.append(body[start:])
    return [c.strip() for c in cells]


def _table(rows: list[str]) -> str:
    head, body = None, rows
    if len(rows) >= 2 and _RULE.match(rows[1]):
        head, body = rows[0], rows[2:]
    out = ["<table>"]
    if head is not None:
        out.append("<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in _cells(head))
                   + "</tr></thead>")
    out.append("<tbody>")
    for r in body:
        out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _cells(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)
