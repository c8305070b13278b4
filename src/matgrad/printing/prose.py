r"""Rule notes as LaTeX: plain text with Unicode mathematics, made valid in math mode.

The notes printed beside derivation steps mix English and formulas ("chain rule through
relu; dŷ = H(z) ⊙ dz", "d det A = det A · tr(A⁻¹ dA) (Matrix Cookbook eq. 46)").
`prose_latex` splits such a note into tokens, decides for each whether it is prose or
mathematics, and writes prose as ``\text{...}`` (LaTeX's special characters escaped, no
``$`` inside) and mathematics symbol by symbol, so that the result is valid inside
``\[ ... \]``, ``$ ... $`` or a cell of ``aligned``.

How a token is classified, in order:

1. Letter runs (ASCII letters with combining accents and inner apostrophes):

   * a run touching (no space between) a mathematical symbol is mathematics: a
     superscript or subscript (``Aᵀ``, ``W₁``), a prime (``relu′``), ``(`` on its right
     (a call: ``tr(``, ``op(``), an operator such as ``=`` or ``⊙`` on either side;
   * a run next to a binary operator or relation across spaces (``=``, ``+``, ``−``,
     ``·``, ``⊙``, ``⊘``, ``×``, ``/``, the Frobenius ``:`` written with spaces, ...)
     is mathematics;
   * a single letter is mathematics (``A``, ``p``, ``t``), except the article "a"
     before a word ("for a vector");
   * ``d`` and one letter (``dA``, ``dz``, ``dŷ``) is a differential, unless words
     stand on both sides of it;
   * a known function name (``tr``, ``det``, ``log``, ``softmax``, ``lse``, ``relu``,
     ...: the functions of the input language, the elementwise table and the names the
     printers write) is mathematics where it is applied, that is followed by ``(``, a
     prime, a script, or (after a space) by a mathematical operand (``det A``,
     ``log det A``), and a word otherwise ("chain rule through relu");
   * any other run of two or more letters written in lower case or capitalised
     ("shape", "Hadamard") is a word; other runs ("BC", a product) are mathematics.
   A run with an apostrophe ("broadcast's") and a hyphenated compound with a word in it
   ("2-norm") are words.

2. ``(`` and ``[`` open prose where a word follows them and they do not touch what is
   before ("(Matrix Cookbook eq. 46)"), or where they do not touch what is before and
   enclose words ("(z is m×1, X is m×n)"); the bracket that closes them is prose too.

3. Numbers and punctuation take the side of their neighbours (skipping other numbers
   and punctuation): punctuation is prose when a neighbour is, a number when both are.
   A colon right after a word with a space after it is punctuation ("norm: d sum"), and
   so is a colon that ends the text ("read off G:"); a colon with spaces around it is
   the Frobenius product.

Everything else is mathematics. Spaces between prose and mathematics go into the
``\text{...}``; spaces inside mathematics are kept and mean nothing to LaTeX.

Mathematics is converted symbol by symbol: ᵀ → ``^{\top}``, ⁻¹ → ``^{-1}``, a run of
superscripts (⁻ᵀ, ², ᵖ) → one ``^{...}``, subscripts (₁, ₘ) → ``_{...}``, ``^(p−1)`` →
``^{p-1}``, ⊙ → ``\odot``, ⊘ → ``\oslash``, · → ``\cdot``, − → ``-``, × → ``\times``,
‖ → ``\|``, ′ → ``'``, ∂ → ``\partial``, Greek letters → their commands, ŷ →
``\hat{y}``, ½ → ``\tfrac{1}{2}``, function names → ``\det``, ``\operatorname{tr}``, a
differential d → ``\mathrm{d}``, names with underscores as `latex_name` prints them.
A script that would be a second one on the same atom gets an empty base (``{}^{...}``),
so that the output never has a double superscript. Characters without a LaTeX form
appear as their code point. The output depends only on the input.

>>> prose_latex("A : BC = A Cᵀ : B")
'A : BC = A C^{\\top} : B'
>>> prose_latex("m×n, the shape of X")
'm\\times n\\text{, the shape of }X'
>>> prose_latex("chain rule through relu; dŷ = H(z) ⊙ dz")
'\\text{chain rule through relu; }\\mathrm{d}\\hat{y} = H(z) \\odot \\mathrm{d}z'
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .symbols import ACCENT_LATEX, GREEK_LATEX, join_latex, latex_name, top_level_scripts

# Symbols of mathematics, as LaTeX (Greek letters come from symbols.GREEK_LATEX).
MATH_SYMBOLS = {
    "⊙": r"\odot", "⊘": r"\oslash", "⊗": r"\otimes", "⊕": r"\oplus", "∘": r"\circ",
    "·": r"\cdot", "⋅": r"\cdot", "∗": "*", "×": r"\times", "÷": r"\div", "−": "-",
    "±": r"\pm", "∓": r"\mp", "‖": r"\|", "′": "'", "″": "''", "‴": "'''",
    "∂": r"\partial", "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "√": r"\surd", "∞": r"\infty", "≤": r"\le", "≥": r"\ge", "≠": r"\ne",
    "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto", "∼": r"\sim", "∈": r"\in",
    "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap",
    "→": r"\to", "←": r"\leftarrow", "↦": r"\mapsto", "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow", "∀": r"\forall", "∃": r"\exists", "⟨": r"\langle",
    "⟩": r"\rangle", "⌈": r"\lceil", "⌉": r"\rceil", "⌊": r"\lfloor", "⌋": r"\rfloor",
    "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℂ": r"\mathbb{C}",
    "⊤": r"\top", "†": r"\dagger", "°": r"^{\circ}", "…": r"\ldots", "⋯": r"\cdots",
    "ℓ": r"\ell", "∅": r"\emptyset", "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee",
    # ASCII characters that are special to LaTeX
    "\\": r"\backslash", "{": r"\{", "}": r"\}", "#": r"\#", "%": r"\%", "&": r"\&",
    "$": r"\$", "~": r"\sim", '"': r"\text{''}",
}
# Binary operators and relations: a letter run next to one (across spaces) is mathematics.
BINARY = frozenset("=+−-·⋅⊙⊘⊗⊕∘×÷/*<>≤≥≠≈≡∝∼∈→↦±@")
# Functions LaTeX itself sets upright (\det A); other names get \operatorname.
LATEX_OPERATORS = frozenset({"exp", "log", "ln", "sin", "cos", "tan", "sinh", "cosh",
                             "tanh", "det", "max", "min", "arcsin", "arccos", "arctan"})
# Names the printers and notes write that are not input functions: tr (trace), lse
# (logsumexp) and vec (the Kronecker form).
PRINTED_FUNCTIONS = ("tr", "lse", "vec")

# Accents written in text mode, by combining character.
_TEXT_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=",
                 "\u0306": "u", "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H",
                 "\u030c": "v", "\u0327": "c"}
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\textdollar{}",
                 "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}",
                 "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "|": r"\textbar{}", '"': "''", "’": "'", "‘": "`", "“": "``", "”": "''",
                 "…": r"\ldots{}", "–": "--", "—": "---"}
_PUNCT = frozenset(",;.!?“”‘’–—") | {"…"}
_MATH_PUNCT = {",": ",", ".": ".", "!": "!", "?": "?", ":": r"\colon", "“": r"\text{``}",
               "”": r"\text{''}", "‘": r"\text{`}", "’": r"\text{'}", "…": r"\ldots",
               "–": r"\text{--}", "—": r"\text{---}"}

_COMB = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_LETTER = rf"[A-Za-z][{_COMB}]*"
_COMPOUND = r"(?P<compound>(?:[A-Za-z]+|[0-9]+)(?:-(?:[A-Za-z]+|[0-9]+))+)"
_REST = re.compile(
    rf"(?P<ident>[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)"
    rf"|(?P<word>(?:{_LETTER})+(?:['’](?:{_LETTER})+)*)"
    rf"|(?P<number>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+(?![A-Za-z]))?)"
    rf"|(?P<ellipsis>\.\.\.)"
    rf"|(?P<script>[\^_])"
    rf"|(?P<char>.[{_COMB}]*)", re.S)
_TOKEN = re.compile(_COMPOUND + "|" + _REST.pattern, re.S)
_ARGUMENT = re.compile(rf"[−-]?(?:[0-9]+(?:\.[0-9]+)?|(?:{_LETTER})+|.[{_COMB}]*)", re.S)
_MAX_NESTING = 30  # scripts inside scripts, beyond which arguments are printed as text


@dataclass
class _Tok:
    kind: str  # word, compound, ident, number, ellipsis, script, sup, sub, char
    text: str
    gap: bool  # whitespace before it
    cls: str = ""  # "text" or "math"
    role: str = ""  # func, diff, article, colon (punctuation), punct (in mathematics)
    arg: str = ""  # a script's argument


def prose_latex(text: str) -> str:
    r"""LaTeX, valid in math mode, for a rule note in plain text with Unicode mathematics.

    >>> print(prose_latex("d det A = det A · tr(A⁻¹ dA) (Matrix Cookbook eq. 46)"))
    ... # doctest: +NORMALIZE_WHITESPACE
    \mathrm{d} \det A = \det A \cdot \operatorname{tr}(A^{-1} \mathrm{d}A)\text{ (Matrix
    Cookbook eq. 46)}
    """
    return _convert(text, 0)


def _convert(text: str, nesting: int) -> str:
    toks = _tokens(_normal(text))
    _classify(toks)
    return _render(toks, nesting)


# ---- tokens -------------------------------------------------------------------------


def _normal(text: str) -> str:
    """Letters decomposed (ŷ as y and a combining hat; symbols such as ≠ stay whole),
    whitespace as single spaces, no control characters."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch).startswith("L"):
            out.append(unicodedata.normalize("NFD", ch))
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(" +", " ", "".join(out)).strip()


