"""Derivations a person can follow: the steps of a gradient in differential form.

`derive(L, x)` writes the chain a teacher writes on the board, and it is the record of
the one reverse pass (`differentiate.reverse_pass`) run over the *stations* a reader
names: the loss, the user's assignments, shared subexpressions, the arguments of
nonlinear functions that hold real work, and x itself. At each station S, with
dL = G : dS + (the terms still pending),

1. the differential of S's definition is substituted (dS = D, the chain rule, each
   node by its own differential rule), and
2. G : D is rewritten as Σ Gᵢ : dTᵢ by transposing D (`rules.adjoint`), which names the
   Frobenius identities it applies (A : BC = A Cᵀ : B, A : B ⊙ C = A ⊙ B : C, ...);
   terms that reach the same station are then collected.

A named quantity is an *atom* in the steps: a leaf printed by its name (z, ŷ, and g for a
cotangent worth a name), defined once in the derivation's intermediates and never
expanded, so a derivation is as large as the expression's DAG. The last line reads
dL = G : dx, so ∂L/∂x = G. Each step is an equation between numbers at any point and
along any direction dx; `Derivation.verify` evaluates both sides, every differential
taken from central finite differences of its own node, never from the rules, and the
renderers mark a line that fails (which must never happen: the mark is the guard).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ops, registry
from .dims import fmt_shape
from .differentiate import resolve, reverse_pass, symmetrize
from .errors import DomainError, MatgradError
from .expr import Expr, dimensions, make, substitute, variables, walk
from .intermediates import BACKWARD_NAMES, FORWARD_NAMES, name_shared
from .printing.symbols import unicode_name
from .rules import IDENTITIES, is_number
from .structure import IDENTITIES as STRUCTURE_IDENTITIES
from .structure import of as structure_of

# Operations whose argument deserves a name of its own when it holds real work.
NONLINEAR = frozenset({"fn", "pow"}) | frozenset(
    name for name, op in registry.operations().items() if not op.linear)
# Operations that count as work (a name for `a + b` or `Aᵀ` saves the reader nothing).
_WORK = frozenset({"matmul", "mul", "div"}) | NONLINEAR
# Identities that only unfold the definition of ':' (sum(A ⊙ B) = A : B) or move
# numbers: at the loss they share one line with the differential itself.
_DEFINITIONAL = frozenset({"frobenius", "sum", "div-scalar", "broadcast", "distribute"})
# A line shows at most this many pending terms that it leaves unchanged; the others are
# written "+ (n terms as above)", so that wide losses stay linear in size.
SHOWN_PENDING = 4
# A rendered derivation shows at most this many steps: the first and the last half,
# with a note saying how many are left out in between.
SHOWN_STEPS = 400
# Rules start in one column when the steps are at most this wide; a longer step has
# its rule right after it (so that text stays linear in the size of the derivation).
ALIGN_RULES_WITHIN = 100
# Relative error above which a line counts as failing verification.
LINE_TOLERANCE = 1e-5


# ---- equations and rules ---------------------------------------------------------------


@dataclass(frozen=True)
class Equation:
    """lhs = rhs between expressions, printed inside a rule (dz = dX w)."""

    lhs: Expr
    rhs: Expr


@dataclass(frozen=True)
class Definition:
    """A name introduced inside a rule: g = 2/m H(z) ⊙ (ŷ − y), which is ∂L/∂z."""

    name: str
    expr: Expr
    note: str = ""


@dataclass(frozen=True)
class Intermediate:
    """A named quantity of a derivation: `atom` is the leaf that stands for it in the
    steps, `definition` its value in terms of variables and earlier atoms. `node` is the
    subexpression of the loss it names (None for a back-propagated cotangent, whose
    `note` says which derivative it is)."""

    name: str
    atom: Expr
    definition: Expr
    node: Expr | None = None
    note: str = ""


@dataclass
class Step:
    """One line of a derivation: dL = Σ G : D, justified by `rule`.

    `terms` are the (G, D) pairs of the right side; D holds differentials (`dvar` leaves
    labelled with a name). `kind` is "differential" for the lines of the chain and
    "gradient" for the closing ∂L/∂x = G, whose right side is `terms[0][0]`. The first
    `fresh` terms are new on this line; the others are pending, unchanged.
    """

    terms: list
    rule_parts: list  # prose (str) and equations (Equation), printed in order
    kind: str = "differential"
    lhs: Expr | None = None  # the differential dL (a dvar), or the gradient's variable
    rule: str = ""  # the identities that justify this step, as plain text
    fresh: int | None = None  # leading terms new on this line (None: all)

    @property
    def rhs(self) -> Expr:
        """The right side as one scalar expression, Σ sum(G ⊙ D) (a matrix for the
        gradient step)."""
        if self.kind == "gradient":
            return self.terms[0][0]
        total = None
        for g, d in self.terms:
            part = _frobenius(g, d)
            total = part if total is None else ops.add(total, part)
        return total if total is not None else ops.const(0)

    def value(self, arrays: dict, sizes: dict, diffs: dict) -> float:
        """Σ G : D at a point (`arrays`, atoms included), with differentials `diffs`
        (label -> array)."""
        from .numeric import evaluate_2d
        total = 0.0
        cache: dict = {}
        with_diffs = {**arrays, **_diff_names(diffs)}
        for g, d in self.terms:
            G = evaluate_2d(g, arrays, sizes, cache)
            D = evaluate_2d(_as_variables(d), with_diffs, sizes)
            total += float(np.sum(np.broadcast_to(G, D.shape) * D))
        return total


def _frobenius(g: Expr, d: Expr) -> Expr:
    """G : D = sum(G ⊙ D)."""
    return ops.sum(ops.mul(g, d))


def differential_of(label: str, shape) -> Expr:
    """The differential d<label> as a leaf (printed dX, dŷ, dz)."""
    return make("dvar", (), (label,), tuple(shape))


def _line_expr(step, x) -> Expr:
    """A line's right side as one scalar expression, its differentials as variables
    (the closing ∂L/∂x = G is read as G : dx)."""
    if step.kind == "gradient":
        return _as_variables(_frobenius(step.terms[0][0], differential_of(x.params[0],
                                                                          x.shape)))
    return _as_variables(step.rhs)


def _diff_names(diffs: dict) -> dict:
    return {f"d {label}": v for label, v in diffs.items()}


def _as_variables(e: Expr) -> Expr:
    """e with each differential leaf replaced by a variable, so that it can be evaluated."""
    return substitute(e, {n: make("var", (), (f"d {n.params[0]}", ""), n.shape)
                          for n in walk(e) if n.op == "dvar"})


# ---- the derivation ----------------------------------------------------------------------


@dataclass
class Derivation:
    """The steps from dL to ∂L/∂x, with the intermediates they name.

    `derive` makes one. `steps` are its lines, `result` is ∂L/∂x in terms of the
    variables and `gradient` as the last line writes it; `str()` is the aligned text,
    and `checked()` checks every line numerically.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w, y = mg.matrix("X", m, n), mg.vector("w", n), mg.vector("y", m)
    >>> d = mg.derive(mg.sum((X @ w - y) ** 2), w)
    >>> print(d)
      where z = X w − y
         dL = 2 · z : dz      (differential of a squared norm: d sum(A²) = 2A : dA)
            = 2 · z : X dw    (dz = X dw)
            = 2 · Xᵀ z : dw   (A : BC = Bᵀ A : C)
      ∂L/∂w = 2 · Xᵀ z        (n, the shape of w)
    >>> d.gradient, d.result
    (2 · Xᵀ z, 2 · Xᵀ (X w − y))
    >>> d.checked().failing
    []
    """

    loss: Expr
    x: Expr
    steps: list
    names: dict = field(default_factory=dict)  # Expr of the loss -> name
    atoms: list = field(default_factory=list)  # Intermediate, in order of definition
    loss_name: str = "L"
    line_errors: list | None = None  # set by `checked`: each step's relative error
    unchecked: str = ""  # why the lines could not be checked, if they could not
    checked_points: int = 0  # the random points `checked` used
    _result: Expr | None = field(default=None, repr=False)

    @property
    def result(self) -> Expr:
        """∂L/∂x in terms of the variables, as `grad` gives it (derived on first use:
        the steps do not need it)."""
        if self._result is None:
            from .differentiate import grad
            self._result = grad(self.loss, self.x)
        return self._result

    @property
    def gradient(self) -> Expr:
        """∂L/∂x as the last line writes it, in terms of the derivation's names."""
        return self.steps[-1].terms[0][0]

    @property
    def intermediates(self) -> list:
        """(name, expression, note) of each named quantity: a subexpression of the loss,
        or a cotangent (with its definition in atoms, and a note saying which it is)."""
        return [(a.name, a.node if a.node is not None else a.definition, a.note)
                for a in self.atoms]

    @property
    def stations(self) -> dict:
        """label -> the node whose differential d<label> stands for."""
        out = {self.x.params[0]: self.x, self.loss_name: self.loss}
        out.update({a.name: a.node for a in self.atoms if a.node is not None})
        return out

    # ---- numbers --------------------------------------------------------------------
    def atom_values(self, values: dict, sizes: dict) -> dict:
        """The value of every atom at a point: named subexpressions from the loss's own
        nodes, cotangents from their definitions (which refer to earlier atoms)."""
        from .numeric import evaluate_2d
        arrays = dict(values)
        cache: dict = {}
        for a in self.atoms:
            if a.node is not None:
                arrays[a.name] = evaluate_2d(a.node, values, sizes, cache)
            else:
                arrays[a.name] = evaluate_2d(a.definition, arrays, sizes)
        return arrays

    def verify(self, *, points: int = 3, seed: int | None = 0, h: float = 1e-6,
               sizes: dict | None = None) -> list:
        """The largest relative error of each step over random points and directions:
        both sides evaluated, every differential from central finite differences of its
        own node, never from the rules.

        The error is scale-free (a loss times 10⁻³⁰ is judged as the loss): a
        difference counts against a line only beyond what the numbers themselves may
        carry, namely rounding in the line's terms (`verify.rounding_scale`, the atoms
        seeded with the scales of their own definitions) and the finite differences'
        rounding and truncation (estimated from a second step, 2h). A correct line can
        still miss at one step where L is badly conditioned or strongly curved; a false
        line misses at every step, so a line's error at a point is the smaller at two
        steps, h and 100h.

        >>> import matgrad as mg
        >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
        >>> max(mg.derive(x.T @ A @ x, x).verify()) < 1e-6
        True
        """
        from .verify import direction, normalise_sizes, sample
        rng = np.random.default_rng(seed)
        stations = self.stations
        errors = [0.0] * len(self.steps)
        name = self.x.params[0]
        fixed = normalise_sizes(sizes)
        for _ in range(points):
            values, sz = sample([self.loss], rng, fixed)
            if name not in values:  # x does not occur in the loss
                values[name] = rng.standard_normal(
                    tuple(s if isinstance(s, int) else sz.setdefault(s, fixed.get(s, 3))
                          for s in self.x.shape))
            arrays = self.atom_values(values, sz)
            cache, scales = self._scales(values, arrays, sz)
            V = direction(values[name].shape, rng, structure_of(self.x))
            best = [float("inf")] * len(self.steps)
            for step_size in (h, 100 * h):
                at = self._errors_at(values, arrays, sz, V, step_size, stations, cache,
                                     scales)
                best = [min(a, b) for a, b in zip(best, at)]
            errors = [max(a, b) for a, b in zip(errors, best)]
        return errors

    def _scales(self, values, arrays, sz) -> tuple[dict, dict]:
        """(values, rounding scales) of the nodes the lines are made of, shared by all
        lines at one point: each atom carries the scale of its own definition."""
        from .verify import rounding_scale
        cache: dict = {}
        scales: dict = {}
        for a in self.atoms:
            source = a.node if a.node is not None else a.definition
            scales[a.atom] = rounding_scale(source, arrays, sz, cache, scales)
            cache[a.atom] = arrays[a.name]
        return cache, scales

    def _errors_at(self, values, arrays, sz, V, h, stations, cache, scales) -> list:
        """Each step's scale-free error at one point along V, differentials from
        central differences with steps h and 2h."""
        from .numeric import evaluate_2d
        from .verify import (EPS, FD_SAFETY, ROUND_SAFETY, central_differences,
                             rounding_scale, scaled_error)
        name = self.x.params[0]

        def moved(k):
            point = dict(values)
            point[name] = values[name] + k * h * V
            return point

        points = {k: moved(k) for k in (1, -1, 2, -2)}
        node_cache = {k: {} for k in points}
        node_scales: dict = {}
        diffs, diffs2, noise = {}, {}, {}
        for label, node in stations.items():
            if node is self.x:
                diffs[label] = diffs2[label] = V
                noise[label] = np.zeros_like(V)
                continue
            diffs[label], diffs2[label], _ = central_differences(
                lambda k: evaluate_2d(node, points[k], sz, node_cache[k]), h)
            # rounding in the node's value, magnified by 1/h in the difference quotient
            S = np.broadcast_to(rounding_scale(node, values, sz, cache, node_scales),
                                diffs[label].shape)
            noise[label] = EPS * S / h
        dL = float(diffs[self.loss_name][0, 0])
        dL2 = float(diffs2[self.loss_name][0, 0])
        fd_error = abs(dL2 - dL) / 3 + float(noise[self.loss_name][0, 0])
        out = []
        for step in self.steps:
            expr = _line_expr(step, self.x)
            env = {**arrays, **_diff_names(diffs)}
            got = float(evaluate_2d(expr, env, sz, dict(cache))[0, 0])
            got2 = float(evaluate_2d(expr, {**arrays, **_diff_names(diffs2)}, sz,
                                     dict(cache))[0, 0])
            # what rounding in the line's own terms, and the noise of the differentials
            # it is made of, may move it by
            rounding = float(np.max(rounding_scale(expr, env, sz, dict(cache),
                                                   dict(scales))))
            carried = float(np.max(rounding_scale(expr, {**arrays, **_diff_names(noise)},
                                                  sz, dict(cache), dict(scales))))
            allowed = FD_SAFETY * (fd_error + abs(got2 - got) / 3 + carried) + \
                ROUND_SAFETY * EPS * rounding
            out.append(scaled_error(dL, got, allowed))
        return out

    def checked(self, **kw) -> Derivation:
        """Verify every line (see `verify`) and keep the errors, so that the renderers
        mark any line that fails. Where no point can be found to check at, the reason is
        kept instead. Returns self.

        >>> import matgrad as mg
        >>> x = mg.vector("x", 3)
        >>> mg.derive(mg.sum(mg.exp(x)), x).checked().failing
        []
        """
        try:
            self.line_errors = self.verify(**kw)
            self.unchecked = ""
            self.checked_points = kw.get("points", 3)
        except MatgradError as err:
            self.line_errors = None
            self.unchecked = err.message
        return self

    @property
    def failing(self) -> list:
        """Indices of the steps that failed verification (after `checked`)."""
        if self.line_errors is None:
            return []
        return [i for i, e in enumerate(self.line_errors) if not e <= LINE_TOLERANCE]

    # ---- text -----------------------------------------------------------------------
    def _shown(self) -> tuple[list, int]:
        """(indices of the steps to render, how many are left out in the middle)."""
        n = len(self.steps)
        if n <= SHOWN_STEPS:
            return list(range(n)), 0
        half = SHOWN_STEPS // 2
        return list(range(half)) + list(range(n - half, n)), n - 2 * half

    def _omission(self, count: int) -> str:
        return (f"⋯ {count} steps left out: a derivation shows at most {SHOWN_STEPS} "
                "steps (every step is still checked)")

    def rows(self, *, unicode: bool = True) -> list:
        """(left side, right side, rule) rows of the plain-text derivation."""
        out = []
        shown, omitted = self._shown()
        failing = set(self.failing)
        for i in shown:
            step = self.steps[i]
            if omitted and i == SHOWN_STEPS // 2 + omitted:
                out.append(("", "⋯" if unicode else "...", self._omission(omitted)))
            if step.kind == "gradient":
                lhs = (f"∂{unicode_name(self.loss_name)}/∂{unicode_name(self.x.params[0])}"
                       if unicode else f"d{self.loss_name}/d{self.x.params[0]}")
                rhs = _text(step.terms[0][0], unicode)
            else:
                lhs = f"d{unicode_name(self.loss_name) if unicode else self.loss_name}" \
                    if i == 0 else ""
                rhs = _terms_text(step, unicode)
            rule = self._rule_text(step, unicode)
            if i in failing:
                rule = f"{_FAILED_MARK}: {rule}"
            out.append((lhs, rhs, rule))
        return out

    def _rule_text(self, step, unicode: bool = True) -> str:
        parts = []
        for p in step.rule_parts:
            if isinstance(p, Equation):
                parts.append(f"{_text(p.lhs, unicode)} = {_text(p.rhs, unicode)}")
            elif isinstance(p, Definition):
                parts.append(f"{unicode_name(p.name) if unicode else p.name} = "
                             f"{_text(p.expr, unicode)}"
                             + (f", which is {p.note}" if p.note else ""))
            else:
                parts.append(p)
        return "; ".join(parts)

    def where_lines(self, *, unicode: bool = True) -> list:
        return [f"{unicode_name(a.name) if unicode else a.name} = "
                f"{_text(a.definition, unicode)}" + (f"  ({a.note})" if a.note else "")
                for a in self.atoms]

    def _status_line(self) -> str:
        if self.line_errors is None:
            return f"  (lines not checked numerically: {self.unchecked})" \
                if self.unchecked else ""
        bad = self.failing
        if bad:
            return (f"  {_FAILED_MARK}: {len(bad)} of {len(self.steps)} lines do not hold "
                    "numerically (this is a bug in matgrad; please report it)")
        return (f"  (every line checked numerically at {self.checked_points} random "
                "points)")

    def to_text(self, *, unicode: bool = True) -> str:
        """The derivation as aligned plain text, one step a line, rules on the right."""
        from .report import display_width
        rows = self.rows(unicode=unicode)
        where = [w for w, a in zip(self.where_lines(unicode=unicode), self.atoms)
                 if not a.note]
        width = max(display_width(a) for a, _, _ in rows)
        # rules align in one column, unless a long line would push it far out
        body = min(max(display_width(b) for _, b, _ in rows), ALIGN_RULES_WITHIN)
        out = []
        if 0 < len(where) <= 3:
            out.append("  where " + ", ".join(where))
        elif where:  # many names: one a line, so that lines stay short
            out.append("  where")
            out.extend(f"    {w}" for w in where)
        for a, b, rule in rows:
            pad_a = " " * (width - display_width(a))
            pad_b = " " * max(0, body - display_width(b))
            out.append(f"  {pad_a}{a} {'=' if b not in ('⋯', '...') else ' '} {b}{pad_b}"
                       f"   ({rule})")
        status = self._status_line()
        if status:
            out.append(status)
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    # ---- LaTeX and Markdown -----------------------------------------------------------
    def _latex_rows(self) -> list:
        from .printing.symbols import latex_name
        rows = []
        shown, omitted = self._shown()
        failing = set(self.failing)
        for i in shown:
            step = self.steps[i]
            if omitted and i == SHOWN_STEPS // 2 + omitted:
                rows.append(("", LATEX_ELLIPSIS, _prose(self._omission(omitted))))
            if step.kind == "gradient":
                lhs = (rf"\frac{{\partial {latex_name(self.loss_name)}}}"
                       rf"{{\partial {latex_name(self.x.params[0])}}}")
                rhs = _latex(step.terms[0][0])
            else:
                lhs = rf"\mathrm{{d}}{latex_name(self.loss_name)}" if i == 0 else ""
                rhs = _terms_latex(step)
            rule = self._rule_latex(step)
            if i in failing:
                rule = LATEX_FAILED_MARK + rule
            rows.append((lhs, rhs, rule))
        return rows

    def _rule_latex(self, step) -> str:
        from .printing.symbols import latex_name
        parts = []
        for p in step.rule_parts:
            if isinstance(p, Equation):
                parts.append(f"{_latex(p.lhs)} = {_latex(p.rhs)}")
            elif isinstance(p, Definition):
                parts.append(f"{latex_name(p.name)} = {_latex(p.expr)}"
                             + (r"\text{, which is }" + _prose(p.note) if p.note else ""))
            else:
                parts.append(_prose(p))
        return r";\ ".join(parts)

    def to_latex(self) -> str:
        """An `aligned` environment: one step a line, the rule in a comment column."""
        from .printing.symbols import latex_name
        lines = []
        for a in self.atoms:
            lines.append(rf"{latex_name(a.name)} &= {_latex(a.definition)}")
        for lhs, rhs, rule in self._latex_rows():
            eq = "" if rhs == LATEX_ELLIPSIS else "="
            lines.append(rf"{lhs} &{eq} {rhs} && {rule}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def to_markdown(self) -> str:
        """Markdown with $LaTeX$: the intermediates, then a table of steps and rules."""
        from .printing.symbols import latex_name
        out = []
        title = (rf"$\frac{{\partial {latex_name(self.loss_name)}}}"
                 rf"{{\partial {latex_name(self.x.params[0])}}}$")
        out.append(f"**Derivation of {title}**\n")
        if self.atoms:
            out.append("where " + ", ".join(
                f"${latex_name(a.name)} = {_latex(a.definition)}$" for a in self.atoms)
                + "\n")
        out.append("| step | rule |")
        out.append("| --- | --- |")
        for lhs, rhs, rule in self._latex_rows():
            left = f"{lhs} = {rhs}" if lhs else f"= {rhs}"
            out.append(f"| ${_cell(left)}$ | ${_cell(rule)}$ |")
        status = self._status_line().strip()
        if status:
            out.append(f"\n{status}")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        if self.line_errors is None and not self.unchecked:
            self.checked()
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"

    def _repr_html_(self) -> str:
        from .display import derivation_html
        return derivation_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.to_text())


