"""What the web API computes, as plain data from plain text: no web framework here.

Each function takes the inputs of one endpoint (the expression, the shape declarations,
the variables, ...), calls the library and returns a JSON-ready dict. Bad input raises
InputError, which names the input field at fault and carries the MatgradError (with its
column, so the page can mark it). A feature the installed matgrad lacks raises
Unavailable, and the page says so.

>>> out = derive("sum((X @ w - y)**2)", "X: m,n; w: n", wrt="w, X")
>>> [(row["kind"], row["left_text"], row["shape"]) for row in out["rows"]][-2:]
[('gradient', '∂L/∂w', 'n'), ('gradient', '∂L/∂X', 'm×n')]
>>> out["shapes"], out["inferred"], out["verification"]["ok"]
('X: m,n; w: n; y: m', ['y'], True)
"""
from __future__ import annotations

import importlib
import re

import matgrad

from ..errors import DomainError, LimitError, MatgradError, ParseError
from .limits import Limits
from ..printing.mathml import split_aligned, to_mathml

BACKENDS = ("numpy", "jax", "torch")
VERDICTS = ("correct", "transposed", "wrong-shape", "wrong-value", "undetermined")
MAX_SIZE = 64  # the largest size a request may give a dimension for the numeric check


class InputError(Exception):
    """Bad input for one field of a request."""

    def __init__(self, field: str, error: MatgradError):
        super().__init__(str(error))
        self.field = field
        self.error = error

    def payload(self) -> dict:
        return error_payload(self.error, self.field)


class Unavailable(Exception):
    """A feature that this installation of matgrad does not have."""

    def __init__(self, feature: str, message: str):
        super().__init__(message)
        self.feature = feature
        self.message = message

    def payload(self) -> dict:
        return {"kind": "Unavailable", "feature": self.feature, "message": self.message}


def error_payload(err: MatgradError, field: str | None) -> dict:
    """The JSON form of an error: the message, and where in which field it points."""
    out = {"kind": type(err).__name__, "field": field, "message": err.message,
           "text": str(err), "source": err.source, "column": err.column,
           "width": err.width, "line": None, "line_column": None}
    if err.source is not None and err.column is not None:
        start = err.source.rfind("\n", 0, err.column) + 1
        end = err.source.find("\n", err.column)
        out["line"] = err.source[start: end if end >= 0 else len(err.source)]
        out["line_column"] = err.column - start
    return out


# ---- reading the inputs ------------------------------------------------------------------


class _Fields:
    """Attributes a MatgradError to the input field whose text it points into."""

    def __init__(self, default: str, **texts: str):
        self.default = default
        self.texts = texts

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if isinstance(err, MatgradError):
            field = next((f for f, t in self.texts.items()
                          if err.source is not None and err.source == t), self.default)
            raise InputError(field, err) from None
        return False


def _bounded(field: str, text, limit: int, what: str) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InputError(field, ParseError(f"{what} must be text"))
    if len(text) > limit:
        raise InputError(field, LimitError(f"{what} is too long: {len(text)} characters; this "
                                           f"server accepts up to {limit}"))
    return text


def parse(expr: str, shapes: str = "", limits: Limits = Limits()):
    """The parsed program, with the web page's bounds on length and depth."""
    expr = _bounded("expr", expr, limits.max_expr_length, "the expression")
    shapes = _bounded("shapes", shapes, limits.max_shapes_length, "the shape declarations")
    if not expr.strip():
        raise InputError("expr", ParseError("the expression is empty"))
    with _Fields("expr", expr=expr, shapes=shapes):
        program = matgrad.parse_program(expr, shapes or None)
    if program.result.depth > limits.max_depth:
        raise InputError("expr", LimitError(
            f"the expression is nested {program.result.depth} levels deep; this server "
            f"accepts up to {limits.max_depth}"))
    return program


def variable_names(program, wrt: str, limits: Limits = Limits()) -> list[str]:
    """The variables to differentiate by: the comma-separated names in `wrt`, or all."""
    wrt = _bounded("wrt", wrt, 40 * limits.max_wrt_names, "the list of variables")
    names = []
    for m in re.finditer(r"[^,\s]+", wrt):
        name = m.group()
        if name not in program.variables:
            known = ", ".join(program.variables) or "no variables"
            what = "is not a variable name" if not name.isidentifier() else \
                "is not a variable of the expression"
            raise InputError("wrt", ParseError(f"{name} {what}; it uses {known}",
                                               source=wrt, column=m.start(),
                                               width=len(name)))
        if name not in names:
            names.append(name)
    if len(names) > limits.max_wrt_names:
        raise InputError("wrt", LimitError(f"at most {limits.max_wrt_names} variables at "
                                           "once"))
    return names or list(program.variables)


