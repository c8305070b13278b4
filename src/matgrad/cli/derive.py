"""`matgrad "EXPR" --wrt ... --shape ...`: gradients of a scalar expression (the default
command), and `matgrad example`, the built-in example."""
from __future__ import annotations

import argparse
import shlex

from . import add_syntax_option, add_timeout_option, commands_text, diagnostic, run

EXAMPLES = """\
examples:
  matgrad
      the built-in example, a one-layer ReLU network, with its steps
  matgrad "sum((relu(X @ w + b) - y)**2) / m" --wrt X,w --shape "X: m,n; w: n; b: scalar"
  matgrad "z = X @ w + b; L = norm(relu(z) - y)**2 / m" --shape "X: m,n; w: n; b: scalar" \\
      --verify --sizes "m=7, n=5" --steps
  matgrad "trace(inv(A) @ B) + logdet(A)" --shape "A: n,n; B: n,n" --latex > grad.tex
  matgrad "x.T @ A @ x" --wrt x --shape "x: n; A: n,n" --ascii
      the answer in the input language: dL_dx = (A.T + A) @ x
  matgrad jacobian "X @ w" --wrt X --shape "X: m,n; w: n"
  matgrad hessian "sum((X @ w - y)**2)" --wrt w --shape "X: m,n; w: n"
  matgrad check "sum((X @ w - y)**2)" --wrt w --shape "X: m,n; w: n" \\
      --claim "2 * X.T @ (X @ w - y)"
  matgrad code "sum((X @ w - y)**2)" --wrt w --shape "X: m,n; w: n" --backend jax

Results go to standard output, notes and errors to standard error. Exit status: 0 on
success, 1 when a numeric check fails (or a checked claim is not correct), 2 on an error.
`matgrad COMMAND --help` describes each command."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad",
        usage="matgrad [EXPR] [--wrt X,w] [--shape DECLS] [--sizes SIZES] [--latex | "
              "--ascii] [--verify] [--steps]\n       matgrad COMMAND [ARGS ...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Derivatives of matrix expressions in matrix notation: gradients (the "
                    "default command), Jacobians,\nHessians, their steps, checks of your "
                    "own answer, and generated code. With no arguments, the\nbuilt-in "
                    "example.\n\ncommands:\n" + commands_text() +
                    "\n\nThe default command, matgrad EXPR [options], prints the gradients "
                    "of a scalar expression.",
        epilog=EXAMPLES)
    _options(p, expression=True)
    return p


def _options(p: argparse.ArgumentParser, expression: bool) -> None:
    checks = "with --verify or --steps: s" if expression else "s"
    if expression:
        p.add_argument("expr", nargs="?", metavar="EXPR", help="the expression, e.g. "
                       "'sum((relu(X @ w + b) - y)**2) / m'; assignments 'z = ...;' name "
                       "intermediates (default: the built-in example)")
        p.add_argument("--wrt", metavar="X,w", help="variables to differentiate by, "
                       "comma-separated (default: all)")
        p.add_argument("--shape", "--shapes", dest="shape", default=None, metavar="DECLS",
                       help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred "
                            "from use)")
        add_syntax_option(p)
    p.add_argument("--sizes", default=None, metavar="SIZES",
                   help=f"{checks}izes of dimensions at the random "
                        "points, e.g. 'm=7, n=5' (default: distinct sizes at which the "
                        "loss is defined)")
    p.add_argument("--latex", action="store_true",
                   help="print LaTeX (standard output is then LaTeX alone)")
    p.add_argument("--ascii", action="store_true",
                   help="print in the input language (ASCII) instead of Unicode")
    add_timeout_option(p)
    if expression:
        p.add_argument("--verify", action="store_true",
                       help="check each gradient against central finite differences")
        p.add_argument("--steps", action="store_true",
                       help="show the derivation of each gradient, step by step, every "
                            "line checked numerically (a line that fails is marked)")


def example_parser() -> argparse.ArgumentParser:
    from ..example import SHAPES, SOURCE
    p = argparse.ArgumentParser(
        prog="matgrad example",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The built-in example, a one-layer ReLU network:\n"
                    f"  {SOURCE}\n  shapes: {SHAPES}\n"
                    "its gradients, a numeric verification, and the steps of each "
                    "derivation (what `matgrad` with no arguments prints).",
        epilog="examples:\n  matgrad example\n  matgrad example --ascii\n"
               "  matgrad example --sizes 'm=7, n=5'")
    _options(p, expression=False)
    return p


def wrt_names(text: str | None):
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _print_steps(r, program, args, sizes) -> bool:
    """Each gradient's derivation in differential form (LaTeX with --latex), every line
    checked numerically: a line that fails is marked, and the exit status is 1."""
    from ..expr import walk
    from ..printing.symbols import unicode_name
    from ..steps import derive
    # the steps use the report's names for the forward intermediates, so that a name
    # means the same thing in the results and in every derivation
    forward = set(walk(r.loss))
    names = {**program.definitions,
             **{i.name: i.expr for i in r.intermediates if i.expr in forward}}
    failing = False
    for x in r.wrt:
        d = derive(r.loss, x, definitions=names, loss_name=r.loss_name).checked(sizes=sizes)
        failing = failing or bool(d.failing)
        if args.latex:
            print(f"% steps for d{r.loss_name}/d{x.params[0]}")
            print(d.to_latex())
            continue
        if args.ascii:
            print(f"\nsteps for d{r.loss_name}/d{x.params[0]}")
        else:
            print(f"\nsteps for ∂{unicode_name(r.loss_name)}/∂{unicode_name(x.params[0])}")
        print(d.to_text(unicode=not args.ascii))
    return failing


def not_scalar_message(program, expr: str, shape: str | None, wrt: list | None) -> str:
    """Why a non-scalar has no gradient, with the command that gives its Jacobian."""
    rows, cols = program.result.shape
    names = ",".join(wrt or list(program.variables)) or "X"
    command = f"matgrad jacobian {shlex.quote(expr)} --wrt {names}"
    if shape:
        command += f" --shape {shlex.quote(shape)}"
    return (f"a gradient needs a scalar expression, but this one is {rows}×{cols}; for its "
            f"Jacobian run: {command}")


def inferred_note(program) -> str | None:
    """'inferred shapes: c: m' for the shapes inferred from use, or None."""
    from ..shapespec import format_shapes
    if not program.inferred:
        return None
    shapes = {n: (v.shape[0], v.shape[1], False) for n, v in program.variables.items()
              if n in program.inferred}
    return f"inferred shapes: {format_shapes(shapes)}"


def check_wrt(program, wrt) -> None:
    from ..errors import MatgradError
    if wrt is None:
        return
    unknown = [n for n in wrt if n not in program.variables]
    if unknown:
        raise MatgradError(f"--wrt names {', '.join(unknown)}, which the expression does "
                           f"not use; it uses {', '.join(program.variables) or 'no variables'}")


def main(argv: list[str]) -> int:
    return _main(parser().parse_args(argv))


def example_main(argv: list[str]) -> int:
    args = example_parser().parse_args(argv)
    args.expr, args.wrt, args.shape, args.verify, args.steps = None, None, None, True, True
    return _main(args)


def _main(args) -> int:
    def go() -> int:
        from ..errors import MatgradError
        from ..example import SHAPES, SOURCE, WRT
        from ..parser import parse_program
        from ..report import report
        demo = args.expr is None
        if demo:
            lead = "% " if args.latex else ""
            print(f"{lead}matgrad: the built-in example, a one-layer ReLU network")
            print(f"{lead}  {SOURCE}")
            print(f"{lead}  shapes: {SHAPES}\n")
        program = parse_program(SOURCE if demo else args.expr,
                                SHAPES if demo else args.shape,
                                syntax=getattr(args, "syntax", "auto"))
        wrt = list(WRT) if demo else wrt_names(args.wrt)
        check_wrt(program, wrt)
        note = inferred_note(program)
        if note:
            diagnostic(note)
        if program.result.shape != (1, 1):
            raise MatgradError(not_scalar_message(program, args.expr, args.shape, wrt))
        r = report(program.result, wrt, definitions=program.definitions,
                   loss_name=program.result_name or "L")
        sizes = None
        if args.sizes is not None:
            if not (demo or args.verify or args.steps):
                raise MatgradError("--sizes sets the sizes of the numeric checks; use it "
                                   "with --verify or --steps")
            from ..expr import dimensions
            from ..verify import parse_sizes
            sizes = parse_sizes(args.sizes, dimensions(program.result))
        if demo or args.verify:
            r.run_check(sizes=sizes)
        if args.latex:
            print(r.to_latex())
            if r.check is not None:
                print(f"% {r.check}")
        else:
            print(r.to_text(unicode=not args.ascii))
        failing = False
        if demo or args.steps:
            failing = _print_steps(r, program, args, sizes)
        return 0 if (r.check is None or r.check.ok) and not failing else 1

    return run(go)
