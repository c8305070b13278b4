"""Index notation printed: ∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ, as text or LaTeX, and the einsum form.

Free indices get the letters i, j, k, l, p, r, s, t, u, v in order; summed indices get
a, e, h, o, x and are summed explicitly (Σₐ), so that a product of three factors sharing
an index is not mistaken for the two-factor Einstein convention.
"""
from __future__ import annotations

from fractions import Fraction

from ..printing.symbols import subscript, top_level_scripts
from .terms import Delta, Tensor

FREE_LETTERS = "ijklprstuv"
SUMMED_LETTERS = "aehox"


def letters(t: Tensor, fixed: dict | None = None) -> dict:
    """Index -> letter: free indices in order, then summed ones in order of appearance;
    `fixed` assigns letters to some indices beforehand."""
    out: dict = dict(fixed or {})
    used = set(out.values())
    pool = (x for x in FREE_LETTERS + SUMMED_LETTERS if x not in used)
    for i in t.free:
        if i not in out:
            out[i] = next(pool, None) or _letter(FREE_LETTERS, len(out))
    used = set(out.values())
    n = 0
    for term in t.terms:
        for i in term.indices():
            while i not in out:
                x = _letter(SUMMED_LETTERS, n)
                n += 1
                if x not in used:
                    out[i] = x
    return out


def _letter(pool: str, n: int) -> str:
    return pool[n] if n < len(pool) else f"{pool[n % len(pool)]}{n // len(pool)}"


def index_subscript(idx: list, unicode: bool) -> str:
    text = "".join(idx)
    if not text:
        return ""
    if unicode:
        s = subscript(text)
        if s is not None:
            return s
    return "_" + (text if len(text) == 1 else "{" + text + "}")


def _coef_text(c, unicode: bool) -> tuple[str, bool]:
    """(|c| as text, negative?)"""
    negative = c < 0
    c = -c if negative else c
    if isinstance(c, int):
        c = Fraction(c)
    if isinstance(c, Fraction):
        text = str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"
    else:
        text = repr(float(c))
    return text, negative


def latex_indexed(body: str, idx) -> str:
    """body with the index letters idx as a subscript; a body with a subscript of its
    own at the top level (W_{1}) is braced first, so that the two do not clash."""
    text = "".join(idx)
    if not text:
        return body
    if "_" in top_level_scripts(body):
        body = "{" + body + "}"
    return body + "_{" + text + "}"


def _factor_text(f, names: dict, expr_names: dict, unicode: bool, latex: bool) -> str:
    idx = [names[i] for i in f.indices]
    if isinstance(f, Delta):
        if latex:
            return r"\delta_{" + "".join(idx) + "}"
        return ("δ" if unicode else "delta") + index_subscript(idx, unicode)
    e = f.expr
    if latex:
        body = e.to_latex(names=expr_names)
        if e.op not in ("var", "dim", "const"):
            body = r"\left(" + body + r"\right)"
        return latex_indexed(body, idx)
    body = e.to_text(names=expr_names, unicode=unicode)
    if e.op not in ("var", "dim", "const") and e not in expr_names:
        body = f"({body})" if unicode else f"[{body}]"
    return body + index_subscript(idx, unicode)


def index_text(t: Tensor, *, unicode: bool = True, latex: bool = False,
               expr_names: dict | None = None, fixed: dict | None = None) -> str:
    """The right-hand side of a tensor in index notation.

    >>> import matgrad as mg
    >>> from matgrad.tensor.terms import Tensor, Term, Delta, Factor, fresh
    >>> m, n = mg.dims("m n")
    >>> w = mg.vector("w", n)
    >>> i, j, k = fresh(m), fresh(m), fresh(n)
    >>> index_text(Tensor((i, j, k), (Term(1, (Delta(i, j), Factor(w, k, None))),)))
    'δᵢⱼ wₖ'
    """
    names = letters(t, fixed)
    expr_names = expr_names or {}
    if not t.terms:
        return "0"
    parts = []
    for n, term in enumerate(t.terms):
        summed = [i for i in term.indices() if i not in t.free]
        pieces = []
        text, negative = _coef_text(term.coef, unicode)
        if latex and "/" in text:
            text = r"\frac{%s}{%s}" % tuple(text.split("/"))
        if text != "1" or not term.factors:
            pieces.append(text)
        scalars = [f for f in term.factors if not isinstance(f, Delta) and not f.indices]
        rest = [f for f in term.factors if isinstance(f, Delta) or f.indices]
        for f in scalars + rest:
            pieces.append(_factor_text(f, names, expr_names, unicode, latex))
        sep = r" \, " if latex else " "
        body = sep.join(pieces)
        if summed:
            if latex:
                body = r"\sum_{" + ",".join(names[i] for i in summed) + "} " + body
            else:
                body = ("Σ" if unicode else "sum") + index_subscript([names[i] for i in summed],
                                                          unicode) + " " + body
        if n == 0:
            minus = "−" if unicode and not latex else "-"
            parts.append(minus + body if negative else body)
        elif latex:
            parts.append((" - " if negative else " + ") + body)
        else:
            parts.append(((" − " if unicode else " - ") if negative else " + ") + body)
    return "".join(parts)


def einsum_form(t: Tensor) -> list[tuple]:
    """Each term as (coefficient, einsum subscripts, operands), operands being the
    factors' expressions or 'δ' for a delta.

    >>> import matgrad as mg
    >>> from matgrad.tensor.terms import Tensor, Term, Delta, Factor, fresh
    >>> n = mg.dims("n")[0]
    >>> A = mg.matrix("A", n, n)
    >>> i, k, a = fresh(n), fresh(n), fresh(n)
    >>> einsum_form(Tensor((i, k), (Term(2, (Factor(A, i, a), Factor(A, a, k))),)))
    [(2, 'ia,aj->ij', [A, A])]
    """
    names = letters(t)
    out = []
    for term in t.terms:
        specs, operands = [], []
        for f in term.factors:
            specs.append("".join(names[i] for i in f.indices))
            operands.append("δ" if isinstance(f, Delta) else f.expr)
        out.append((term.coef, ",".join(specs) + "->" + "".join(names[i] for i in t.free),
                    operands))
    return out