_FAILED_MARK = "✗ DOES NOT HOLD"
LATEX_FAILED_MARK = r"\boldsymbol{\times}\ \text{DOES NOT HOLD:}\ "
LATEX_ELLIPSIS = r"\cdots"


# ---- printing helpers ------------------------------------------------------------------


_PRINTERS: dict = {}


def _text(e: Expr, unicode: bool = True) -> str:
    """Plain text of e, differentials printed dX, dŷ (atoms are leaves already)."""
    if "text" not in _PRINTERS:
        from .printing.text import TextPrinter

        class StepText(TextPrinter):
            def differential(self, label) -> str:
                return "d" + (unicode_name(label) if self.unicode else label)

        _PRINTERS["text"] = StepText
    return _PRINTERS["text"]({}, unicode=unicode)(e)


def _latex(e: Expr) -> str:
    """LaTeX of e, differentials printed \\mathrm{d}X."""
    if "latex" not in _PRINTERS:
        from .printing.latex import LatexPrinter
        from .printing.symbols import latex_name

        class StepLatex(LatexPrinter):
            def differential(self, label) -> str:
                return r"\mathrm{d}" + latex_name(label)

        _PRINTERS["latex"] = StepLatex
    return _PRINTERS["latex"]({})(e)


def _prose(text: str) -> str:
    """A rule written in text with Unicode mathematics, as LaTeX valid in math mode."""
    from .printing.prose import prose_latex
    return prose_latex(text)


