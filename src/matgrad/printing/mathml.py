r"""LaTeX to MathML on the server, so the page renders mathematics with no script and no
network: Chromium displays MathML natively.

The conversion is latex2mathml's; three things are added around it. Alignment
environments (`aligned`, `align*`, ...) become a MathML table row by row, because
latex2mathml does not lay them out. The converter's output is retouched where a browser
would set it unlike TeX (`_typeset`): the Frobenius colon is a spaced operator, not a
letter (g : dX, not g:dX); function names are upright identifiers, not operators with
wide spacing on both sides (sum(z), relu′(t), d sum); a slash is not spaced (∂L/∂z);
a prime follows its base instead of being a superscript of one; a hat is the spacing
accent ˆ, not the ASCII caret; ⊤ in A⁻ᵀ is a symbol, not an operator set apart from
its sign; and a single upright letter (the differential's d) stays upright. And the
output is rebuilt through a whitelist of MathML elements and attributes, because the
converter copies `\text{...}` verbatim and the text may come from a user. Where
conversion fails, the LaTeX is shown as code.

For text that mixes words and formulas (a rule note, a verdict), `prose_html` and
`mixed_html` write the words as HTML text and each formula as its own `<math>`, so
that the line wraps.

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


def mixed_html(latex: str) -> str:
    r"""HTML for inline LaTeX that mixes words and formulas: its top-level ``\text{...}``
    groups become plain (escaped) text and the formulas between them MathML, ``;\ ``
    between two formulas becomes "; " in text, and a chain of equations is one `<math>`
    element per side, so that a long line wraps like a sentence (a browser does not
    break a line inside a `<math>` element).

    >>> mixed_html(r"\text{so }x\text{ is <b>}")
    'so <math display="inline"><mrow><mi>x</mi></mrow></math> is &lt;b&gt;'
    """
    from .prose import text_unescape
    out: list = []

    def text(t: str) -> None:  # one space where text and spacing commands meet
        if out and out[-1][-1:] == " " and t[:1] == " ":
            t = t[1:]
        if t:
            out.append(t)

    for is_text, piece in text_segments(latex):
        if is_text:
            text(html.escape(text_unescape(piece), quote=False))
            continue
        body = _TRAILING_SPACES.sub("", _LEADING_SPACES.sub("", piece))
        if _LEADING_SPACES.match(piece):
            text(" ")
        if body:
            # <wbr>: a place to wrap, with no space beyond the relation's own
            out.append("<wbr>".join(to_mathml(side) for side in _relations(body)))
            if _TRAILING_SPACES.search(piece):
                text(" ")
    return "".join(out)


def prose_html(text: str) -> str:
    """HTML for plain text with Unicode mathematics (a rule note, a line of a verdict):
    words as text, formulas as MathML (`prose.prose_latex` tells them apart).

    >>> prose_html("m×n, the shape of X")  # doctest: +ELLIPSIS
    '<math display="inline">...<mo>×</mo>...</math>, the shape of <math ...<mi>X</mi>...'
    """
    from .prose import prose_latex
    return mixed_html(prose_latex(text))


_TEXT = "\\text{"
_DELIMITER = re.compile(r"\\(left|right)(?![A-Za-z])")
# spacing commands (and white space) at the ends of a formula; not "\\ " (a line break)
_SPACE = r"(?:\s|(?<!\\)\\[ ,;]|(?<!\\)\\quad(?![A-Za-z]))"
_LEADING_SPACES = re.compile(rf"^{_SPACE}+")
_TRAILING_SPACES = re.compile(rf"{_SPACE}+$")


def _relations(latex: str) -> list[str]:
    r"""A chain of equations cut before each top-level ``=``: ``a = b = c`` as ``a``,
    ``= b``, ``= c``, so that a browser may wrap it between them."""
    cuts, depth, i = [], 0, 0
    while i < len(latex):
        m = _DELIMITER.match(latex, i)
        if m:
            depth += 1 if m.group(1) == "left" else -1
            i = m.end()
            continue
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "{") - (ch == "}")
        if ch == "=" and depth == 0 and i > 0:
            cuts.append(i)
        i += 1
    pieces = [latex[a:b].strip() for a, b in zip([0] + cuts, cuts + [len(latex)])]
    return [p for p in pieces if p]


def text_segments(latex: str) -> list:
    r"""(is text, LaTeX) pieces: the bodies of ``\text{...}`` groups outside any braces
    or ``\left ... \right`` pair, the formulas between them, and "; " for a top-level
    ``;\ `` between formulas."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        if depth == 0 and latex.startswith(_TEXT, i):
            end, inner = i + len(_TEXT), 1
            while end < len(latex) and inner:
                if latex[end] == "\\":
                    end += 2
                    continue
                inner += (latex[end] == "{") - (latex[end] == "}")
                end += 1
            out.append((False, latex[start:i]))
            out.append((True, latex[i + len(_TEXT):end - 1 if inner == 0 else end]))
            start = i = end
            continue
        if depth == 0 and latex.startswith(";\\ ", i):
            out.append((False, latex[start:i]))
            out.append((True, "; "))
            start = i = i + 3
            continue
        m = _DELIMITER.match(latex, i)
        if m:
            depth += 1 if m.group(1) == "left" else -1
            i = m.end()
            continue
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "{") - (ch == "}")
        i += 1
    out.append((False, latex[start:]))
    return [(t, p) for t, p in out if p]


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


