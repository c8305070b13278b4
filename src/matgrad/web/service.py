"""What the web API computes, as plain data from plain text: no web framework here.

Each function takes the inputs of one endpoint (the expression, the shape declarations,
the variables, ...), calls the library and returns a JSON-ready dict: gradients
(`derive`, `steps`, `check`), Jacobians and Hessians (`jacobian`, `hessian`, through the
library's `tensor_report`, as the command line), code for either (`code`). Bad input
raises InputError, which names the input field at fault and carries the MatgradError
(with its column, so the page can mark it), and where another kind of derivative applies
it says which (`suggest`: a vector's derivative is its Jacobian). A feature the installed
matgrad lacks raises Unavailable, and the page says so.

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

from .. import tensor_report
from ..errors import DomainError, LimitError, MatgradError, ParseError
from ..printing.mathml import prose_html, split_aligned, to_mathml
from .limits import Limits

BACKENDS = ("numpy", "jax", "torch")
KINDS = ("gradient",) + tensor_report.KINDS
LAYOUTS = ("numerator", "denominator")
FORM_NAMES = {"definition": "where", "matrix": "matrix form", "index": "index notation",
              "vec": "vec form"}
VERDICTS = ("correct", "transposed", "wrong-shape", "wrong-value", "undetermined")
MAX_SIZE = 64  # the largest size a request may give a dimension for the numeric check


class InputError(Exception):
    """Bad input for one field of a request."""

    def __init__(self, field: str, error: MatgradError, suggest: str | None = None):
        super().__init__(str(error))
        self.field = field
        self.error = error
        self.suggest = suggest  # the kind of derivative that applies instead

    def payload(self) -> dict:
        return error_payload(self.error, self.field, self.suggest)


class Unavailable(Exception):
    """A feature that this installation of matgrad does not have."""

    def __init__(self, feature: str, message: str):
        super().__init__(message)
        self.feature = feature
        self.message = message

    def payload(self) -> dict:
        return {"kind": "Unavailable", "feature": self.feature, "message": self.message}


def error_payload(err: MatgradError, field: str | None, suggest: str | None = None) -> dict:
    """The JSON form of an error: the message, where in which field it points, and the
    kind of derivative to ask for instead where one applies."""
    out = {"kind": type(err).__name__, "field": field, "message": err.message,
           "text": str(err), "source": err.source, "column": err.column,
           "width": err.width, "line": None, "line_column": None, "suggest": suggest}
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
    names = names or list(program.variables)  # none named: every variable, as many
    if len(names) > limits.max_wrt_names:
        named = "" if wrt.strip() else (f"the expression has {len(names)} variables and "
                                        "none was named; ")
        raise InputError("wrt", LimitError(f"{named}at most {limits.max_wrt_names} "
                                           "variables at once"))
    return names


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


def kind_of(kind: str) -> str:
    """The kind of derivative asked for: gradient (the default), jacobian or hessian."""
    kind = _bounded("kind", kind, 40, "the kind").strip() or "gradient"
    if kind not in KINDS:
        raise InputError("kind", ParseError(f"unknown kind {kind!r}; choose one of "
                                            f"{', '.join(KINDS)}"))
    return kind


def order_of(kind: str, order: str, limits: Limits = Limits()) -> int | None:
    """The order of a Jacobian (1 by default) or Hessian (2 by default); None for the
    default."""
    text = _bounded("order", order, 40, "the order")
    digits = text.strip()
    if not digits:
        return None
    lowest = 1 if kind == "jacobian" else 2
    if not digits.isdigit():
        raise InputError("order", ParseError(
            f"the order must be a whole number from {lowest} to {limits.max_order}, not "
            f"{digits!r}", source=text, column=text.index(digits), width=len(digits)))
    n = int(digits)
    if n < lowest:
        raise InputError("order", DomainError(
            "the Hessian is the second derivative (order 2, the default; 3, 4, ... for "
            "higher ones); the first derivative is the gradient or the Jacobian"
            if kind == "hessian" else "the order of a derivative is at least 1"))
    if n > limits.max_order:
        raise InputError("order", LimitError(
            f"derivatives of order {n} have too many axes; this server computes up to "
            f"order {limits.max_order}"))
    return n


def layout_of(layout: str, order: int | None) -> str:
    """The layout of a first derivative's matrix form: numerator (the default) or
    denominator."""
    layout = _bounded("layout", layout, 40, "the layout").strip() or "numerator"
    if layout not in LAYOUTS:
        raise InputError("layout", ParseError(f"unknown layout {layout!r}; choose "
                                              f"numerator or denominator"))
    if layout != "numerator" and order not in (None, 1):
        raise InputError("layout", DomainError(
            "the denominator layout applies to first derivatives; higher derivatives "
            "have the function's axes first"))
    return layout


def _scalar(program, what: str) -> None:
    """Refuse a vector or matrix where `what` needs a scalar, offering its Jacobian."""
    rows, cols = program.result.shape
    if (rows, cols) == (1, 1):
        return
    from ..dims import fmt_size
    noun = "a vector" if 1 in (rows, cols) else "a matrix"
    then = ("the derivative of a vector or matrix is its Jacobian (of order 2 for the "
            "second derivative)" if what == "a Hessian" else "its derivative is its Jacobian")
    raise InputError("expr", DomainError(
        f"{what} needs a scalar expression, but this one is {fmt_size(rows)}×"
        f"{fmt_size(cols)} ({noun}); {then}"), suggest="jacobian")


def all_shapes(program) -> str:
    """Declarations for every variable the program uses, declared or inferred."""
    from ..shapespec import format_shapes
    return format_shapes({n: (v.shape[0], v.shape[1], v.params[1])
                          for n, v in program.variables.items()})


def _describe(program) -> dict:
    from ..report import shape_label
    from ..shapespec import format_shapes
    inferred = {n: (v.shape[0], v.shape[1], v.params[1])
                for n, v in program.variables.items() if n in program.inferred}
    return {"shapes": all_shapes(program), "inferred": list(program.inferred),
            "inferred_shapes": format_shapes(inferred),
            "notation": program.notation,  # python, math or latex, as it was read
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
    _scalar(program, "a gradient")
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


def jacobian(expr: str, shapes: str = "", wrt: str = "", sizes: str = "", order: str = "",
             layout: str = "", limits: Limits = Limits()) -> dict:
    """The Jacobian with respect to each variable (of order `order`, 1 by default): a
    matrix where it has at most two axes, else a tensor in index notation, with its
    Kronecker (vec) form where one exists; each verified numerically."""
    return _derivatives("jacobian", expr, shapes, wrt, sizes, order, layout, limits)


def hessian(expr: str, shapes: str = "", wrt: str = "", sizes: str = "", order: str = "",
            limits: Limits = Limits()) -> dict:
    """The Hessian of a scalar with respect to each variable (order 2, or `order` for a
    higher derivative), in the same forms as a Jacobian."""
    return _derivatives("hessian", expr, shapes, wrt, sizes, order, "", limits)


def _derivatives(kind, expr, shapes, wrt, sizes, order, layout, limits) -> dict:
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    fixed = sizes_of(program, sizes, limits)
    n = order_of(kind, order, limits)
    chosen = layout_of(layout, n) if kind == "jacobian" else "numerator"
    if not names:
        raise InputError("expr", DomainError("the expression uses no variables, so there is "
                                             "nothing to differentiate"))
    if kind == "hessian":
        _scalar(program, "a Hessian")
    results = []
    with _Fields("expr", expr=expr):
        for name in names:
            d = tensor_report.derivative_of(kind, program.result, program.variables[name],
                                            n, chosen, name=program.result_name or None)
            results.append((name, tensor_report.named(d)))
        shown = [_derivative(name, d, fixed) for name, d in results]
        latex = tensor_report.aligned([d for _, d in results])
        text = "\n\n".join(tensor_report.text_block(d) for _, d in results)
    checks = [item["verification"] for item in shown]
    ok = None if any(c["ok"] is None for c in checks) else all(c["ok"] for c in checks)
    errors = [c["max_error"] for c in checks if c["max_error"] is not None]
    return {"kind": kind, "expr": expr, **_describe(program), "wrt": names,
            "order": results[0][1].order, "layout": chosen, "derivatives": shown,
            "latex": latex, "text": text,
            "verification": {"ok": ok, "max_error": max(errors) if errors else None,
                             "text": "\n".join(c["text"] for c in checks)}}


def _derivative(variable: str, d, sizes: dict) -> dict:
    """One Jacobian or Hessian as the page shows it: its name and shape, then each form
    as an equation in text, LaTeX and MathML, then its numeric check."""
    from ..dims import fmt_size
    texts = {"matrix": f"{d.label()} = {d.to_text()}" if d.expr is not None else None,
             "index": d.index_notation(), "vec": d.vec_text(),
             "definition": f"{d.name} = {d.of.to_text()}"}
    # the right side in the input language, where it is a matrix expression
    codes = {"matrix": d.expr.to_text(unicode=False) if d.expr is not None else None,
             "definition": d.of.to_text(unicode=False)}
    forms = []
    for form, lhs, rhs in tensor_report.latex_forms(d):
        left_text, _, right_text = (texts[form] or "").partition(" = ")
        forms.append({"form": form, "title": FORM_NAMES[form], "left_text": left_text,
                      "right_text": right_text, "right_code": codes.get(form),
                      "left_latex": lhs, "right_latex": rhs,
                      "left_mathml": to_mathml(lhs), "right_mathml": to_mathml(rhs)})
    label = tensor_report.label_latex(d)
    try:
        c = tensor_report.verification(d, sizes)
        verification = {"ok": c.ok, "max_error": float(c.max_error), "text": c.text}
    except MatgradError as err:  # e.g. no point where the expression is defined
        verification = {"ok": None, "max_error": None,
                        "text": f"not verified numerically: {err.message}"}
    explanation = None
    if d.kind == "jacobian" and d.order == 1 and len(d.axes) > 2:
        explanation = [prose_html(line.strip()) for line in d.explain().splitlines()]
    return {"variable": variable, "kind": d.kind, "order": d.order, "label_text": d.label(),
            "label_latex": label, "label_mathml": to_mathml(label),
            "shape": "×".join(fmt_size(a) for a in d.axes) or "scalar",
            "axes": [fmt_size(a) for a in d.axes], "tensor_order": len(d.axes),
            "matrix": d.expr is not None, "layout": d.layout,
            "summary": tensor_report.summary(d), "forms": forms,
            "text": tensor_report.text_block(d), "verification": verification,
            "explanation_html": explanation}


def steps(expr: str, shapes: str = "", wrt: str = "", sizes: str = "",
          limits: Limits = Limits()) -> dict:
    """The derivation of each gradient, step by step, every line checked numerically
    (a line that fails is marked in the rendering and listed in `failing`)."""
    derive_fn = _derive_fn()
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    at = sizes_of(program, sizes, limits)
    _scalar(program, "a step-by-step derivation")
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
         kind: str = "", order: str = "", layout: str = "",
         limits: Limits = Limits()) -> dict:
    """Source code that computes the loss and its gradients with the chosen library, or
    (kind jacobian or hessian) one function per variable returning the derivative."""
    if backend not in BACKENDS:
        raise InputError("backend", ParseError(f"unknown backend {backend!r}; choose one "
                                               f"of {', '.join(BACKENDS)}"))
    kind = kind_of(kind)
    generate = _codegen()
    program = parse(expr, shapes, limits)
    names = variable_names(program, wrt, limits)
    degree, chosen = None, "numerator"
    if kind != "gradient":
        degree = order_of(kind, order, limits)
        chosen = layout_of(layout, degree) if kind == "jacobian" else "numerator"
    if kind != "jacobian":
        _scalar(program, "a Hessian" if kind == "hessian" else "code for gradients")
    with _Fields("expr", expr=expr):
        try:
            if kind == "gradient":
                source = generate(program.result, [program.variables[n] for n in names],
                                  backend=backend, definitions=program.definitions)
            else:
                source = "\n\n".join(
                    tensor_report.source(tensor_report.derivative_of(
                        kind, program.result, program.variables[name], degree, chosen,
                        name=program.result_name or None), backend, name=f"{kind}_{name}")
                    for name in names)
        except ImportError as err:
            raise Unavailable("code", f"{backend} code cannot be generated here: "
                              f"{err}") from None
    return {"backend": backend, "kind": kind, "wrt": names, "source": source}


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
    _scalar(program, "checking a gradient")
    with _Fields("expr", expr=expr, claim=claim):
        extra = {"sizes": fixed} if fixed else {}
        result = check_fn(program.result, program.variables[variable], claim=claim,
                          shapes=all_shapes(program), definitions=program.definitions,
                          **extra)

    def derivation_html() -> str:  # the steps a wrong shape's message refers to
        from .markdown import to_html
        d = matgrad.derive(program.result, program.variables[variable],
                           definitions=program.definitions,
                           loss_name=program.result_name or "L").checked(sizes=fixed)
        return to_html(d.to_markdown())

    from .verdict import counterexample, explanation_html
    return {"variable": variable, "claim": claim, "verdict": result.verdict,
            "message": str(result), "html": explanation_html(result, claim, derivation_html),
            "counterexample": counterexample(result, variable)}


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


def gallery() -> dict:
    """The gallery of examples: each entry's title, a note, and its input.

    >>> gallery()["entries"][0]["title"]
    'One-layer ReLU network'
    """
    from .gallery import GALLERY
    return {"entries": [dict(e) for e in GALLERY]}
