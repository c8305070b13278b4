"""Mathematical text: the Unicode notation matgrad prints, and the way people type it.

    z = X w + b; ŷ = relu(z); L = ‖ŷ − y‖²/m
    xᵀ A x + 2x,   A⁻¹ b,   X^T X,   A' B,   1/2 ‖A x − b‖²,   tr(Aᵀ B),   A : B

The grammar is `math.lark`; names read as the printer writes them (ŷ is yhat, W₁ is W1,
λ is lam), functions by their printed names (σ, H, log σ, tr, log det) as well as the
Python-like ones, and constants as printed (1ₙ, 1ₘₓₙ, 0ₘₓₙ, I). The notation page of
the documentation gives the precedence and the ambiguous cases.
"""
from __future__ import annotations

import unicodedata

from ..parser import Program
from .names import SUBSCRIPTS, text_name
from .reading import Reader, around, at, run, superscript_number
from .tree import NORM_SUBSCRIPTS, Node


class MathReader(Reader):
    def name(self, c):
        tok = c[0]
        raw = str(tok)
        canonical = text_name(raw)
        if canonical is None:
            raise self.error(f"cannot read the name {raw!r}", tok)
        cut = next((i for i, ch in enumerate(raw) if ch in SUBSCRIPTS), len(raw))
        base = text_name(raw[:cut]) if cut else None
        sub = unicodedata.normalize("NFKC", raw[cut:]) if cut < len(raw) else None
        return Node("name", (), canonical, tok.start_pos, tok.end_pos,
                    {"raw": unicodedata.normalize("NFKC", raw), "base": base, "sub": sub,
                     "splittable": True})

    def target(self, tok):
        return self.name([tok])

    def constant(self, c):
        num, sub = c
        kind = {"1": "ones", "0": "zeros"}.get(str(num))
        if kind is None:
            raise self.error("only 1 and 0 take a shape as a subscript (1ₙ, 0ₘₓₙ)", sub)
        text = str(sub)
        if text.startswith("["):
            parts = text[1:-1].replace("x", "×").split("×")
        else:
            parts = text.split("ₓ")
        sizes = [unicodedata.normalize("NFKC", p).strip() for p in parts]
        if not 1 <= len(sizes) <= 2 or not all(sizes):
            raise self.error(f"cannot read the shape {text!r}", sub)
        shape = (sizes[0], sizes[1] if len(sizes) == 2 else 1)
        return Node(kind, (), shape, at(num)[0], at(sub)[1])

    def norm(self, c):
        inner = c[1]
        sub = c[3] if len(c) > 3 else None
        which = None
        if sub is not None:
            text = unicodedata.normalize("NFKC", str(sub.children[0])).strip("_{} ")
            which = NORM_SUBSCRIPTS.get(text)
            if which is None:
                raise self.error("the norms are ‖·‖ (2-norm of a vector, Frobenius norm of "
                                 "a matrix), ‖·‖₂ (of a matrix its spectral norm), ‖·‖_F, "
                                 "‖·‖₁, ‖·‖_∞ and ‖·‖_* (the nuclear norm)", sub.children[0])
        return around("norm", [x for x in c if x is not None and not hasattr(x, "data")]
                      + ([sub.children[0]] if sub is not None else []), (inner,), which)

    def sup(self, c):
        x, tok = c
        return self.exponent(x, superscript_number(str(tok)), tok, hadamard=False)

    def order(self, c):
        x, tok = c
        return Reader.order(self, x, superscript_number(str(tok)[1:-1]), tok)

    def power(self, c):
        x, _caret, p = c
        return self.exponent(x, p, p, hadamard=False)

    def hpower(self, c):
        x, _caret, p = c
        return self.exponent(x, p, p, hadamard=True)


def parse_program(text: str, declared: dict, dim_names: set) -> Program:
    """Mathematical text into a Program (shapes already read, as by the parser)."""
    return run("math.lark", text, MathReader(text), declared, dim_names, "math")