def _cell(latex: str) -> str:
    """LaTeX safe inside a Markdown table cell, where '|' ends the cell."""
    return latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ")


def _is_one(e: Expr) -> bool:
    return e.op == "const" and e.params[0] == 1


def _join_terms(pieces: list, minus: str) -> str:
    out = ""
    for i, piece in enumerate(pieces):
        if i == 0:
            out = piece
        elif piece.startswith(minus):
            out += f" {minus} " + piece[len(minus):]
        else:
            out += " + " + piece
    return out


def _shown_terms(step) -> tuple[list, int]:
    """(the terms a line prints, how many unchanged pending terms it abbreviates)."""
    terms = step.terms
    fresh = len(terms) if step.fresh is None else step.fresh
    if len(terms) - fresh <= SHOWN_PENDING:
        return terms, 0
    return terms[:fresh + SHOWN_PENDING - 1], len(terms) - fresh - SHOWN_PENDING + 1


def _terms_text(step, unicode: bool = True) -> str:
    terms, hidden = _shown_terms(step)
    pieces = []
    for g, d in terms:
        dt = _text(d, unicode)
        if d.op == "add":
            dt = f"({dt})"
        if _is_one(g):
            pieces.append(_text(d, unicode))
        else:
            gt = _text(g, unicode)
            pieces.append((f"({gt})" if g.op == "add" else gt) + " : " + dt)
    if not pieces:
        pieces = ["0"]
    out = _join_terms(pieces, "−" if unicode else "-")
    if hidden:
        out += f" + ({hidden} terms as above)"
    return out


