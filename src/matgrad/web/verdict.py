"""A verdict on a claimed gradient as the page shows it: the explanation as HTML, words
as text and formulas as MathML, and the counterexample as data for small tables.

The library's verdict (`matgrad.check`) is a message in plain text with Unicode
mathematics. Line by line, it becomes a paragraph: the claim, which is text in the input
language, is typeset from its parsed form; the rest goes through `prose_html`. The lines
that state a counterexample are left out of the paragraphs: the counterexample comes as
numbers (`counterexample`), which the page sets as aligned tables. The derivation that a
wrong shape's message shows in plain text comes as HTML from the steps' own renderer
(`derivation_html`), so that it reads as on the steps panel.

>>> import matgrad as mg
>>> r = mg.check("sum((X @ w)**2)", "X", "X @ w @ w.T", shapes="X: m,n; w: n")
>>> html = explanation_html(r, "X @ w @ w.T", lambda: "")
>>> html.startswith("<p>") and "<math" in html and "Counterexample" not in html
True
"""
from __future__ import annotations

import html as _html

import numpy as np

from ..printing.mathml import prose_html, to_mathml

ROUTE = "The differential route"  # the sentence before a wrong shape's derivation


def counterexample_lines(result) -> list[str]:
    """The lines of the message that state the counterexample (none if there is none)."""
    ce = result.counterexample
    if ce is None:
        return []
    lines = result.message.splitlines()
    for x in ce.point:
        stated = ("Counterexample: " + ce.describe(x) + ".").splitlines()
        if all(line in lines for line in stated):
            return stated
    return []


def explanation_html(result, claim: str, derivation_html) -> str:
    """The message as HTML paragraphs, without the verdict word that starts it (the page
    shows the verdict) and without the counterexample's lines. `derivation_html()` gives
    the derivation that a wrong shape's message refers to."""
    lines = result.message.splitlines()
    word = result.verdict.replace("-", " ") + ":"
    if lines and lines[0].startswith(word):
        lines[0] = lines[0][len(word):].strip()
    skip = set(counterexample_lines(result))
    claim_text = " ".join(claim.split())
    claim_math = _claim_html(result, claim_text)
    out, route = [], False
    for line in lines:
        if line in skip:
            continue
        if route and line.startswith(" "):
            continue  # the derivation in text; shown once, as HTML, below its sentence
        route = line.startswith(ROUTE)
        body = line.strip()
        if body == claim_text:  # a claim that does not type-check, on a line of its own
            out.append(f'<p class="claim"><code>{_html.escape(claim_text)}</code></p>')
            continue
        pieces = body.split(claim_text) if claim_text else [body]
        html = claim_math.join(_prose_piece(p) for p in pieces)
        out.append(f"<p>{html}</p>")
        if route:
            out.append(f'<div class="route markdown">{derivation_html()}</div>')
    return "".join(out)


def _prose_piece(text: str) -> str:
    """prose_html of a piece of a line, keeping the spaces at its ends (which separate
    it from the claim beside it)."""
    if not text.strip():
        return " " if text else ""
    lead = " " if text[0].isspace() else ""
    trail = " " if text[-1].isspace() else ""
    return lead + prose_html(text) + trail


def _claim_html(result, claim_text: str) -> str:
    """The claim typeset from what was parsed, or as code where it did not type-check."""
    if result.claim is not None:
        from ..printing.latex import to_latex
        return to_mathml(to_latex(result.claim))
    return f"<code>{_html.escape(claim_text)}</code>"


def counterexample(result, variable: str) -> dict | None:
    """The counterexample as data: the sizes, the point (each variable's value as rows
    of numbers, formatted alike so that they align), the direction, and the two
    directional derivatives, with HTML for the labels and the closing sentence."""
    ce = result.counterexample
    if ce is None:
        return None
    from ..printing.symbols import latex_name
    # the sizes as text with the dimensions set as variables: "m = 7, n = 5"
    sizes = ", ".join(f"<var>{_html.escape(str(k))}</var> = {int(v)}"
                      for k, v in ce.sizes.items())
    stated = counterexample_lines(result)
    closing = " ".join(line.strip() for line in stated[2:]).rstrip(".")
    return {"sizes": [{"name": str(k), "value": int(v)} for k, v in ce.sizes.items()],
            "sizes_html": sizes,
            "point": [array(name, value, latex_name(name)) for name, value in ce.point.items()],
            "direction": array(f"d{variable}", ce.direction,
                               r"\mathrm{d}" + latex_name(variable)),
            "html": prose_html(closing) if closing else "",
            "claimed": number(ce.claimed), "true": number(ce.true),
            "finite_difference": number(ce.finite_difference),
            "values": {"claimed": _finite(ce.claimed), "true": _finite(ce.true),
                       "finite_difference": _finite(ce.finite_difference)}}


def array(name: str, value, latex: str | None = None) -> dict:
    """{name, label_mathml, shape, rows}: a matrix row by row, a vector as a column, a
    number as a 1×1 table; every entry formatted with the same number of decimals."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a.reshape(-1, 1)
    finite = np.abs(a[np.isfinite(a)])
    big = finite.size and (finite.max() >= 1e5 or 0 < finite[finite > 0].min(initial=1) < 1e-3)
    cells = [[number(v, scientific=bool(big)) for v in row] for row in a]
    shape = "×".join(str(n) for n in a.shape) if a.shape != (1, 1) else "scalar"
    return {"name": name, "label_mathml": to_mathml((latex or name) + " ="), "shape": shape,
            "rows": cells}


def number(v: float, scientific: bool = False) -> str:
    """A number as the counterexample shows it: three decimals (or three significant
    digits in scientific notation), a true minus sign."""
    v = float(v)
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("∞" if v > 0 else "−∞")
    text = f"{v:.2e}" if scientific else (f"{v:.3f}" if abs(v) < 1e5 else f"{v:.4g}")
    return text.replace("-", "−")


def _finite(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