def _script_kind(ch: str) -> str | None:
    d = unicodedata.decomposition(ch)
    if d.startswith("<super>"):
        return "sup"
    if d.startswith("<sub>"):
        return "sub"
    return None


def _letters(word: str) -> str:
    return "".join(ch for ch in word if ch.isascii() and ch.isalpha())


def _prose_word(part: str) -> bool:
    """A word of English: two letters or more, lower case or capitalised, not dX."""
    letters = _letters(part)
    return len(letters) >= 2 and letters[1:].islower() and not (
        len(letters) == 2 and letters[0] == "d")


def _script_argument(text: str, i: int) -> tuple[str, int]:
    """The argument of ^ or _ at text[i:]: a bracketed group, or one atom (with a sign)."""
    if i < len(text) and text[i] in "({":
        close = ")" if text[i] == "(" else "}"
        depth = 0
        for j in range(i, len(text)):
            if text[j] == text[i]:
                depth += 1
            elif text[j] == close:
                depth -= 1
                if depth == 0:
                    return text[i + 1:j], j + 1
        return text[i + 1:], len(text)
    m = _ARGUMENT.match(text, i)
    if not m or m.group() == " ":
        return "", i
    return m.group(), m.end()


def _tokens(text: str) -> list:
    """The tokens of normalised text, each knowing whether a space precedes it."""
    toks: list = []
    i, gap = 0, False
    while i < len(text):
        ch = text[i]
        if ch == " ":
            gap = True
            i += 1
            continue
        kind = _script_kind(ch)
        if kind:  # a run of superscripts (or subscripts)
            j = i
            while j < len(text) and _script_kind(text[j]) == kind:
                j += 1
            toks.append(_Tok(kind, text[i:j], gap))
            i, gap = j, False
            continue
        m = _TOKEN.match(text, i)
        kind, piece = m.lastgroup, m.group()
        if kind == "compound" and not any(_prose_word(p) for p in piece.split("-")):
            m = _REST.match(text, i)
            kind, piece = m.lastgroup, m.group()
        if kind == "script":
            arg, end = _script_argument(text, i + 1)
            toks.append(_Tok("script", piece, gap, arg=arg))
            i, gap = end, False
            continue
        toks.append(_Tok(kind, piece, gap))
        i, gap = m.end(), False
    return toks