def _terms_latex(step) -> str:
    terms, hidden = _shown_terms(step)
    pieces = []
    for g, d in terms:
        def wrap(e):
            return rf"\left({_latex(e)}\right)" if e.op == "add" else _latex(e)
        if _is_one(g):
            pieces.append(_latex(d))
        else:
            pieces.append(wrap(g) + " : " + wrap(d))
    if not pieces:
        pieces = ["0"]
    out = _join_terms(pieces, "-")
    if hidden:
        out += rf" + \left({hidden}\ \text{{terms as above}}\right)"
    return out


# ---- the identities, as a reader sees them ---------------------------------------------


def _rule_doc(op: str) -> str | None:
    """The identity a differential rule states, from its docstring (stated once)."""
    from .rules import RULES
    doc = (RULES[op].__doc__ or "").strip().splitlines()
    if not doc:
        return None
    return " ".join(doc[0].split()).rstrip(".")


def _fn_note(name: str, *order) -> str:
    """f′ for an elementwise function, printed from the elementwise table (of order 1
    where the function takes an order and none is given: ψ⁽¹⁾′(t) = ψ⁽²⁾(t))."""
    from .elementwise import table
    from .printing.text import to_text
    row = table()[name]
    order = (order or (1,)) if row.ordered else ()
    t = ops.scalar("t")
    f = ops.fn(name, *order, t)
    return f"{row.head(*f.params[1:])}′(t) = {to_text(row.derivative(t, f, *f.params[1:]))}"


