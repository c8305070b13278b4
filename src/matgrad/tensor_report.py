r"""Jacobians, Hessians and higher derivatives presented: which derivative each variable
gets, the forms it is shown in, and the line that says whether it was verified.

A `Derivative` (from `matgrad.jacobian`) is shown in up to four forms, each an equation:
the definition of the function's name where it has one (z = X w), the matrix form where
the derivative has at most two axes, the index notation (always), and the Kronecker (vec)
form where one exists. `latex_forms` gives them as (form, left side, right side) in
LaTeX; the command line joins them into one `aligned` environment and the web page shows
them row by row. `verification` runs the library's own check (`Derivative.verify`).

>>> import matgrad as mg
>>> m, n = mg.dims("m n")
>>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
>>> d = derivative_of("jacobian", X @ w, X, name="z")
>>> [form for form, _, _ in latex_forms(d)]
['definition', 'index', 'vec']
>>> latex_forms(d)[1][2]
'\\delta_{ij} \\, w_{k}'
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

KINDS = ("jacobian", "hessian")
FORMS = ("definition", "matrix", "index", "vec")
CHECK_POINTS = 3  # random points at which a derivative is verified


def derivative_of(kind: str, F, x, order: int | None = None, layout: str = "numerator",
                  name: str | None = None):
    """The derivative of F with respect to x that `kind` asks for: the Jacobian (order 1
    by default), the Hessian of a scalar (order 2 by default), or a higher derivative
    (index notation) for any other order. `layout` applies to first derivatives."""
    from .jacobian import derivative, hessian, jacobian
    order = (1 if kind == "jacobian" else 2) if order is None else order
    if kind == "jacobian" and order == 1:
        return jacobian(F, x, layout=layout, name=name)
    if kind == "hessian" and order == 2:
        return hessian(F, x, name=name)
    return derivative(F, x, order, name=name)


# ---- names and text ----------------------------------------------------------------------


def named(d):
    """d, called by the short name its label uses (L or F) where the function is too
    long to write in every left side; a definition form then says what the name stands
    for. A derivative with a name, or of a short function, is returned as it is."""
    from dataclasses import replace
    short = d._of_name(True)
    if d.name or short == d._of_text(True):
        return d
    return replace(d, name=short)


def summary(d) -> str:
    """What the derivative is, in words: "m×n matrix, numerator layout", "tensor of
    order 3, shape m×m×n, axes in numerator layout"."""
    head = d.describe().splitlines()[0]
    return head[len(d.label()):].strip().removeprefix("(").removesuffix(")")




def text_block(d, *, unicode: bool = True) -> str:
    """The derivative's description: name and shape, matrix form, index notation, vec
    form. ASCII throughout without unicode."""
    out = d.describe(unicode=unicode)
    return out if unicode else out.replace("×", " x ")


# ---- LaTeX ------------------------------------------------------------------------------


def function_latex(d) -> str:
    """The function's name as the left sides write it: its own name, the variable, or
    the expression in parentheses."""
    from .printing.symbols import latex_name
    if d.name:
        return latex_name(d.name)
    if d.of.op == "var":
        return d.of.to_latex()
    return r"\left(" + d.of.to_latex() + r"\right)"


def label_latex(d) -> str:
    """∂F/∂x, ∂²L/∂x² (the left side of the matrix form) in LaTeX."""
    up = f"^{{{d.order}}}" if d.order > 1 else ""
    return rf"\frac{{\partial{up} {function_latex(d)}}}{{\partial {d.wrt.to_latex()}{up}}}"


def latex_forms(d) -> list[tuple[str, str, str]]:
    """(form, left side, right side) for each form the derivative has, in the order of
    FORMS."""
    F = function_latex(d)
    rows = []
    if d.name and d.of.op != "var":
        rows.append(("definition", F, d.of.to_latex()))
    x = d.wrt.to_latex()
    if d.expr is not None:
        rows.append(("matrix", label_latex(d), d.expr.to_latex()))
    lhs, rhs = d.index_notation(latex=True).split(" = ", 1)
    rows.append(("index", lhs, rhs))
    if d.vec is not None:
        K = vec_latex(d.vec)
        vec_x = r"\operatorname{vec}\left(" + x + r"\right)"
        if d.kind == "hessian":
            rows.append(("vec", rf"\frac{{\partial^{{2}} {F}}}{{\partial {vec_x}^{{2}}}}", K))
        else:
            grouped = rf"\left({K}\right)" if len(d.vec.terms) > 1 else K
            rows.append(("vec", rf"\mathrm{{d}} \operatorname{{vec}}\left({F}\right)",
                         rf"{grouped} \, \mathrm{{d}} {vec_x}"))
    return rows