# ---- classification --------------------------------------------------------------------


@lru_cache(maxsize=1)
def function_names() -> frozenset:
    """Names that print as functions: the input language's, the elementwise table's
    printed names, those the printers write (tr, lse, vec) and LaTeX's operators."""
    from ..elementwise import table
    from ..parser import CONSTRUCTORS, FUNCTIONS
    names = {n for n in FUNCTIONS if n not in CONSTRUCTORS}
    names |= {row.text for row in table().values()}
    names |= set(PRINTED_FUNCTIONS) | LATEX_OPERATORS
    return frozenset(n for n in names if n.isascii() and n.isalpha() and len(n) >= 2)


def _base(tok: _Tok) -> str:
    """A char token's character without its accents."""
    return tok.text[0]


def _is_binary(tok: _Tok | None) -> bool:
    if tok is None:
        return False
    if tok.kind == "char" and tok.role == "colon":
        return False
    if tok.kind == "char" and _base(tok) == ":":
        return True  # the Frobenius product
    return tok.kind == "char" and _base(tok) in BINARY


def _is_mathy_symbol(tok: _Tok) -> bool:
    """A symbol that makes a letter run it touches mathematics."""
    if tok.kind in ("sup", "sub", "ident", "script"):
        return True
    if tok.kind != "char":
        return False
    ch = _base(tok)
    return ch in BINARY or ch in "′″‴‖∂" or (not ch.isascii() and ch not in _PUNCT)