def sizes_of(program, sizes: str, limits: Limits = Limits()) -> dict:
    """{Dim: int} from the sizes field ("m=7, n=5"; empty: chosen by the check)."""
    sizes = _bounded("sizes", sizes, limits.max_shapes_length, "the sizes")
    if not sizes.strip():
        return {}
    from ..expr import dimensions
    from ..verify import parse_sizes
    known = dimensions(program.result)
    for e in program.definitions.values():
        known += [d for d in dimensions(e) if d not in known]
    with _Fields("sizes", sizes=sizes):
        return parse_sizes(sizes, known, max_size=MAX_SIZE)


def all_shapes(program) -> str:
    """Declarations for every variable the program uses, declared or inferred."""
    from ..shapespec import format_shapes
    return format_shapes({n: (v.shape[0], v.shape[1], bool(v.params[1]))
                          for n, v in program.variables.items()})


def _describe(program) -> dict:
    from ..report import shape_label
    from ..shapespec import format_shapes
    inferred = {n: (v.shape[0], v.shape[1], bool(v.params[1]))
                for n, v in program.variables.items() if n in program.inferred}
    return {"shapes": all_shapes(program), "inferred": list(program.inferred),
            "inferred_shapes": format_shapes(inferred),
            "variables": [{"name": n, "shape": shape_label(v)}
                          for n, v in program.variables.items()]}


# ---- the endpoints -----------------------------------------------------------------------


def parse_only(expr: str, shapes: str = "", limits: Limits = Limits()) -> dict:
    """The variables and their shapes, inferred where not declared."""
    return _describe(parse(expr, shapes, limits))


def derive(expr: str, shapes: str = "", wrt: str = "", sizes: str = "",
           limits: Limits = Limits()) -> dict:
    """The gradients with their named intermediates, rendered, and checked numerically
    (at the `sizes` given, e.g. "m=7, n=5"; by default at sizes where the loss is
    defined)."""
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    fixed = sizes_of(program, sizes, limits)
    if not names:
        raise InputError("expr", DomainError("the expression uses no variables, so there is "
                                             "nothing to differentiate"))
    with _Fields("expr", expr=expr):
        r = matgrad.report(program.result, names, definitions=program.definitions,
                           loss_name=program.result_name or "L")
        latex = r.to_latex()
        text_rows = r.lines()
        ascii_rows = r.lines(unicode=False)
    kinds = (["loss"] + ["intermediate"] * len(r.intermediates)
             + ["gradient"] * len(r.gradients))
    subjects = [r.loss_name] + [i.name for i in r.intermediates] + names
    cells = split_aligned(latex)
    if cells is None or len(cells) != len(text_rows) or any(len(c) != 2 for c in cells):
        cells = [[None, None]] * len(text_rows)  # unexpected layout: text only
    rows = []
    for kind, subject, (left, right, shape), (_, code, _), (tl, tr) in zip(
            kinds, subjects, text_rows, ascii_rows, cells):
        if tr is not None and tr.startswith("="):  # the page sets the "=" itself
            tr = tr[1:].strip()
        rows.append({"kind": kind, "name": subject, "left_text": left, "right_text": right,
                     "right_code": code, "shape": shape, "left_latex": tl, "right_latex": tr,
                     "left_mathml": to_mathml(tl) if tl else None,
                     "right_mathml": to_mathml(tr) if tr else None})
    try:
        check = r.run_check(sizes=fixed)
        verification = {"ok": bool(check.ok), "max_error": float(check.max_error),
                        "text": str(check)}
    except MatgradError as err:  # e.g. no point where the expression is defined
        verification = {"ok": None, "max_error": None,
                        "text": f"not verified numerically: {err.message}"}
    return {"expr": expr, **_describe(program), "wrt": names, "rows": rows, "latex": latex,
            "text": r.to_text(), "verification": verification}