def _function_name(op: str) -> str:
    """How the printed results name a declared operation (log det for logdet)."""
    text = registry.get(op).text
    return text[0] if isinstance(text, tuple) else registry.get(op).call


def _expansion_notes(segment_nodes: list, relevant: set) -> tuple[list, list]:
    """(notes, nonlinear function names) for the differential rules used in a segment."""
    notes: list = []
    fns: list = []
    for node in segment_nodes:
        kids = [c in relevant for c in node.children]
        note = None
        if node.op == "fn":
            fns.append(node.params[0])
            note = _fn_note(*node.params)
        elif node.op in NONLINEAR:
            note = _rule_doc(node.op)
            if node.op != "pow":
                fns.append(_function_name(node.op))
        elif node.op in ("matmul", "mul") and all(kids):
            note = _rule_doc(node.op)
        elif node.op == "div" and kids[1]:
            note = _rule_doc("div")
        if note and note not in notes:
            notes.append(note)
    return notes, fns


# ---- building the steps ------------------------------------------------------------------


def _depends(L: Expr, x: Expr) -> set:
    relevant: set = set()
    for node in walk(L):
        if node is x or any(c in relevant for c in node.children):
            relevant.add(node)
    return relevant


def _work(root: Expr, skip) -> int:
    """Operations that are work under root (a scaling by a number is not), not entering
    nodes below root for which skip(node) holds."""
    total = 0
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node in seen or (node is not root and skip(node)):
            continue
        seen.add(node)
        if node.op in _WORK and not (node.op in ("mul", "div") and any(
                is_number(c) for c in node.children)):
            total += 1
        stack.extend(node.children)
    return total


