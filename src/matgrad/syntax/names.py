"""How written names read as the library's names: the printer's spellings, backwards.

The tables are the printer's own (Greek letters, accents, subscripts), so a name printed
as ŷ, W₁, λ or \\hat{y} reads back as yhat, W1, lam: every printed name parses back.
"""
from __future__ import annotations

import unicodedata

from ..printing.symbols import ACCENTS, GREEK

# λ → lam (the first spelling printed as λ), and \lambda → lam
SPELLED = {}
for _spelled, (_uni, _tex) in GREEK.items():
    SPELLED.setdefault(_uni, _spelled)
LATEX_GREEK = {}
for _spelled, (_uni, _tex) in GREEK.items():
    LATEX_GREEK.setdefault(_tex[1:], _spelled)
# the other Greek letters keep their LaTeX spelling (\pi → pi)
for _word in ("pi", "Pi", "Xi", "upsilon", "Upsilon", "varsigma", "vartheta", "varpi",
              "varrho", "varkappa", "varepsilon", "varphi"):
    LATEX_GREEK.setdefault(_word, _word)
MARKS = {mark: name for name, mark in ACCENTS.items() if name in ("hat", "bar", "tilde")}
LATEX_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar",
                 "tilde": "tilde", "widetilde": "tilde"}
SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"


def text_name(raw: str) -> str | None:
    """ŷ → yhat, W₁ → W1, θ₁ → theta1, xₙ → xn; None where a character has no reading."""
    out = ""
    for ch in unicodedata.normalize("NFD", raw):
        if ch.isascii():
            out += ch
        elif ch in SPELLED:
            out += SPELLED[ch]
        elif ch in MARKS:
            out += MARKS[ch]
        elif unicodedata.normalize("NFKC", ch).isascii():  # ₁ → 1
            out += unicodedata.normalize("NFKC", ch)
        else:
            spelled = unicodedata.normalize("NFKC", ch)
            if not spelled.isidentifier():
                return None
            out += spelled
    return out if out.isidentifier() else None