def _classify(toks: list) -> None:
    n = len(toks)

    def prev(i):
        return toks[i - 1] if i > 0 else None

    def nxt(i):
        return toks[i + 1] if i + 1 < n else None

    # colons: punctuation right after a word, with a space (or the end) after it;
    # symbols other than brackets and punctuation are mathematics
    for i, t in enumerate(toks):
        if t.kind == "char" and t.text == ":":
            p, q = prev(i), nxt(i)
            if not t.gap and p is not None and (p.kind in ("word", "compound") and (
                    q is None or q.gap) or q is None):  # "norm: d sum", "read off G:"
                t.role = "colon"
                if q is None:
                    t.cls = "text"  # the end of a sentence
            else:
                t.cls = "math"
        elif t.kind == "char" and t.text not in _PUNCT and t.text not in "()[]":
            t.cls = "math"
    # 1. letter runs
    funcs = function_names()
    for i, t in enumerate(toks):
        if t.kind == "compound":
            t.cls = "text"
        elif t.kind in ("ident", "sup", "sub", "script", "ellipsis"):
            t.cls = "math" if t.kind != "ellipsis" else ""
        elif t.kind == "word":
            _classify_word(t, prev(i), nxt(i), funcs)
    for i, t in enumerate(toks):  # articles and dX between words
        p, q = prev(i), nxt(i)
        if t.role == "article?":
            t.role = ""
            if q is not None and q.gap and q.cls == "text" and q.kind in ("word", "compound"):
                t.cls, t.role = "text", "article"
        elif t.role == "diff?":
            t.role = "diff"
            if (p is not None and t.gap and p.cls == "text" and p.kind == "word"
                    and q is not None and q.gap and q.cls == "text" and q.kind == "word"):
                t.cls, t.role = "text", ""
    for i in range(n - 1, -1, -1):  # functions, from the right: log det A
        t = toks[i]
        if t.role == "func?":
            q = nxt(i)
            applied = q is not None and (
                (not q.gap and (q.kind in ("sup", "sub", "script")
                                or q.kind == "char" and _base(q) in "([′″‴'"))
                or (q.gap and q.cls == "math" and (
                    q.kind in ("word", "ident", "number")
                    or q.kind == "char" and (_base(q) in "‖∂" or _base(q) in GREEK_LATEX))))
            t.role = "func" if applied or t.cls == "math" else ""
            t.cls = "math" if applied or t.cls == "math" else "text"
    # 2. brackets
    stack: list = []
    for i, t in enumerate(toks):
        if t.kind != "char":
            continue
        if t.text in "([":
            p, q = prev(i), nxt(i)
            prose = (p is None or t.gap or p.cls == "text") and q is not None and \
                q.kind in ("word", "compound") and q.cls == "text"
            t.cls = "text" if prose else "math"
            stack.append(i)
        elif t.text in ")]":
            opened = stack.pop() if stack else None
            t.cls = toks[opened].cls if opened is not None else "math"
            o = toks[opened] if opened is not None else None
            if o is not None and o.cls == "math" and (opened == 0 or o.gap) and any(
                    u.cls == "text" and u.kind in ("word", "compound")
                    for u in toks[opened + 1:i]):
                o.cls = t.cls = "text"  # an aside with words in it: (z is m×1, X is m×n)
    for i, t in enumerate(toks):  # a colon after a closing aside ends a sentence too
        p, q = prev(i), nxt(i)
        if t.kind == "char" and t.text == ":" and not t.gap and p is not None and \
                p.kind == "char" and p.text in ")]" and p.cls == "text" and (q is None or q.gap):
            t.cls, t.role = "", "colon"
    # 3. numbers and punctuation, by their neighbours
    neutral = [i for i, t in enumerate(toks) if not t.cls]
    for i in neutral:
        t = toks[i]
        if t.kind not in ("number", "ellipsis") and not (
                t.kind == "char" and (t.text in _PUNCT or t.role == "colon")):
            t.cls = "math"
    for i in [i for i in neutral if toks[i].kind != "number"] + \
            [i for i in neutral if toks[i].kind == "number"]:
        t = toks[i]
        if t.cls:
            continue
        left = next((toks[j].cls for j in range(i - 1, -1, -1) if toks[j].cls), None)
        right = next((toks[j].cls for j in range(i + 1, n) if toks[j].cls), None)
        if t.kind == "number":
            prose = left == "text" and right in ("text", None)
        else:
            prose = left == "text" or right == "text"
        if t.kind == "number" and (
                (not t.gap and i > 0 and toks[i - 1].cls == "math")
                or (i + 1 < n and not toks[i + 1].gap and toks[i + 1].cls == "math")):
            prose = False
        t.cls = "text" if prose else "math"
        if t.kind != "number" and t.cls == "math" and t.role != "colon":
            t.role = "punct"


