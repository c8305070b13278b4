"""How names look: Greek letters, hats and bars, subscripts."""
from __future__ import annotations

import re

GREEK = {
    "alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
    "delta": ("δ", r"\delta"), "epsilon": ("ε", r"\epsilon"), "zeta": ("ζ", r"\zeta"),
    "eta": ("η", r"\eta"), "theta": ("θ", r"\theta"), "kappa": ("κ", r"\kappa"),
    "lam": ("λ", r"\lambda"), "lambda_": ("λ", r"\lambda"), "mu": ("μ", r"\mu"),
    "nu": ("ν", r"\nu"), "xi": ("ξ", r"\xi"), "rho": ("ρ", r"\rho"),
    "sigma": ("σ", r"\sigma"), "tau": ("τ", r"\tau"), "phi": ("φ", r"\phi"),
    "chi": ("χ", r"\chi"), "psi": ("ψ", r"\psi"), "omega": ("ω", r"\omega"),
    "Gamma": ("Γ", r"\Gamma"), "Delta": ("Δ", r"\Delta"), "Theta": ("Θ", r"\Theta"),
    "Lambda": ("Λ", r"\Lambda"), "Sigma": ("Σ", r"\Sigma"), "Phi": ("Φ", r"\Phi"),
    "Psi": ("Ψ", r"\Psi"), "Omega": ("Ω", r"\Omega"),
}
# Greek letters that have no spelled name above (so that a variable called pi stays
# pi), with their LaTeX; capitals that look Latin are the Latin letters in LaTeX.
GREEK_LATEX = {uni: tex for uni, tex in GREEK.values()}
GREEK_LATEX.update({
    "π": r"\pi", "Π": r"\Pi", "Ξ": r"\Xi", "Υ": r"\Upsilon", "υ": r"\upsilon",
    "ο": "o", "ς": r"\varsigma", "ϵ": r"\epsilon", "ϕ": r"\phi", "ϑ": r"\vartheta",
    "ϖ": r"\varpi", "ϱ": r"\varrho", "ϰ": r"\varkappa",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X",
})
# Combining accents, by the LaTeX math accent that draws each (\hat{y} for ŷ); a name
# can carry the first three as a suffix (yhat, xbar, ztilde).
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307",
           "ddot": "\u0308", "check": "\u030c", "acute": "\u0301", "grave": "\u0300",
           "breve": "\u0306", "vec": "\u20d7"}
ACCENT_LATEX = {mark: "\\" + name for name, mark in ACCENTS.items()}
_SPELLED_GREEK = {}
for _spelled, (_uni, _tex) in GREEK.items():
    _SPELLED_GREEK.setdefault(_uni, _spelled)
_SUB = str.maketrans("0123456789aehijklmnoprstuvx+-=()",
                     "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋₌₍₎")
_SUP = str.maketrans("0123456789-+=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁼⁽⁾ⁿ")
_CONTROL_WORD_END = re.compile(r"\\[A-Za-z]+$")
_NAME = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<deco>hat|bar|tilde)?_?(?P<sub>\d+)?$")


def subscript(text: str) -> str | None:
    """Unicode subscript of text, or None if some character has none."""
    out = text.translate(_SUB)
    return None if any(ch.isascii() and ch not in " " for ch in out) else out


def superscript(text: str) -> str | None:
    out = text.translate(_SUP)
    return None if any(ch.isascii() for ch in out) else out


def unicode_name(name: str) -> str:
    """yhat → ŷ, W1 → W₁, alpha → α; other names unchanged."""
    m = _NAME.match(name)
    if not m:
        return name
    base, deco, sub = m.group("base"), m.group("deco"), m.group("sub")
    if base in GREEK:
        base = GREEK[base][0]
    elif deco and len(base) > 1:
        return name
    if deco:
        base += ACCENTS[deco]
    if sub:
        base += subscript(sub) or f"_{sub}"
    return base


def latex_name(name: str) -> str:
    """yhat → \\hat{y}, W1 → W_{1}, alpha → \\alpha, long names in \\mathrm; a Unicode
    name as its spelling (θ₁ as theta1, ŷ as yhat) or, failing that, letter by letter."""
    if not name.isascii():
        spelled = _spelling(name)
        m = _NAME.match(spelled or "")
        if m and (len(m.group("base")) == 1 or m.group("base") in GREEK):
            return latex_name(spelled)
        return r"\mathrm{" + join_latex(_latex_chars(name)) + "}"
    m = _NAME.match(name)
    if not m:
        return r"\mathrm{" + name.replace("_", r"\_") + "}"
    base, deco, sub = m.group("base"), m.group("deco"), m.group("sub")
    if base in GREEK:
        base = GREEK[base][1]
    elif len(base) > 1:
        base = r"\mathrm{" + base + "}"
    if deco:
        base = "\\" + deco + "{" + base + "}"
    if sub:
        base += "_{" + sub + "}"
    return base


def _spelling(name: str) -> str | None:
    """θ → theta, ŷ → yhat, x̄₁ → xbar1: the ASCII name printed the same way, or None."""
    import unicodedata
    out = ""
    for ch in unicodedata.normalize("NFD", name):
        deco = next((d for d in ("hat", "bar", "tilde") if ACCENTS[d] == ch), None)
        if ch.isascii():
            out += ch
        elif ch in _SPELLED_GREEK:
            out += _SPELLED_GREEK[ch]
        elif deco:
            out += deco
        elif unicodedata.normalize("NFKC", ch).isascii():  # ₁ → 1, ℓ → l
            out += unicodedata.normalize("NFKC", ch)
        else:
            return None
    return out


def _latex_chars(name: str) -> list:
    """The pieces of a name inside \\mathrm: Greek as commands, accents on the letter
    before, other characters by their compatibility form or as their code point."""
    import unicodedata
    out: list = []
    for ch in unicodedata.normalize("NFD", name):
        if ch in ACCENT_LATEX and out:
            out[-1] = ACCENT_LATEX[ch] + "{" + out[-1] + "}"
        elif unicodedata.combining(ch):
            continue
        elif ch == "_":
            out.append(r"\_")
        elif ch.isascii():
            out.append(ch)
        elif ch in GREEK_LATEX:
            out.append(GREEK_LATEX[ch])
        elif unicodedata.normalize("NFKC", ch).isascii():
            out.append(unicodedata.normalize("NFKC", ch).replace("_", r"\_"))
        else:
            out.append(r"\text{[U+%04X]}" % ord(ch))
    return out


def join_latex(pieces) -> str:
    """LaTeX pieces joined, with a space where a control word would run into a letter
    (\\Delta then x gives \\Delta x, not the undefined \\Deltax)."""
    out = ""
    for piece in pieces:
        if piece and out and piece[0].isalpha() and piece[0].isascii() and \
                _CONTROL_WORD_END.search(out):
            out += " "
        out += piece
    return out


_SCRIPT_TOKEN = re.compile(r"\\(?:left|right)(?![A-Za-z])|\\.|[{}_^]")


def top_level_scripts(latex: str) -> set:
    """The scripts ("_", "^") written outside every group of a LaTeX atom: W_{1} has
    "_", so a second subscript on it needs braces ({W_{1}}_{ij})."""
    out: set = set()
    depth = 0
    for m in _SCRIPT_TOKEN.finditer(latex):
        tok = m.group()
        if tok in ("{", r"\left"):
            depth += 1
        elif tok in ("}", r"\right"):
            depth -= 1
        elif tok in ("_", "^") and depth == 0:
            out.add(tok)
    return out