# \mathrm{d}: the converter drops "upright" from a single letter, but not from a group
_UPRIGHT_LETTER = re.compile(r"\\mathrm\{([A-Za-z])\}")


def _inner(latex: str) -> str | None:
    """The sanitised content of latex2mathml's `<math>` element, or None on failure."""
    from latex2mathml.converter import convert
    try:
        root = ET.fromstring(convert(_UPRIGHT_LETTER.sub(r"{\\rm \1}", unnest_text(latex))))
    except Exception:  # the converter raises bare Exceptions on malformed LaTeX
        return None
    _typeset(root)
    return "".join(_clean(child) for child in root)


_MML = "{http://www.w3.org/1998/Math/MathML}"
_PRIMES = frozenset("′″‴'")
_ACCENTS = {"^": "ˆ", "~": "˜"}  # \hat and \tilde, as the converter writes them
_OPENING = frozenset("([{|‖⟨")
THIN_SPACE = "0.1667em"  # TeX's \, : after an operator name applied without brackets
THICK_SPACE = "0.2778em"  # TeX's \; : around a binary operator such as the colon


def _local(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _opens(el) -> bool:
    """Whether el begins with an opening bracket (so a function name before it needs no
    space)."""
    while el is not None:
        if _local(el) == "mo":
            return (el.text or "").strip()[:1] in _OPENING
        if _local(el) not in ("mrow", "msup", "msub", "msubsup"):
            return False
        el = el[0] if len(el) else None
    return False


def _is_name(el) -> bool:
    """A function name as the converter writes it (`<mo>sum</mo>`, `<mi>log</mi>`)."""
    text = (el.text or "").strip()
    return _local(el) in ("mi", "mo") and len(text) > 1 and text.isalpha() and not len(el)


def _typeset(root) -> None:
    """Retouch the converter's MathML so that a browser sets it as TeX would (see the
    module docstring); iterative, so any depth is fine."""
    stack = [root]
    while stack:
        parent = stack.pop()
        kids = list(parent)
        for i, el in enumerate(kids):
            tag, text = _local(el), (el.text or "").strip()
            following = kids[i + 1] if i + 1 < len(kids) else None
            if tag == "mi" and text == ":":
                el.tag = _MML + "mo"
                el.set("lspace", THICK_SPACE)
                el.set("rspace", THICK_SPACE)
            elif tag == "mo" and text == "⊤":
                el.tag = _MML + "mi"
                el.set("mathvariant", "normal")
            elif _is_name(el):
                # a function name: upright, set apart (as TeX's \operatorname) from what
                # stands before it and from a bare operand after it
                el.tag = _MML + "mi"
                preceding = kids[i - 1] if i > 0 else None
                if preceding is not None and _local(preceding) not in ("mo", "mspace") \
                        and not _is_name(preceding):
                    space = ET.Element(_MML + "mspace", {"width": THIN_SPACE})
                    parent.insert(list(parent).index(el), space)
                if following is not None and (_is_name(following) or (
                        _local(following) not in ("mo", "mspace") and not _opens(following))):
                    space = ET.Element(_MML + "mspace", {"width": THIN_SPACE})
                    parent.insert(list(parent).index(el) + 1, space)
            elif tag == "mover" and len(el) == 2 and (el[1].text or "").strip() in _ACCENTS:
                # ŷ: the spacing accent, not the ASCII caret, which is set far too large
                el[1].text = _ACCENTS[el[1].text.strip()]
            elif tag == "mo" and text == "/":
                el.set("lspace", "0")  # a slash is ordinary in TeX: ∂L/∂z, 1/2
                el.set("rspace", "0")
            elif tag == "msup" and len(el) == 2 and (el[1].text or "").strip() in _PRIMES \
                    and not len(el[1]):
                el.tag = _MML + "mrow"  # f′: the prime glyph is raised already
                el[1].tag = _MML + "mo"
                el[1].set("lspace", "0")
                el[1].set("rspace", "0")
            stack.append(el)


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