def _classify_word(t: _Tok, p: _Tok | None, q: _Tok | None, funcs) -> None:
    letters = _letters(t.text)
    touching = (q is not None and not q.gap and (
        _is_mathy_symbol(q) or q.kind == "number"
        or q.kind == "char" and _base(q) in "([")) or (
        p is not None and not t.gap and _is_mathy_symbol(p))
    spaced = _is_binary(p) or _is_binary(q)
    forced = touching or spaced
    if "'" in t.text or "’" in t.text:
        t.cls = "text"
    elif letters in funcs:
        t.role, t.cls = "func?", "math" if forced else ""
    elif forced:
        t.cls = "math"
        if len(letters) == 2 and letters[0] == "d":
            t.role = "diff"
    elif len(letters) == 1:
        t.cls = "math"
        if letters == "a":
            t.role = "article?"
    elif len(letters) == 2 and letters[0] == "d":
        t.cls, t.role = "math", "diff?"
    elif letters[1:].islower():
        t.cls = "text"
    else:
        t.cls = "math"


# ---- output -----------------------------------------------------------------------------


def _text_escape(text: str) -> str:
    out: list = []
    for ch in text:
        if ch in _TEXT_ACCENTS:
            if out:
                out[-1] = "\\" + _TEXT_ACCENTS[ch] + "{" + out[-1] + "}"
        elif unicodedata.combining(ch):
            continue
        elif ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch.isascii():
            out.append(ch)
        else:
            out.append(_unknown(ch, text_mode=True))
    return "".join(out)


_ACCENTED = re.compile(r"\\(.)\{(.)\}")
_CODE_POINT = re.compile(r"\[U\+([0-9A-F]{4,6})\]")


@lru_cache(maxsize=1)
def _unescapes() -> tuple:
    """(LaTeX, character) pairs undoing `_text_escape`, longest first (for a LaTeX
    spelling shared by two characters, the first one listed)."""
    pairs: dict = {}
    for ch, tex in _TEXT_ESCAPES.items():
        if len(tex) > 1:
            pairs.setdefault(tex, ch)
    return tuple(sorted(pairs.items(), key=lambda p: -len(p[0])))