def _fresh(pool: tuple, taken: set) -> str:
    from .intermediates import fresh_names
    name = next(fresh_names(pool, taken))
    taken.add(name)
    return name


class _Atoms:
    """Named subexpressions as leaves: `of(e)` is e with every named node below it (and
    e itself, if named) replaced by its atom; memoized, so that all the calls of one
    derivation together cost one walk of the DAG."""

    def __init__(self, names: dict):
        self.atom = {e: make("var", (), (n, ""), e.shape) for e, n in names.items()}
        self.memo: dict = dict(self.atom)

    def of(self, e: Expr) -> Expr:
        memo = self.memo
        if e in memo:
            return memo[e]
        for node in walk(e, skip=memo):
            kids = tuple(memo[c] for c in node.children)
            memo[node] = node if kids == node.children else make(node.op, kids,
                                                                 node.params, node.shape)
        return memo[e]

    def definition(self, e: Expr) -> Expr:
        """A named node's own definition, its children as atoms."""
        kids = tuple(self.of(c) for c in e.children)
        return e if kids == e.children else make(e.op, kids, e.params, e.shape)


def derive(L: Expr, x, *, definitions: dict | None = None, loss_name: str = "L") -> Derivation:
    """The derivation of ∂L/∂x in differential form, step by step.

    `definitions` maps names to intermediates of L (assignments of the input), which the
    steps then use by name.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w, y = mg.matrix("X", m, n), mg.vector("w", n), mg.vector("y", m)
    >>> d = mg.derive(mg.sum((X @ w - y) ** 2), X)
    >>> print(d.steps[-2].rule)
    A : BC = A Cᵀ : B
    >>> d.result is mg.grad(mg.sum((X @ w - y) ** 2), X)
    True
    """
    from .simplify import Simplifier
    L = ops.to_expr(L)
    if L.shape != (1, 1):
        raise DomainError(
            f"a derivation needs a scalar expression, but this one is "
            f"{fmt_shape(L.shape)}; use jacobian for a vector or matrix")
    x = resolve(L, x)
    relevant = _depends(L, x)
    definitions = dict(definitions or {})
    forward = set(walk(L))
    # the user's names for subexpressions; a variable keeps its own name
    by_expr = {e: n for n, e in definitions.items()
               if isinstance(e, Expr) and e in forward and e.op != "var" and e is not L}
    taken = {v.params[0] for v in variables(L)} | {d.name for d in dimensions(L)}
    taken |= {x.params[0]} | set(definitions) | {loss_name}
    names = name_shared([L], defined=by_expr, taken=taken, forward=forward)
    names = {e: n for e, n in names.items() if e in forward and e is not L}
    taken |= set(names.values())

    # Stations: the loss, x, named nodes on the path, and arguments of nonlinear
    # functions that hold work; children first, so a station's weight stops at others.
    order = [n for n in walk(L) if n in relevant]
    nonlinear_args = {c for p in order if p.op in NONLINEAR for c in p.children
                      if c in relevant}
    stations: set = set()
    for node in order:
        if node is x or node is L or node in names or (
                node in nonlinear_args and _work(
                    node, lambda n: n in stations or n not in relevant) > 0):
            stations.add(node)
            if node not in names and node is not x and node is not L:
                names[node] = _fresh(FORWARD_NAMES, taken)
    label = {s: (x.params[0] if s is x else loss_name if s is L else names[s])
             for s in stations}
    dvar = {s: differential_of(label[s], s.shape) for s in stations}
    for s in (x, L):  # also where L does not depend on x
        label.setdefault(s, x.params[0] if s is x else loss_name)
        dvar.setdefault(s, differential_of(label[s], s.shape))
    atoms = _Atoms(names)
    simp = Simplifier()

    def tidy(e: Expr) -> Expr:
        return simp(atoms.of(e))

    backward: list = []  # Intermediate for each named cotangent
    named_at: dict = {}  # station -> the Definition of the cotangent named there

    def name(S: Expr, G: Expr) -> Expr:
        """A cotangent carried into a new segment gets a name, if it is worth one."""
        if S is L or G.op == "var" or _work(G, lambda n: False) < 2:
            return G
        gname = _fresh(BACKWARD_NAMES, taken)
        note = f"∂{unicode_name(loss_name)}/∂{unicode_name(label[S])}"
        atom = make("var", (), (gname, ""), G.shape)
        backward.append(Intermediate(gname, atom, G, None, note))
        named_at[S] = Definition(gname, G, note)
        return atom

    steps: list = []
    frontier: list = [[ops.const(1), L]]  # [G, station] pairs: dL = Σ G : dS

    def pending(terms) -> list:
        return [[g, dvar[t]] for g, t in terms]

    def collect(S: Expr, total: Expr, rest: list) -> None:
        """The terms in dS, collected into one, just before they are needed."""
        steps.append(Step([[total, dvar[S]]] + pending(rest),
                          ["collect terms: A : C + B : C = (A + B) : C"], lhs=dvar[L],
                          fresh=1))

    def visit(v) -> None:
        nonlocal frontier
        S, G, D = v.node, v.cotangent, v.differential
        rest = [t for t in frontier if t[1] is not S]
        if len(frontier) - len(rest) > 1:
            collect(S, v.collected, rest)
        notes, fns = _expansion_notes(v.segment, relevant)
        ids = list(v.identities)
        merge = S is L and set(ids) <= _DEFINITIONAL
        if S is L:
            expansion_rule = (["differential of a squared norm: d sum(A²) = 2A : dA"]
                              if _squared_norm(L) else ["the differential"] + notes)
        else:
            lead = f"chain rule through {', '.join(dict.fromkeys(fns))}" if fns else None
            expansion_rule = ([lead] if lead else []) + [Equation(dvar[S], D)] + notes
            if S in named_at:
                expansion_rule.append(named_at[S])
        if not merge:
            steps.append(Step([[G, D]] + pending(rest), expansion_rule, lhs=dvar[L],
                              fresh=1))
        pairs = [[gi, t] for t, gi in v.pushes]
        if ids or merge or not pairs:
            rule = [IDENTITIES[k] for k in ids] if not merge else expansion_rule
            if not pairs:
                rule = rule + [f"d{unicode_name(label[S])} = 0 here: the term vanishes"]
            steps.append(Step(pending(pairs) + pending(rest), rule, lhs=dvar[L],
                              fresh=len(pairs)))
        frontier = pairs + rest

    cot = reverse_pass(L, [x], stations=stations, leaf=lambda s: dvar[s], tidy=tidy,
                       name=name, on_visit=visit)
    x_terms = [g for g, t in frontier if t is x]
    if len(x_terms) > 1:
        G_x = tidy(cot[x])
        collect(x, G_x, [])
    else:
        G_x = x_terms[0] if x_terms else None
    if G_x is None:  # L does not depend on x, or every term vanished
        G_x = ops.zeros(*x.shape)
        if not steps or steps[-1].terms:
            why = (f"{unicode_name(loss_name)} does not depend on "
                   f"{unicode_name(x.params[0])}" if x not in relevant
                   else "no term remains")
            steps.append(Step([[G_x, dvar[x]]], [f"{why}: d{unicode_name(loss_name)} = 0"],
                              lhs=dvar[L]))
        else:
            steps[-1].terms = [[G_x, dvar[x]]]
    kind = structure_of(x)
    if kind:  # only G's part in the structure pairs with a structured dX
        G_in = simp(symmetrize(x, G_x))
        if G_in is not G_x:
            steps.append(Step([[G_in, dvar[x]]], [STRUCTURE_IDENTITIES[kind]], lhs=dvar[L]))
            G_x = G_in
    shape = "scalar" if x.shape == (1, 1) else (
        f"{x.shape[0]}" if x.shape[1] == 1 else f"{fmt_shape(x.shape)}")
    steps.append(Step([[G_x, dvar[x]]],
                      [f"{shape}, the shape of {unicode_name(x.params[0])}"],
                      kind="gradient", lhs=x))
    forward_atoms = _used_forward_atoms(steps, backward, atoms, names, by_expr)
    out = Derivation(L, x, steps,
                     {e: n for e, n in names.items() if e in forward_atoms or e in by_expr},
                     [Intermediate(names[e], atoms.atom[e], atoms.definition(e), e)
                      for e in order_of(forward_atoms, L)] + backward, loss_name)
    for step in steps:
        step.rule = out._rule_text(step)
    return out