def steps(expr: str, shapes: str = "", wrt: str = "", sizes: str = "",
          limits: Limits = Limits()) -> dict:
    """The derivation of each gradient, step by step, every line checked numerically
    (a line that fails is marked in the rendering and listed in `failing`)."""
    derive_fn = _derive_fn()
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    at = sizes_of(program, sizes, limits)
    out = []
    with _Fields("expr", expr=expr):
        for name in names:
            d = derive_fn(program.result, program.variables[name],
                          definitions=program.definitions,
                          loss_name=program.result_name or "L").checked(sizes=at)
            markdown = d.to_markdown()
            from .markdown import to_html
            out.append({"variable": name, "markdown": markdown, "latex": d.to_latex(),
                        "html": to_html(markdown), "count": len(d.steps),
                        "checked": d.line_errors is not None, "failing": d.failing,
                        "unchecked": d.unchecked or None})
    return {"wrt": names, "derivations": out}


def code(expr: str, shapes: str = "", wrt: str = "", backend: str = "numpy",
         limits: Limits = Limits()) -> dict:
    """Source code that computes the loss and its gradients with the chosen library."""
    if backend not in BACKENDS:
        raise InputError("backend", ParseError(f"unknown backend {backend!r}; choose one "
                                               f"of {', '.join(BACKENDS)}"))
    generate = _codegen()
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    with _Fields("expr", expr=expr):
        try:
            source = generate(program.result, [program.variables[n] for n in names],
                              backend=backend, definitions=program.definitions)
        except ImportError as err:
            raise Unavailable("code", f"{backend} code cannot be generated here: "
                              f"{err}") from None
    return {"backend": backend, "wrt": names, "source": source}


def check(expr: str, shapes: str = "", variable: str = "", claim: str = "",
          sizes: str = "", limits: Limits = Limits()) -> dict:
    """A verdict on someone's own answer for the gradient with respect to `variable`
    (at the `sizes` given, e.g. "m=7, n=5"; by default at sizes where the loss is
    defined)."""
    check_fn = _check_fn()
    claim = _bounded("claim", claim, limits.max_claim_length, "the claimed gradient")
    program = parse(expr, shapes, limits)
    fixed = sizes_of(program, sizes, limits)
    if not isinstance(variable, str) or variable not in program.variables:
        known = ", ".join(program.variables) or "no variables"
        raise InputError("variable", ParseError(
            f"choose the variable the claim is the gradient for; the expression uses "
            f"{known}"))
    if not claim.strip():
        raise InputError("claim", ParseError("write the gradient you want checked, e.g. "
                                             "2 * X.T @ (X @ w - y)"))
    with _Fields("expr", expr=expr, claim=claim):
        extra = {"sizes": fixed} if fixed else {}
        result = check_fn(program.result, program.variables[variable], claim=claim,
                          shapes=all_shapes(program), definitions=program.definitions,
                          **extra)
    return {"variable": variable, "claim": claim, "verdict": result.verdict,
            "message": str(result)}


def _derive_fn():
    fn = getattr(matgrad, "derive", None)
    if fn is None:
        raise Unavailable("steps", "Step-by-step derivations are not available in this "
                          "version of matgrad (matgrad.derive is missing).")
    return fn


def _check_fn():
    fn = getattr(matgrad, "check", None)
    if fn is None:
        raise Unavailable("check", "Checking an answer is not available in this version "
                          "of matgrad (matgrad.check is missing).")
    return fn


def _codegen():
    try:
        mod = importlib.import_module("matgrad.codegen")
    except ModuleNotFoundError as err:
        if err.name != "matgrad.codegen":
            raise
        mod = None
    generate = getattr(mod, "generate_source", None)
    if generate is None:
        raise Unavailable("code", "Code generation is not available in this version of "
                          "matgrad (matgrad.codegen.generate_source is missing).")
    return generate


def features() -> dict:
    """Which panels this installation can fill.

    >>> sorted(features())
    ['check', 'code', 'steps']
    """
    out = {}
    for name, probe in (("steps", _derive_fn), ("check", _check_fn), ("code", _codegen)):
        try:
            probe()
            out[name] = {"available": True, "message": None}
        except Unavailable as err:
            out[name] = {"available": False, "message": err.message}
    out["code"]["backends"] = list(BACKENDS)
    return out


def example() -> dict:
    """The built-in example's input."""
    from ..example import SHAPES, SOURCE, WRT
    return {"expr": SOURCE, "shapes": SHAPES, "wrt": ",".join(WRT)}