def latex_rows(d) -> list[str]:
    """The rows of an aligned environment, `left &= right`, one per form."""
    return [f"{lhs} &= {rhs}" for _, lhs, rhs in latex_forms(d)]


def aligned(derivatives) -> str:
    """One `aligned` environment with every form of each derivative (a definition
    shared by several is written once)."""
    rows = list(dict.fromkeys(row for d in derivatives for row in latex_rows(d)))
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def vec_latex(vec) -> str:
    """LaTeX of a Kronecker form K = Σ c (P ⊗ Q) [K_rs] or c diag(vec S)."""
    from .tensor.vec import COMMUTED, DIAG
    if not vec.terms:
        return "0"
    r, s = vec.input_shape
    commutation = f"K_{{{r},{s}}}"
    out = []
    for n, t in enumerate(vec.terms):
        if t.kind == DIAG:
            body = (r"\operatorname{diag}\left(\operatorname{vec}\left(" + t.Q.to_latex()
                    + r"\right)\right)")
        elif t.kind == COMMUTED and t.P.op == "eye" and t.Q.op == "eye":
            body = commutation
        else:
            body = (r"\left(" + _operand_latex(t.P) + r" \otimes " + _operand_latex(t.Q)
                    + r"\right)")
            if t.kind == COMMUTED:
                body += " " + commutation
        c = t.coef
        negative = c < 0
        c = -c if negative else c
        if c != 1:
            body = f"{_number_latex(c)} \\cdot {body}"
        if n == 0:
            out.append(("-" if negative else "") + body)
        else:
            out.append((" - " if negative else " + ") + body)
    return "".join(out)


def _operand_latex(e) -> str:
    if e.op == "eye":
        return f"I_{{{e.shape[0]}}}"
    text = e.to_latex()
    if e.op in ("add", "sub", "mul", "div", "neg", "matmul"):
        return r"\left(" + text + r"\right)"
    return text


def _number_latex(c) -> str:
    if isinstance(c, Fraction) and c.denominator != 1:
        return rf"\frac{{{c.numerator}}}{{{c.denominator}}}"
    if isinstance(c, Fraction):
        return str(c.numerator)
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    return str(c)


# ---- code -------------------------------------------------------------------------------


def source(d, backend: str = "numpy", name: str | None = None) -> str:
    """The source of a function returning the derivative (a matrix, or the array of a
    tensor computed by einsum), after comment lines naming it."""
    from .codegen import generate_source
    result = "J" if d.kind == "jacobian" else "H" if d.kind == "hessian" else "D"
    code = generate_source(d, [] if d.expr is not None else None, backend, name=name,
                           loss_name=result)
    lines = text_block(d, unicode=False).splitlines()
    comment = [f"# {result} = {lines[0]}"] + [f"# {x}" for x in lines[1:]
                                                if x.startswith("where ")]
    return "\n".join(comment) + "\n" + code


# ---- the numeric check --------------------------------------------------------------------


@dataclass(frozen=True)
class DerivativeCheck:
    """The outcome of verifying one derivative: passed, the largest relative error, and
    the sentence that says so."""

    ok: bool
    max_error: float
    text: str


def verification(d, sizes=None, *, unicode: bool = True) -> DerivativeCheck:
    """The library's check of a derivative (its index form against central finite
    differences of the next-lower derivative), and the line that reports it."""
    from .verify import TOLERANCE
    err = d.verify(points=CHECK_POINTS, sizes=sizes)
    label = d.label(unicode=unicode)
    if d.order == 1:
        lower = "the function"
    elif d.kind == "hessian":
        lower = "the gradient"
    else:
        lower = f"the derivative of order {d.order - 1}"
    ok = math.isfinite(err) and err <= TOLERANCE  # NaN fails
    if ok:
        return DerivativeCheck(True, err, (
            f"verified numerically: {label} (its index form) matches central finite "
            f"differences of {lower} along random directions at {CHECK_POINTS} random "
            f"points (largest relative error {err:.1e})"))
    return DerivativeCheck(False, err, (
        f"VERIFICATION FAILED for {label}: largest relative error {err:.1e} against "
        f"central finite differences of {lower} exceeds {TOLERANCE:.0e}"))
