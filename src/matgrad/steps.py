"""Derivations a person can follow: the steps of a gradient in differential form.

`derive(L, x)` writes the chain a teacher writes on the board. It starts from dL and
walks from the output down to x, one *station* at a time: the loss, the intermediates a
reader would name (the user's assignments, shared subexpressions, and the arguments of
nonlinear functions that hold real work), and x itself. At each station S, with dL = G : dS,

1. the differential of S's definition is substituted (dS = D, the chain rule), and
2. G : D is rewritten as Σ Gᵢ : dTᵢ with the Frobenius identities (A : BC = A Cᵀ : B,
   A : B ⊙ C = A ⊙ B : C, ...), terms for the same station being collected.

The last line reads dL = G : dx, so ∂L/∂x = G. Each step is an equation between numbers
at any point and along any direction dx; `Derivation.verify` evaluates both sides, with
every differential taken from central finite differences, never from the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ops
from .differentiate import resolve, symmetrize
from .errors import DomainError
from .expr import Expr, dimensions, make, variables, walk
from .intermediates import BACKWARD_NAMES, FORWARD_NAMES, name_shared
from .printing.symbols import unicode_name

# Operations whose argument deserves a name of its own when it holds real work.
NONLINEAR = frozenset({"fn", "pow", "inv", "det", "logdet", "norm", "logsumexp",
                       "softmax"})
# Operations that count as work (a name for `a + b` or `Aᵀ` saves the reader nothing).
_WORK = frozenset({"matmul", "mul", "div"}) | NONLINEAR
_LEAVES = frozenset({"var", "const", "dim", "ones", "zeros", "eye", "dvar"})


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


@dataclass
class Step:
    """One line of a derivation: dL = Σ G : D, justified by `rule`.

    `terms` are the (G, D) pairs of the right side; D holds differentials (`dvar` leaves
    labelled with a name). `kind` is "differential" for the lines of the chain and
    "gradient" for the closing ∂L/∂x = G, whose right side is `terms[0][0]`.
    """

    terms: list
    rule_parts: list  # prose (str) and equations (Equation), printed in order
    kind: str = "differential"
    lhs: Expr | None = None  # the differential dL (a dvar), or the gradient's variable
    rule: str = ""  # the identities that justify this step, as plain text
    spelled_out: frozenset = frozenset()  # named nodes written out in full on this line

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
        return total

    def value(self, arrays: dict, sizes: dict, diffs: dict) -> float:
        """Σ G : D at a point (`arrays`), with differentials `diffs` (label -> array)."""
        from .numeric import evaluate_2d
        total = 0.0
        cache: dict = {}
        for g, d in self.terms:
            G = evaluate_2d(g, arrays, sizes, cache)
            D = evaluate_2d(_as_variables(d), {**arrays, **_diff_names(diffs)}, sizes)
            total += float(np.sum(np.broadcast_to(G, D.shape) * D))
        return total


def _frobenius(g: Expr, d: Expr) -> Expr:
    """G : D = sum(G ⊙ D)."""
    return ops.sum(ops.mul(g, d))


def differential_of(label: str, shape) -> Expr:
    """The differential d<label> as a leaf (printed dX, dŷ, dz)."""
    return make("dvar", (), (label,), tuple(shape))


def _diff_names(diffs: dict) -> dict:
    return {f"d {label}": v for label, v in diffs.items()}


def _as_variables(e: Expr) -> Expr:
    """e with each differential leaf replaced by a variable, so that it can be evaluated."""
    return substitute(e, {n: make("var", (), (f"d {n.params[0]}", False), n.shape)
                          for n in walk(e) if n.op == "dvar"})


def substitute(e: Expr, mapping: dict) -> Expr:
    """e with the nodes in `mapping` replaced (iterative, shares rebuilt subtrees)."""
    if not mapping:
        return e
    out: dict = {}
    for node in walk(e):
        if node in mapping:
            out[node] = mapping[node]
            continue
        kids = tuple(out[c] for c in node.children)
        out[node] = node if kids == node.children else make(node.op, kids, node.params,
                                                              node.shape)
    return out[e]


# ---- the derivation ----------------------------------------------------------------------


@dataclass
class Derivation:
    """The steps from dL to ∂L/∂x, with the intermediates they name."""

    loss: Expr
    x: Expr
    result: Expr
    steps: list
    names: dict = field(default_factory=dict)  # Expr -> name, for the printers
    intermediates: list = field(default_factory=list)  # (name, expr, note)
    loss_name: str = "L"

    # ---- numbers --------------------------------------------------------------------
    def verify(self, *, points: int = 3, seed: int | None = 0, h: float = 1e-6,
               sizes: dict | None = None) -> list:
        """The largest relative error of each step over random points and directions:
        both sides evaluated, every differential from central finite differences.

        >>> import matgrad as mg
        >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
        >>> max(mg.derive(x.T @ A @ x, x).verify()) < 1e-6
        True
        """
        from .numeric import evaluate_2d
        from .verify import direction, relative_error, sample
        rng = np.random.default_rng(seed)
        stations = self._stations()
        errors = [0.0] * len(self.steps)
        name = self.x.params[0]
        for _ in range(points):
            values, sz = sample([self.loss, self.result], rng, sizes)
            V = direction(values[name].shape, rng, self.x.params[1])
            up, down = dict(values), dict(values)
            up[name] = values[name] + h * V
            down[name] = values[name] - h * V
            diffs = {}
            for label, node in stations.items():
                if node is self.x:
                    diffs[label] = V
                else:
                    diffs[label] = (evaluate_2d(node, up, sz) - evaluate_2d(node, down, sz)) \
                        / (2 * h)
            dL = float(diffs[self.loss_name][0, 0]) if self.loss_name in diffs else \
                float((evaluate_2d(self.loss, up, sz) - evaluate_2d(self.loss, down, sz))
                      [0, 0] / (2 * h))
            for i, step in enumerate(self.steps):
                if step.kind == "gradient":
                    G = np.broadcast_to(evaluate_2d(step.terms[0][0], values, sz), V.shape)
                    got = float(np.sum(G * V))
                else:
                    got = step.value(values, sz, diffs)
                err = relative_error(dL, got)
                errors[i] = max(errors[i], err if np.isfinite(err) else float("inf"))
        return errors

    def _stations(self) -> dict:
        """label -> the node whose differential d<label> stands for."""
        by_name = {n: e for e, n in self.names.items()}
        out = {}
        for step in self.steps:
            for g, d in step.terms:
                for node in walk(d):
                    if node.op == "dvar":
                        label = node.params[0]
                        if label == self.x.params[0]:
                            out[label] = self.x
                        elif label == self.loss_name:
                            out[label] = self.loss
                        else:
                            out[label] = by_name[label]
        return out

    # ---- text -----------------------------------------------------------------------
    def rows(self, *, unicode: bool = True) -> list:
        """(left side, right side, rule) rows of the plain-text derivation."""
        out = []
        for i, step in enumerate(self.steps):
            names = self._names_for(step)
            if step.kind == "gradient":
                lhs = (f"∂{unicode_name(self.loss_name)}/∂{unicode_name(self.x.params[0])}"
                       if unicode else f"d{self.loss_name}/d{self.x.params[0]}")
                rhs = _text(step.terms[0][0], names, unicode)
            else:
                lhs = f"d{unicode_name(self.loss_name) if unicode else self.loss_name}" \
                    if i == 0 else ""
                rhs = _terms_text(step.terms, names, unicode)
            out.append((lhs, rhs, self._rule_text(step, unicode)))
        return out

    def _names_for(self, step) -> dict:
        if not step.spelled_out:
            return self.names
        return {e: n for e, n in self.names.items() if e not in step.spelled_out}

    def _rule_text(self, step, unicode: bool = True) -> str:
        parts = []
        for p in step.rule_parts:
            if isinstance(p, Equation):
                parts.append(f"{_text(p.lhs, self.names, unicode, root=True)} = "
                             f"{_text(p.rhs, self.names, unicode)}")
            elif isinstance(p, Definition):
                parts.append(f"{unicode_name(p.name) if unicode else p.name} = "
                             f"{_text(p.expr, self.names, unicode, root=True)}"
                             + (f", which is {p.note}" if p.note else ""))
            else:
                parts.append(p)
        return "; ".join(parts)

    def where_lines(self, *, unicode: bool = True) -> list:
        return [f"{unicode_name(n) if unicode else n} = "
                f"{_text(e, self.names, unicode, root=True)}" + (f"  ({note})" if note else "")
                for n, e, note in self.intermediates]

    def to_text(self, *, unicode: bool = True) -> str:
        """The derivation as aligned plain text, one step a line, rules on the right."""
        from .report import display_width
        rows = self.rows(unicode=unicode)
        where = self.where_lines(unicode=unicode)
        width = max(display_width(a) for a, _, _ in rows)
        body = max(display_width(b) for _, b, _ in rows)
        out = []
        forward = [w for w, (_, _, note) in zip(where, self.intermediates) if not note]
        if 0 < len(forward) <= 3:
            out.append("  where " + ", ".join(forward))
        elif forward:  # many names: one a line, so that lines stay short
            out.append("  where")
            out.extend(f"    {w}" for w in forward)
        for a, b, rule in rows:
            pad_a = " " * (width - display_width(a))
            pad_b = " " * (body - display_width(b))
            out.append(f"  {pad_a}{a} = {b}{pad_b}   ({rule})")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    # ---- LaTeX and Markdown -----------------------------------------------------------
    def _latex_rows(self) -> list:
        from .printing.symbols import latex_name
        rows = []
        for i, step in enumerate(self.steps):
            names = self._names_for(step)
            if step.kind == "gradient":
                lhs = (rf"\frac{{\partial {latex_name(self.loss_name)}}}"
                       rf"{{\partial {latex_name(self.x.params[0])}}}")
                rhs = _latex(step.terms[0][0], names)
            else:
                lhs = rf"\mathrm{{d}}{latex_name(self.loss_name)}" if i == 0 else ""
                rhs = _terms_latex(step.terms, names)
            rows.append((lhs, rhs, self._rule_latex(step)))
        return rows

    def _rule_latex(self, step) -> str:
        parts = []
        for p in step.rule_parts:
            if isinstance(p, Equation):
                parts.append(f"{_latex(p.lhs, self.names, root=True)} = "
                             f"{_latex(p.rhs, self.names)}")
            elif isinstance(p, Definition):
                from .printing.symbols import latex_name
                parts.append(f"{latex_name(p.name)} = {_latex(p.expr, self.names, root=True)}")
            else:
                parts.append(r"\text{" + _latex_words(p) + "}")
        return r";\ ".join(parts)

    def to_latex(self) -> str:
        """An `aligned` environment: one step a line, the rule in a comment column."""
        from .printing.symbols import latex_name
        lines = []
        for n, e, _ in self.intermediates:
            lines.append(rf"{latex_name(n)} &= {_latex(e, self.names, root=True)}")
        for lhs, rhs, rule in self._latex_rows():
            lines.append(rf"{lhs} &= {rhs} && {rule}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def to_markdown(self) -> str:
        """Markdown with $LaTeX$: the intermediates, then a table of steps and rules."""
        from .printing.symbols import latex_name
        out = []
        title = (rf"$\frac{{\partial {latex_name(self.loss_name)}}}"
                 rf"{{\partial {latex_name(self.x.params[0])}}}$")
        out.append(f"**Derivation of {title}**\n")
        if self.intermediates:
            out.append("where " + ", ".join(
                f"${latex_name(n)} = {_latex(e, self.names, root=True)}$"
                for n, e, _ in self.intermediates) + "\n")
        out.append("| step | rule |")
        out.append("| --- | --- |")
        for lhs, rhs, rule in self._latex_rows():
            left = f"{lhs} = {rhs}" if lhs else f"= {rhs}"
            out.append(f"| ${_cell(left)}$ | ${_cell(rule)}$ |")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"


# ---- printing helpers ------------------------------------------------------------------


def _text(e: Expr, names: dict, unicode: bool = True, root: bool = False) -> str:
    """Plain text of e; a named node prints as its name unless `root`."""
    p = _step_text_printer()(names, unicode=unicode)
    return p(e) if root or e not in names else p.visit(e)[0]


def _latex(e: Expr, names: dict, root: bool = False) -> str:
    """LaTeX of e; a named node prints as its name unless `root`."""
    p = _step_latex_printer()(names)
    return p(e) if root or e not in names else p.visit(e)[0]


_PRINTERS: dict = {}


def _step_text_printer():
    """The text printer, with differentials printed dX, dŷ (built once, lazily)."""
    if "text" not in _PRINTERS:
        from .printing.text import TextPrinter

        class StepText(TextPrinter):
            def differential(self, label) -> str:
                return "d" + (unicode_name(label) if self.unicode else label)

        _PRINTERS["text"] = StepText
    return _PRINTERS["text"]


def _step_latex_printer():
    """The LaTeX printer, with differentials printed \\mathrm{d}X."""
    if "latex" not in _PRINTERS:
        from .printing.latex import LatexPrinter
        from .printing.symbols import latex_name

        class StepLatex(LatexPrinter):
            def differential(self, label) -> str:
                return r"\mathrm{d}" + latex_name(label)

        _PRINTERS["latex"] = StepLatex
    return _PRINTERS["latex"]


def _wrapped(text_of, e: Expr, names: dict) -> str:
    """An operand of ':' (which binds loosest but for +): a sum gets parentheses."""
    text = text_of(e)
    if e.op == "add" and e not in names:
        return f"({text})" if not text.startswith(r"\left") else text
    return text


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


def _terms_text(terms: list, names: dict, unicode: bool = True) -> str:
    colon = " : "
    pieces = []
    for g, d in terms:
        dt = _wrapped(lambda e: _text(e, names, unicode), d, names)
        if _is_one(g):
            pieces.append(_text(d, names, unicode))
        else:
            pieces.append(_wrapped(lambda e: _text(e, names, unicode), g, names) + colon + dt)
    return _join_terms(pieces, "−" if unicode else "-")


def _terms_latex(terms: list, names: dict) -> str:
    pieces = []
    for g, d in terms:
        wrap = (lambda e: rf"\left({_latex(e, names)}\right)"
                if e.op == "add" and e not in names else _latex(e, names))
        if _is_one(g):
            pieces.append(_latex(d, names))
        else:
            pieces.append(wrap(g) + " : " + wrap(d))
    return _join_terms(pieces, "-")


_LATEX_CHARS = {
    "ᵀ": r"$^{\top}$", "⊙": r"$\odot$", "⊘": r"$\oslash$", "⁻¹": r"$^{-1}$", "−": "-",
    "′": "'", "‖": r"$\|$", "·": r"$\cdot$", "²": r"$^{2}$", "ᵖ": r"$^{p}$", "⁻": r"$^{-}$",
    "Σ": r"$\Sigma$", "⁽": "(", "⁾": ")", "∂": r"$\partial$", "ŷ": r"$\hat{y}$",
    "σ": r"$\sigma$", "½": r"$\frac{1}{2}$", "ₘ": "", "ₙ": "",
}
_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#",
            "{": r"\{", "}": r"\}"}


def _latex_words(text: str) -> str:
    """Prose with a few Unicode symbols, made safe inside \\text{...}."""
    out = text
    for ch in "\\_%&#{}":  # LaTeX's special characters first, then the symbols
        out = out.replace(ch, _ESCAPES[ch])
    for ch, rep in _LATEX_CHARS.items():
        out = out.replace(ch, rep)
    return out


# ---- the identities, as a reader sees them ---------------------------------------------


def _rule_doc(op: str) -> str | None:
    """The identity a differential rule states, from its docstring (stated once)."""
    from .rules import RULES
    doc = (RULES[op].__doc__ or "").strip().splitlines()
    if not doc:
        return None
    return " ".join(doc[0].split()).rstrip(".")


def _fn_note(name: str) -> str:
    """f′ for an elementwise function, printed from the elementwise table."""
    from .elementwise import table
    from .printing.text import to_text
    row = table()[name]
    t = ops.scalar("t")
    return f"{row.text}′(t) = {to_text(row.derivative(t, ops.fn(name, t)))}"


def _is_const_like(e: Expr) -> bool:
    """No variables and no differentials: a number, whatever its spelling."""
    return all(n.op not in ("var", "dvar") for n in walk(e))


def _expansion_notes(segment_nodes: list, linear: set) -> tuple[list, list]:
    """(notes, nonlinear function names) for the differential rules used in a segment."""
    notes: list = []
    fns: list = []
    for node in segment_nodes:
        kids = [c in linear for c in node.children]
        note = None
        if node.op == "fn":
            fns.append(node.params[0])
            note = _fn_note(node.params[0])
        elif node.op in ("pow", "inv", "det", "logdet", "norm", "logsumexp", "softmax"):
            note = _rule_doc(node.op)
            if node.op != "pow":
                fns.append({"logdet": "log det"}.get(node.op, node.op))
        elif node.op in ("matmul", "mul") and all(kids):
            note = _rule_doc(node.op)
        elif node.op == "div" and kids[1]:
            note = _rule_doc("div")
        if note and note not in notes:
            notes.append(note)
    return notes, fns


_IDENTITY = {
    "hadamard": "move the Hadamard factor: A : B ⊙ C = A ⊙ B : C",
    "frobenius": "sum(A ⊙ B) = A : B",
    "matmul-left": "A : BC = A Cᵀ : B",
    "matmul-right": "A : BC = Bᵀ A : C",
    "transpose": "A : Bᵀ = Aᵀ : B",
    "broadcast": "a broadcast's adjoint sums: A : b 1ᵀ = A 1 : b",
    "sum": "a : sum(B) = a 1 : B",
    "trace": "a : tr(B) = a I : B",
    "diagmat": "A : diag(b) = diag(A) : b",
    "diagvec": "A : diag(B) = diag(A) : B",
    "div": "A : B ⊘ C = (A ⊘ C) : B",
    "div-scalar": "A : B / c = (A / c) : B",
}
# Identities that only unfold the definition of ':' (sum(A ⊙ B) = A : B) or move numbers.
_DEFINITIONAL = frozenset({"frobenius", "sum", "div-scalar", "broadcast"})


def _identities(D: Expr, G: Expr) -> list:
    """The Frobenius identities that rewriting G : D as Σ Gᵢ : dᵢ uses, in order.

    Mirrors the cases of `rules.adjoint`, tracking whether the cotangent reaching a node
    is still just a number (then moving a Hadamard factor is the definition of ':')."""
    has_d: dict = {}
    for node in walk(D):
        has_d[node] = node.op == "dvar" or any(has_d[c] for c in node.children)
    out: list = []
    work = [(D, _is_const_like(G))]
    seen: set = set()
    while work:
        e, numeric = work.pop()
        if (e, numeric) in seen or not has_d[e] or e.op == "dvar":
            continue
        seen.add((e, numeric))
        kids = [c for c in e.children if has_d[c]]
        key = None
        if e.op == "mul":
            key = "frobenius" if numeric else "hadamard"
            numeric = numeric and all(_is_const_like(c) for c in e.children if not has_d[c])
        elif e.op == "div":
            scalar = e.children[1].shape == (1, 1) or e.children[1].op == "broadcast"
            key = "div-scalar" if scalar else "div"
            numeric = numeric and _is_const_like(e.children[1])
        elif e.op == "matmul":
            for side, k in ((0, "matmul-left"), (1, "matmul-right")):
                if has_d[e.children[side]] and k not in out:
                    out.append(k)
            numeric = False
        elif e.op in ("transpose", "trace", "diagmat", "diagvec"):
            key = e.op
            numeric = numeric and e.op == "transpose"
        elif e.op == "broadcast":
            key = "broadcast" if e.children[0].shape != e.shape else None
        elif e.op == "sum":
            key = "sum" if e.shape == (1, 1) else "broadcast"
        if key and key not in out:
            out.append(key)
        work.extend((c, numeric) for c in reversed(kids))
    return out


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
                _is_const_like(c) for c in node.children)):
            total += 1
        stack.extend(node.children)
    return total


def _weight(e: Expr, names: dict) -> int:
    """Operations that are work in e, counting named nodes and numbers as leaves."""
    return _work(e, lambda n: n in names)


def _fresh(pool: tuple, taken: set) -> str:
    from .intermediates import _pool
    name = next(_pool(pool, taken))
    taken.add(name)
    return name


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
    from .differentiate import grad
    from .rules import differential
    from .simplify import Simplifier
    L = ops.to_expr(L)
    if L.shape != (1, 1):
        raise DomainError(
            f"a derivation needs a scalar expression, but this one is "
            f"{L.shape[0]}×{L.shape[1]}; use jacobian for a vector or matrix")
    x = resolve(L, x)
    result = grad(L, x)
    relevant = _depends(L, x)
    definitions = dict(definitions or {})
    forward = set(walk(L))
    by_expr = {e: n for n, e in definitions.items() if e in forward}
    taken = {v.params[0] for v in variables(L)} | {d.name for d in dimensions(L)}
    taken |= set(definitions) | {loss_name}
    names = name_shared([L, result], defined=by_expr, taken=taken, forward=forward)
    names = {e: n for e, n in names.items() if e in forward}  # forward names only
    taken |= set(names.values())

    # Stations: the loss, x, named nodes on the path, and arguments of nonlinear
    # functions that hold work; children first, so a station's weight stops at others.
    order = [n for n in walk(L) if n in relevant]
    nonlinear_args = {c for p in order if p.op in NONLINEAR for c in p.children
                      if c in relevant}
    stations: list = []
    station_set: set = set()
    for node in order:
        is_station = node is x or node is L or node in names or (
            node in nonlinear_args and _weight_within(node, relevant, station_set) > 0)
        if is_station:
            stations.append(node)
            station_set.add(node)
            if node not in names and node is not x and node is not L:
                names[node] = _fresh(FORWARD_NAMES, taken)
    label = {s: (x.params[0] if s is x else loss_name if s is L else names[s])
             for s in stations}
    dvar = {s: differential_of(label[s], s.shape) for s in stations}
    rank = {s: i for i, s in enumerate(stations)}
    owner = {d: s for s, d in dvar.items()}

    simp = Simplifier()
    steps: list = []
    intermediates: list = [(names[s], s, "") for s in stations if s in names]
    frontier: list = [[ops.const(1), L]]  # [G, station] pairs: dL = Σ G : dS
    while True:
        pending = [t for t in frontier if t[1] is not x]
        if not pending:
            break
        S = max((t[1] for t in pending), key=rank.get)
        G = simp(ops.add(*[t[0] for t in frontier if t[1] is S])) if sum(
            t[1] is S for t in frontier) > 1 else next(t[0] for t in frontier if t[1] is S)
        rest = [t for t in frontier if t[1] is not S]

        # name a cotangent carried into a new segment, if it is worth a name
        rule_extra: list = []
        if S is not L and G not in names and _weight(G, names) >= 2:
            gname = _fresh(BACKWARD_NAMES, taken)
            names[G] = gname
            for earlier in steps:  # the lines before the name was given spell it out
                earlier.spelled_out = earlier.spelled_out | {G}
            note = f"∂{unicode_name(loss_name)}/∂{unicode_name(label[S])}"
            intermediates.append((gname, G, note))
            rule_extra.append(Definition(gname, G, note))

        # 1. substitute dS = D, the chain rule through S's definition
        dmap: dict = {}
        seg: list = []
        for node in _segment(S, relevant, station_set):
            if node not in relevant:
                dmap[node] = None
            elif node is not S and node in station_set:
                dmap[node] = dvar[node]
            else:
                kids = [dmap.get(c) if c in relevant else None for c in node.children]
                dmap[node] = differential(node, kids)
                seg.append(node)
        D = simp(dmap[S])
        notes, fns = _expansion_notes(seg, relevant)
        ids = _identities(D, G)
        pairs = _adjoint_terms(D, G, simp, owner)
        merge = S is L and set(ids) <= _DEFINITIONAL
        if S is L:
            if _squared_norm(L):
                expansion_rule = ["differential of a squared norm: d sum(A²) = 2A : dA"]
            else:
                expansion_rule = ["the differential"] + notes
        else:
            lead = f"chain rule through {', '.join(dict.fromkeys(fns))}" if fns else None
            expansion_rule = ([lead] if lead else []) + [Equation(dvar[S], D)] + \
                [n for n in notes] + rule_extra
        if not merge:
            steps.append(Step([[G, D]] + [list(t) for t in rest], expansion_rule,
                              lhs=dvar[L]))
        # 2. rewrite G : D as Σ Gᵢ : dTᵢ with the Frobenius identities
        identity_rule = [_IDENTITY[k] for k in ids] if not merge else expansion_rule
        if ids or merge:
            steps.append(Step([[g, dvar[t]] for g, t in pairs] + [list(t) for t in rest],
                              identity_rule, lhs=dvar[L]))
        frontier = [list(t) for t in rest]
        for g, t in pairs:
            frontier.append([g, t])
        # 3. collect the terms that now share a differential
        counts: dict = {}
        for _, t in frontier:
            counts[t] = counts.get(t, 0) + 1
        if any(c > 1 for c in counts.values()):
            merged: dict = {}
            for g, t in frontier:
                merged[t] = g if t not in merged else ops.add(merged[t], g)
            frontier = [[simp(g), t] for t, g in merged.items()]
            steps.append(Step([[g, dvar[t]] for g, t in frontier],
                              ["collect terms: A : C + B : C = (A + B) : C"], lhs=dvar[L]))
    G_x = frontier[0][0] if frontier else ops.zeros(*x.shape)
    if x.params[1]:  # symmetric: only the symmetric part of G pairs with a symmetric dX
        G_sym = simp(symmetrize(x, G_x))
        if G_sym is not G_x:
            steps.append(Step([[G_sym, dvar.get(x, differential_of(x.params[0], x.shape))]],
                              ["dX is symmetric: A : dX = ½(A + Aᵀ) : dX"],
                              lhs=dvar[L]))
    shape = "scalar" if x.shape == (1, 1) else (
        f"{x.shape[0]}" if x.shape[1] == 1 else f"{x.shape[0]}×{x.shape[1]}")
    steps.append(Step([[result, dvar.get(x, differential_of(x.params[0], x.shape))]],
                      [f"{shape}, the shape of {unicode_name(x.params[0])}"],
                      kind="gradient", lhs=x))
    used = _used_names(steps, names)
    names = {e: n for e, n in names.items() if e in used or e in by_expr}
    intermediates = [(n, e, note) for n, e, note in intermediates if e in names]
    # a name the steps use without passing through it (h inside u = W₂ h + b₂ − y, when
    # differentiating by W₂) is still defined, before the names that refer to it
    listed = {e for _, e, _ in intermediates}
    missing = [e for e in walk(L) if e in used and e in names and e not in listed]
    intermediates = [(names[e], e, "") for e in missing] + intermediates
    out = Derivation(L, x, result, steps, names, intermediates, loss_name)
    for step in steps:
        step.rule = out._rule_text(step)
    return out


def _segment(S: Expr, relevant: set, stations: set) -> list:
    """The nodes of S's definition down to the stations below it, children first."""
    inside: set = set()
    stack = [S]
    while stack:
        n = stack.pop()
        if n in inside:
            continue
        inside.add(n)
        if n is S or (n in relevant and n not in stations):
            stack.extend(n.children)
    return [n for n in walk(S) if n in inside]