def text_unescape(body: str) -> str:
    r"""The characters that the body of a ``\text{...}`` written here stands for: the
    inverse of the escaping of prose (accents recombined, code points restored).

    >>> text_unescape(r"\{a\_b\} caf\'{e} 50\%")
    '{a_b} café 50%'
    """
    marks = {letter: mark for mark, letter in _TEXT_ACCENTS.items()}
    out, i = [], 0
    while i < len(body):
        for tex, ch in _unescapes():
            if body.startswith(tex, i):
                out.append(ch)
                i += len(tex)
                break
        else:
            m = _ACCENTED.match(body, i)
            c = _CODE_POINT.match(body, i)
            if m and m.group(1) in marks:
                out.append(m.group(2) + marks[m.group(1)])
                i = m.end()
            elif c:
                out.append(chr(int(c.group(1), 16)))
                i = c.end()
            else:
                out.append(body[i])
                i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _unknown(ch: str, text_mode: bool = False) -> str:
    code = "[U+%04X]" % ord(ch)
    return code if text_mode else r"\text{" + code + "}"


def _accented(base: str, marks: str) -> str:
    for mark in marks:
        if mark in ACCENT_LATEX:
            base = ACCENT_LATEX[mark] + "{" + base + "}"
    return base


def _letter_latex(piece: str) -> list:
    """A run of letters with combining accents, one LaTeX piece a letter."""
    out: list = []
    for m in re.finditer(_LETTER, piece):
        out.append(_accented(m.group()[0], m.group()[1:]))
    return out


def _function_latex(name: str) -> str:
    return "\\" + name if name in LATEX_OPERATORS else r"\operatorname{" + name + "}"


def _char_latex(tok: _Tok, nesting: int) -> str:
    ch, marks = tok.text[0], tok.text[1:]
    if unicodedata.combining(ch):
        return ""
    if ch in MATH_SYMBOLS:
        out = MATH_SYMBOLS[ch]
    elif ch in GREEK_LATEX:
        out = GREEK_LATEX[ch]
    elif ch.isascii():
        out = ch
    else:
        decomposed = unicodedata.normalize("NFKD", ch)
        if unicodedata.decomposition(ch).startswith("<fraction>") and "⁄" in decomposed:
            num, den = decomposed.split("⁄", 1)
            return r"\tfrac{" + num + "}{" + den + "}"
        nfkc = unicodedata.normalize("NFKC", ch)
        if nfkc != ch and nesting < _MAX_NESTING:
            return "{" + _convert(nfkc, nesting + 1) + "}"
        return _unknown(ch)
    return _accented(out, marks) if marks else out


def _script_latex(tok: _Tok) -> str:
    """The body of a run of Unicode superscripts or subscripts (ᵀ is \\top)."""
    pieces = []
    for ch in tok.text:
        plain = unicodedata.normalize("NFKC", ch)
        if ch == "ᵀ":
            pieces.append(r"\top")
        elif plain in MATH_SYMBOLS:
            pieces.append(MATH_SYMBOLS[plain])
        elif plain.isascii():
            pieces.append(plain)
        elif plain in GREEK_LATEX:
            pieces.append(GREEK_LATEX[plain])
        else:
            pieces.append(_unknown(ch))
    return join_latex(pieces)


