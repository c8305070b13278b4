"""`matgrad "EXPR" --wrt ... --shape ...`: gradients of a scalar expression."""
from __future__ import annotations

import argparse

from . import run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad",
        description="Gradients of a scalar matrix expression, in matrix notation. "
                    "With no arguments, the built-in example.")
    p.add_argument("expr", nargs="?", help="the expression, e.g. "
                   "'sum((relu(X @ w + b) - y)**2) / m'; assignments 'z = ...;' name "
                   "intermediates")
    p.add_argument("--wrt", help="variables to differentiate by, comma-separated "
                   "(default: all)")
    p.add_argument("--shape", "--shapes", dest="shape", default=None,
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred)")
    p.add_argument("--latex", action="store_true", help="print LaTeX")
    p.add_argument("--ascii", action="store_true",
                   help="print in the input language (ASCII) instead of Unicode")
    p.add_argument("--verify", action="store_true",
                   help="check each gradient against finite differences")
    p.add_argument("--sizes", default=None,
                   help="with --verify or --steps: sizes of dimensions at the random "
                        "points, e.g. 'm=7, n=5' (default: distinct sizes at which the "
                        "loss is defined)")
    p.add_argument("--steps", action="store_true",
                   help="show the derivation of each gradient, step by step, every line "
                        "checked numerically (a line that fails is marked)")
    return p


def _wrt(text: str | None):
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _print_steps(r, program, args, sizes) -> bool:
    """Each gradient's derivation in differential form (LaTeX with --latex), every line
    checked numerically: a line that fails is marked, and the exit status is 1."""
    from ..printing.symbols import unicode_name
    from ..steps import derive
    from ..expr import walk
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


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def go() -> int:
        from ..example import SHAPES, SOURCE, WRT
        from ..parser import parse_program
        from ..report import report
        from ..shapespec import format_shapes
        demo = args.expr is None
        if demo:
            print("matgrad: the built-in example, a one-layer ReLU network")
            print(f"  {SOURCE}")
            print(f"  shapes: {SHAPES}\n")
        program = parse_program(SOURCE if demo else args.expr,
                                SHAPES if demo else args.shape)
        wrt = list(WRT) if demo else _wrt(args.wrt)
        if wrt is not None:
            unknown = [n for n in wrt if n not in program.variables]
            if unknown:
                from ..errors import MatgradError
                raise MatgradError(f"--wrt names {', '.join(unknown)}, which the "
                                   "expression does not use; it uses "
                                   f"{', '.join(program.variables) or 'no variables'}")
        if program.inferred:
            shapes = {n: (v.shape[0], v.shape[1], False) for n, v in program.variables.items()
                      if n in program.inferred}
            print(f"inferred shapes: {format_shapes(shapes)}")
        r = report(program.result, wrt, definitions=program.definitions,
                   loss_name=program.result_name or "L")
        sizes = None
        if args.sizes is not None:
            if not (demo or args.verify or args.steps):
                from ..errors import MatgradError
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
