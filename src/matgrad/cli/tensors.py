"""What `matgrad jacobian`, `matgrad hessian` and `matgrad code --kind ...` share: their
options, the derivatives they ask the library for, and how those are printed.

A derivative is printed with its name and shape: in matrix notation where it is a matrix,
in index notation always, and in its Kronecker (vec) form where it has one. `--verify`
runs the library's own check of a derivative (`Derivative.verify`: its index form against
central finite differences of the next-lower derivative along random directions).
"""
from __future__ import annotations

import argparse
import math
import shlex
from fractions import Fraction

from . import diagnostic

KINDS = ("jacobian", "hessian")


def add_options(p: argparse.ArgumentParser, kind: str) -> None:
    """The options of `matgrad jacobian` (kind 'jacobian') or `matgrad hessian`."""
    what = "function" if kind == "jacobian" else "scalar"
    p.add_argument("expr", metavar="EXPR", help=f"the {what}, e.g. "
                   + ("'X @ w' or 'softmax(W @ x)'" if kind == "jacobian" else
                      "'sum((X @ w - y)**2)'")
                   + "; assignments 'z = ...;' name intermediates, and the last one names "
                     "the result")
    p.add_argument("--wrt", metavar="X,w", help="the variables to differentiate by, "
                   "comma-separated, one result each (default: all)")
    p.add_argument("--shape", "--shapes", dest="shape", default=None, metavar="DECLS",
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred "
                        "from use)")
    default = 1 if kind == "jacobian" else 2
    p.add_argument("--order", type=int, default=default, metavar="N",
                   help=f"the order of the derivative (default {default}"
                        + ("; 2 and more give tensors of higher order)" if kind == "jacobian"
                           else "; 3, 4, ... give third, fourth, ... derivatives, in "
                                "index notation)"))
    if kind == "jacobian":
        p.add_argument("--layout", choices=("numerator", "denominator"), default="numerator",
                       help="numerator: the function's axes first (rows), the variable's "
                            "after (the default); denominator: the transpose")
    p.add_argument("--sizes", default=None, metavar="SIZES",
                   help="with --verify: sizes of dimensions at the random points, e.g. "
                        "'m=7, n=5' (default: distinct sizes at which the expression is "
                        "defined)")
    p.add_argument("--latex", action="store_true",
                   help="print LaTeX (standard output is then LaTeX alone)")
    p.add_argument("--ascii", action="store_true",
                   help="print in the input language (ASCII) instead of Unicode")
    p.add_argument("--verify", action="store_true",
                   help="check each result against central finite differences of the "
                        "next-lower derivative, at random points")
    p.add_argument("--steps", action="store_true",
                   help="steps exist for gradients only (matgrad EXPR --steps); here it "
                        "is an error that says so")
    if kind == "jacobian":
        p.add_argument("--explain", action="store_true",
                       help="explain a tensor-valued Jacobian: what it is, and how the "
                            "chain rule contracts it with a gradient to give a matrix")


