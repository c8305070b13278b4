r"""LaTeX to MathML on the server, so the page renders mathematics with no script and no
network: Chromium displays MathML natively.

The conversion is latex2mathml's; two things are added around it. Alignment
environments (`aligned`, `align*`, ...) become a MathML table row by row, because
latex2mathml does not lay them out. And the output is rebuilt through a whitelist of
MathML elements and attributes, because the converter copies `\text{...}` verbatim and the
text may come from a user. Where conversion fails, the LaTeX is shown as code.

>>> to_mathml("x^2")
'<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
>>> to_mathml(r"\text{<i>x</i>}")
'<math display="inline"><mrow><mtext>x</mtext></mrow></math>'
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

_ALIGN = re.compile(r"^\\begin\{(aligned|align\*?|split|gathered|eqnarray\*?)\}(.*)"
                    r"\\end\{\1\}$", re.S)

# MathML Core elements and the presentation attributes the converter emits.
ELEMENTS = frozenset("""
    math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mover munder
    munderover mtable mtr mtd mstyle mpadded mphantom menclose merror semantics annotation
    mmultiscripts mprescripts none
""".split())
ATTRIBUTES = frozenset("""
    display mathvariant stretchy fence form separator lspace rspace accent accentunder
    movablelimits largeop symmetric minsize maxsize width height depth linebreak
    columnalign rowalign columnspacing rowspacing displaystyle scriptlevel notation
    linethickness
""".split())


def to_mathml(latex: str, display: str = "inline") -> str:
    """A `<math>` element for `latex` (a `<code>` element with the LaTeX if it cannot be
    converted)."""
    text = latex.strip()
    m = _ALIGN.match(text)
    if m:
        return _table(m.group(2), display)
    inner = _inner(text)
    if inner is None:
        return f'<code class="latex">{html.escape(latex)}</code>'
    return f'<math display="{display}">{inner}</math>'


def split_aligned(latex: str) -> list[list[str]] | None:
    r"""The cells of an alignment environment, row by row; None if `latex` is not one.

    >>> split_aligned(r"\begin{aligned} a &= b \\ c &= {d \\ e} \end{aligned}")
    [['a', '= b'], ['c', '= {d \\\\ e}']]
    """
    m = _ALIGN.match(latex.strip())
    if not m:
        return None
    return [[c.strip() for c in _split_top(row, "&")]
            for row in _split_top(m.group(2), "\\\\") if row.strip()]


def _table(body: str, display: str) -> str:
    rows = []
    for row in _split_top(body, "\\\\"):
        if not row.strip():
            continue
        cells = []
        for cell in _split_top(row, "&"):
            inner = _inner(cell.strip()) if cell.strip() else "<mrow></mrow>"
            if inner is None:
                return f'<code class="latex">{html.escape(body)}</code>'
            cells.append(f"<mtd>{inner}</mtd>")
        rows.append("<mtr>" + "".join(cells) + "</mtr>")
    return (f'<math display="{display}"><mtable columnalign="right left">'
            + "".join(rows) + "</mtable></math>")


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside braces (and not inside an escaped `\\&`)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and not text.startswith(sep, i):
            i += 2  # an escaped character or the first letter of a command
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def unnest_text(latex: str) -> str:
    r"""`\text{a $x$ b}` (mathematics inside text) as `\text{a }x\text{ b}`, which the
    converter understands.

    >>> unnest_text(r"\text{so $x^{2}$ is}")
    '\\text{so }x^{2}\\text{ is}'
    """
    out, i = [], 0
    while True:
        j = latex.find("\\text{", i)
        if j < 0:
            out.append(latex[i:])
            return "".join(out)
        start = j + len("\\text{")
        end, depth = start, 1
        while end < len(latex) and depth:
            if latex[end] == "\\":
                end += 2
                continue
            depth += (latex[end] == "{") - (latex[end] == "}")
            end += 1
        body = latex[start:end - 1] if depth == 0 else latex[start:]
        out.append(latex[i:j])
        parts = _split_top(body, "$")
        for k, part in enumerate(parts):
            if k % 2 == 0:
                if part:
                    out.append("\\text{" + part + "}")
            else:
                out.append(part)
        i = end


def _inner(latex: str) -> str | None:
    """The sanitised content of latex2mathml's `<math>` element, or None on failure."""
    from latex2mathml.converter import convert
    try:
        root = ET.fromstring(convert(unnest_text(latex)))
    except Exception:  # the converter raises bare Exceptions on malformed LaTeX
        return None
    return "".join(_clean(child) for child in root)


def _clean(el) -> str:
    tag = el.tag.rsplit("}", 1)[-1]
    tail = html.escape(el.tail or "", quote=False)
    if tag not in ELEMENTS:
        # Not MathML: keep only its text, escaped.
        return html.escape("".join(el.itertext()), quote=False) + tail
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in el.attrib.items()
                    if k in ATTRIBUTES)
    body = html.escape(el.text or "", quote=False) + "".join(_clean(c) for c in el)
    return f"<{tag}{attrs}>{body}</{tag}>{tail}"