def _weight_within(node: Expr, relevant: set, stations: set) -> int:
    """Work under `node` on the path from x, stopping at stations below it."""
    if node not in relevant:
        return 0
    return _work(node, lambda n: n in stations or n not in relevant)


def _adjoint_terms(D: Expr, G: Expr, simp, owner: dict) -> list:
    """[(Gᵢ, station)] from rules.adjoint, in order of first appearance, simplified;
    a station reached twice keeps its terms apart, for the collecting step to show."""
    from .rules import adjoint
    pairs = adjoint(D, G)
    first: dict = {}
    for d, _ in pairs:
        first.setdefault(d, len(first))
    ordered = sorted(range(len(pairs)), key=lambda i: (first[pairs[i][0]], i))
    return [(simp(pairs[i][1]), owner[pairs[i][0]]) for i in ordered]


def _squared_norm(L: Expr) -> bool:
    """Whether L is c · ‖A‖² in any of its spellings (sum(A²), ‖A‖², AᵀA), up to a
    numeric factor."""
    e = L
    while e.op in ("mul", "div") and any(_is_const_like(c) for c in e.children):
        e = next(c for c in e.children if not _is_const_like(c))
    if e.op == "sum" and e.children[0].op == "pow" and e.children[0].params[0] == 2:
        return True
    if e.op == "pow" and e.params[0] == 2 and e.children[0].op == "norm":
        return True
    if e.op == "matmul" and e.children[0].op == "transpose" and \
            e.children[0].children[0] is e.children[1]:
        return True
    return False


def _used_names(steps: list, names: dict) -> set:
    """Named nodes a reader meets in the steps, and the names those refer to."""
    used: set = set()
    stack = []
    for step in steps:
        for g, d in step.terms:
            stack.extend([g, d])
        for p in step.rule_parts:
            if isinstance(p, Equation):
                stack.extend([p.lhs, p.rhs])
            elif isinstance(p, Definition):
                stack.extend(p.expr.children)
    seen: set = set()
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e in names:
            used.add(e)
        stack.extend(e.children)
    return used