def derivatives(program, kind: str, wrt: list | None, order: int, layout: str = "numerator",
                shape: str | None = None, expr: str | None = None,
                command: str = "matgrad") -> list:
    """[(variable name, Derivative)] for each variable of wrt (default: all)."""
    from ..errors import MatgradError
    from ..jacobian import derivative, hessian, jacobian
    F = program.result
    names = wrt if wrt is not None else list(program.variables)
    if not names:
        raise MatgradError("the expression has no variables to differentiate by")
    unknown = [n for n in names if n not in program.variables]
    if unknown:
        raise MatgradError(f"--wrt names {', '.join(unknown)}, which the expression does "
                           f"not use; it uses {', '.join(program.variables) or 'no variables'}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise MatgradError(f"--order must be a positive integer, not {order}")
    if kind == "hessian":
        if order < 2:
            raise MatgradError("the Hessian is the second derivative (--order 2, the "
                               "default; 3, 4, ... for higher ones); the first derivative "
                               "is the gradient (matgrad EXPR) or the Jacobian "
                               "(matgrad jacobian EXPR)")
        if F.shape != (1, 1):
            rows, cols = F.shape
            suggestion = _command(f"{command} jacobian" if command == "matgrad" else command,
                                  expr, names, shape,
                                  ["--kind", "jacobian"] if command != "matgrad" else [],
                                  ["--order", str(order)])
            raise MatgradError(f"the Hessian needs a scalar expression, but this one is "
                               f"{rows}×{cols}; for the derivative of order {order} of a "
                               f"vector or matrix run: {suggestion}")
    if layout != "numerator" and order != 1:
        raise MatgradError("--layout denominator applies to first derivatives (--order 1); "
                           "higher derivatives have the function's axes first")
    name = program.result_name or None
    out = []
    for n in names:
        x = program.variables[n]
        if kind == "jacobian" and order == 1:
            d = jacobian(F, x, layout=layout, name=name)
        elif kind == "hessian" and order == 2:
            d = hessian(F, x, name=name)
        else:
            d = derivative(F, x, order, name=name)
        out.append((n, d))
    return out


def _command(head: str, expr, names, shape, middle: list, tail: list) -> str:
    parts = [head, shlex.quote(expr or "EXPR"), *middle, "--wrt", ",".join(names)]
    if shape:
        parts += ["--shape", shlex.quote(shape)]
    return " ".join(parts + tail)


# ---- text ---------------------------------------------------------------------------------


def text_block(d, *, unicode: bool) -> str:
    """The derivative's description: name and shape, matrix form, index notation, vec
    form. ASCII throughout without unicode."""
    out = d.describe(unicode=unicode)
    return out if unicode else out.replace("×", " x ")


def heading(d) -> str:
    """The first line of the ASCII description: name, shape and layout."""
    return text_block(d, unicode=False).splitlines()[0]


# ---- LaTeX --------------------------------------------------------------------------------


def latex_rows(d) -> list[str]:
    """The rows of an aligned environment: the name's definition, the matrix form, the
    index notation and the vec form, each where there is one."""
    from ..printing.symbols import latex_name
    rows = []
    if d.name:
        F = latex_name(d.name)
        if d.of.op != "var":
            rows.append(f"{F} &= {d.of.to_latex()}")
    elif d.of.op == "var":
        F = d.of.to_latex()
    else:
        F = r"\left(" + d.of.to_latex() + r"\right)"
    x = d.wrt.to_latex()
    k = d.order
    if d.expr is not None:
        up = f"^{{{k}}}" if k > 1 else ""
        down = f"^{{{k}}}" if k > 1 else ""
        rows.append(rf"\frac{{\partial{up} {F}}}{{\partial {x}{down}}} &= {d.expr.to_latex()}")
    rows.append(d.index_notation(latex=True).replace(" = ", " &= ", 1))
    if d.vec is not None:
        K = vec_latex(d.vec)
        vec_x = r"\operatorname{vec}\left(" + x + r"\right)"
        if d.kind == "hessian":
            rows.append(rf"\frac{{\partial^{{2}} {F}}}{{\partial {vec_x}^{{2}}}} &= {K}")
        else:
            grouped = rf"\left({K}\right)" if len(d.vec.terms) > 1 else K
            rows.append(rf"\mathrm{{d}} \operatorname{{vec}}\left({F}\right) &= {grouped} "
                        rf"\, \mathrm{{d}} {vec_x}")
    return rows


def vec_latex(vec) -> str:
    """LaTeX of a Kronecker form K = Σ c (P ⊗ Q) [K_rs] or c diag(vec S)."""
    from ..tensor.vec import COMMUTED, DIAG
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


# ---- the numeric check --------------------------------------------------------------------


def verification(d, sizes, *, unicode: bool) -> tuple[bool, str]:
    """(passed, the line that says so), from the library's check of the derivative."""
    from ..verify import TOLERANCE
    points = 3
    err = d.verify(points=points, sizes=sizes)
    label = d.label(unicode=unicode)
    if d.order == 1:
        lower = "the function"
    elif d.kind == "hessian":
        lower = "the gradient"
    else:
        lower = f"the derivative of order {d.order - 1}"
    ok = math.isfinite(err) and err <= TOLERANCE  # NaN fails
    if ok:
        return True, (f"verified numerically: {label} (its index form) matches central "
                      f"finite differences of {lower} along random directions at {points} "
                      f"random points (largest relative error {err:.1e})")
    return False, (f"VERIFICATION FAILED for {label}: largest relative error {err:.1e} "
                   f"against central finite differences of {lower} exceeds {TOLERANCE:.0e}")


# ---- the commands -------------------------------------------------------------------------


def main(kind: str, argv: list[str], parser: argparse.ArgumentParser) -> int:
    from . import run
    args = parser.parse_args(argv)

    def go() -> int:
        from ..errors import MatgradError
        from ..parser import parse_program
        from .derive import _wrt, inferred_note
        if args.steps:
            raise MatgradError(
                "--steps: matgrad derives gradients of a scalar step by step (matgrad "
                "EXPR --wrt x --steps), but has no steps for Jacobians or Hessians"
                + ("; --explain says what a Jacobian is and how the chain rule "
                   "contracts it" if kind == "jacobian" else ""))
        explain = getattr(args, "explain", False)
        if explain and args.latex:
            raise MatgradError("--explain is text; it has no LaTeX form")
        if args.sizes is not None and not args.verify:
            raise MatgradError("--sizes sets the sizes of the numeric check; use it with "
                               "--verify")
        program = parse_program(args.expr, args.shape)
        note = inferred_note(program)
        if note:
            diagnostic(note)
        results = derivatives(program, kind, _wrt(args.wrt), args.order,
                              getattr(args, "layout", "numerator"), args.shape, args.expr)
        sizes = None
        if args.sizes is not None:
            from ..expr import dimensions
            from ..verify import parse_sizes
            sizes = parse_sizes(args.sizes, dimensions(program.result))
        unicode = not args.ascii and not args.latex
        checks = []
        if args.verify:
            checks = [verification(d, sizes, unicode=unicode) for _, d in results]
        if args.latex:
            rows = list(dict.fromkeys(row for _, d in results for row in latex_rows(d)))
            print("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")
            for _, d in results:
                print(f"% {heading(d)}")
            for _, line in checks:
                print(f"% {line}")
        else:
            blocks = []
            for n, (_, d) in enumerate(results):
                block = d.explain(unicode=unicode) if explain else \
                    text_block(d, unicode=unicode)
                if checks:
                    block += "\n" + checks[n][1]
                blocks.append(block)
            print("\n\n".join(blocks))
        return 0 if all(ok for ok, _ in checks) else 1

    return run(go)