class _Math:
    """Mathematics being written: pieces, and which scripts the last atom carries."""

    def __init__(self):
        self.pieces: list = []
        self.sup = ""  # "", "prime" (a prime just written: ^ may follow), "sup"
        self.sub = False

    def atom(self, text: str, gap: bool = False):
        if gap and self.pieces and not self.pieces[-1].endswith("\\ "):
            self.pieces.append(" ")
        if text:
            self.pieces.append(text)
            scripts = top_level_scripts(text)  # W_{1} already has a subscript
            self.sup, self.sub = ("sup" if "^" in scripts else ""), "_" in scripts

    def script(self, kind: str, body: str):
        while self.pieces and self.pieces[-1] == " ":
            self.pieces.pop()  # a script attaches to what is before it
        if kind == "prime":
            if self.sup == "sup":
                self.pieces.append("{}")
                self.sub = False
            self.pieces.append(body)
            self.sup = "prime"
        elif kind == "^":
            if self.sup == "sup":  # after a prime, ^ merges with it (f'^{2})
                self.pieces.append("{}")
                self.sub = False
            self.pieces.append("^{" + body + "}")
            self.sup = "sup"
        else:
            if self.sub:
                self.pieces.append("{}")
                self.sup = ""
            self.pieces.append("_{" + body + "}")
            self.sub = True
            if self.sup == "prime":
                self.sup = "sup"

    def text(self) -> str:
        return join_latex(self.pieces)


def _render(toks: list, nesting: int) -> str:
    out = _Math()
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        if t.cls == "text":
            j = i
            body = ""
            while j < n and toks[j].cls == "text":
                body += (" " if toks[j].gap and j > i else "") + _text_escape(toks[j].text)
                j += 1
            lead = " " if t.gap and i > 0 else ""
            trail = " " if j < n and toks[j].gap else ""
            out.atom(r"\text{" + lead + body + trail + "}")
            i = j
            continue
        gap = t.gap and i > 0 and toks[i - 1].cls != "text"
        _render_math(t, toks[i + 1] if i + 1 < n else None, gap, out, nesting)
        i += 1
    return out.text()


def _render_math(t: _Tok, q: _Tok | None, gap: bool, out: _Math, nesting: int) -> None:
    if t.kind == "sup":
        out.script("^", _script_latex(t))
    elif t.kind == "sub":
        out.script("_", _script_latex(t))
    elif t.kind == "script":
        if nesting < _MAX_NESTING:
            body = _convert(t.arg, nesting + 1)
        else:
            body = r"\text{" + _text_escape(t.arg) + "}"
        out.script("^" if t.text == "^" else "_", body)
    elif t.kind == "char" and _base(t) in "′″‴'":
        out.script("prime", MATH_SYMBOLS.get(_base(t), "'"))
    elif t.kind == "word":
        out.atom(_word_latex(t, q), gap)
    elif t.kind == "ident":
        out.atom(latex_name(t.text), gap)
    elif t.kind == "number":
        out.atom(_number_latex(t.text), gap)
    elif t.kind == "compound":
        out.atom(r"\text{" + _text_escape(t.text) + "}", gap)
    elif t.kind == "ellipsis":
        out.atom(r"\ldots", gap)
    elif t.role == "punct" or t.role == "colon":
        ch = _base(t)
        if ch == ";":
            out.atom(";" + (r"\ " if q is not None and q.gap else ""), gap)
        else:
            out.atom(_MATH_PUNCT.get(ch, ch), gap)
    else:
        out.atom(_char_latex(t, nesting), gap)


def _number_latex(text: str) -> str:
    """A number; in scientific notation (1.5e-09) as 1.5 × 10⁻⁹."""
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    return rf"{mantissa}\times 10^{{{int(exponent)}}}"


def _word_latex(t: _Tok, q: _Tok | None) -> str:
    letters = _letters(t.text)
    if t.role == "func":
        return _function_latex(letters)
    pieces = _letter_latex(t.text)
    if t.role == "diff" or (letters == "d" and q is not None and _operand(q)):
        return join_latex([r"\mathrm{d}"] + pieces[1:])
    if len(letters) == 1 or not letters[1:].islower():
        return join_latex(pieces)
    if q is not None and not q.gap and q.kind == "char" and _base(q) == "(":
        return r"\operatorname{" + join_latex(pieces) + "}"
    return r"\mathrm{" + join_latex(pieces) + "}"


def _operand(q: _Tok) -> bool:
    """Whether q can follow a differential d (d det A, d(A B), d‖A‖, dA)."""
    if q.cls != "math":
        return False
    if q.kind in ("word", "ident"):
        return True
    return q.kind == "char" and (_base(q) in "(‖∂[" or _base(q) in GREEK_LATEX)