def order_of(nodes: set, L: Expr) -> list:
    """The nodes in an order where each comes after those it uses."""
    return [n for n in walk(L) if n in nodes]


def _used_forward_atoms(steps: list, backward: list, atoms: _Atoms, names: dict,
                        by_expr: dict) -> set:
    """The named subexpressions a reader meets: every station (each has a differential
    in the steps), the atoms the steps and definitions use, and, in turn, the atoms
    their definitions use."""
    by_atom = {a: e for e, a in atoms.atom.items()}
    stack: list = []
    for step in steps:
        for g, d in step.terms:
            stack.extend([g, d])
        for p in step.rule_parts:
            if isinstance(p, Equation):
                stack.extend([p.lhs, p.rhs])
    stack.extend(b.definition for b in backward)
    used: set = set()
    seen: set = set()
    node_of = {n: e for e, n in names.items()}
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e.op == "var" and e in by_atom:
            node = by_atom[e]
            if node not in used:
                used.add(node)
                stack.append(atoms.definition(node))
        elif e.op == "dvar" and e.params[0] in node_of:
            node = node_of[e.params[0]]
            if node not in used:
                used.add(node)
                stack.append(atoms.definition(node))
        stack.extend(e.children)
    return used


def _squared_norm(L: Expr) -> bool:
    """Whether L is c · ‖A‖² in any of its spellings (sum(A²), ‖A‖², AᵀA), up to a
    numeric factor."""
    e = L
    while e.op in ("mul", "div") and any(is_number(c) for c in e.children):
        e = next(c for c in e.children if not is_number(c))
    if e.op == "sum" and e.children[0].op == "pow" and e.children[0].params[0] == 2:
        return True
    if e.op == "pow" and e.params[0] == 2 and e.children[0].op == "norm":
        return True
    if e.op == "matmul" and e.children[0].op == "transpose" and \
            e.children[0].children[0] is e.children[1]:
        return True
    return False
