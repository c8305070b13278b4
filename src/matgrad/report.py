"""Gradients presented: the results with their shared intermediates named.

A GradientReport holds what a person reads: the expression, the intermediates it names
(z = X w + b, ŷ = relu(z), g = ∂L/∂z), and each gradient with its shape, optionally
with the numeric check. Printers format it; the CLI, the web page and notebooks use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .dims import describe_shape, fmt_shape
from .differentiate import named_gradients
from .expr import Expr, walk


ALIGN_WIDTH = 100  # right sides up to this wide get their shapes in one column


@dataclass
class Intermediate:
    name: str
    expr: Expr
    note: str = ""  # e.g. "∂L/∂z" for a back-propagated quantity


@dataclass
class GradientReport:
    loss: Expr
    loss_name: str
    wrt: list
    gradients: list
    intermediates: list = field(default_factory=list)
    names: dict = field(default_factory=dict)  # Expr -> name, for the printers
    check: object = None  # a verify.GradientCheck once checked

    def gradient(self, x) -> Expr:
        """The gradient with respect to a variable or its name."""
        name = x if isinstance(x, str) else x.params[0]
        for v, g in zip(self.wrt, self.gradients):
            if v.params[0] == name:
                return g
        raise KeyError(name)

    def run_check(self, **kw):
        from .verify import check_gradients
        self.check = check_gradients(self.loss, self.wrt, self.gradients, **kw)
        return self.check

    # ---- text ---------------------------------------------------------------------
    def lines(self, *, unicode: bool = True) -> list[tuple[str, str, str]]:
        """(left side, right side, shape) rows: the loss, intermediates, gradients."""
        from .printing.text import to_text
        rows = [(self.loss_name, to_text(self.loss, self.names, unicode=unicode),
                 shape_label(self.loss, unicode))]
        for item in self.intermediates:
            note = item.note if unicode else _ascii_note(item.note)
            rows.append((item.name if not unicode else _pretty(item.name),
                         to_text(item.expr, self.names, unicode=unicode),
                         shape_label(item.expr, unicode) + (f", {note}" if note else "")))
        for x, g in zip(self.wrt, self.gradients):
            left = (f"∂{_pretty(self.loss_name)}/∂{_pretty(x.params[0])}" if unicode
                    else f"d{self.loss_name}_d{x.params[0]}")
            rows.append((left, to_text(g, self.names, unicode=unicode),
                         shape_label(g, unicode)))
        return rows

    def to_text(self, *, unicode: bool = True) -> str:
        rows = self.lines(unicode=unicode)
        width = max(display_width(a) for a, _, _ in rows)
        # the shapes line up after the right sides up to ALIGN_WIDTH wide; a longer one
        # is followed by its shape directly (padding every row to the longest would make
        # the text grow with the square of a deep result's size)
        body = max([display_width(b) for _, b, _ in rows
                    if display_width(b) <= ALIGN_WIDTH] + [0])
        out = []
        n_inter = len(self.intermediates)
        for i, (a, b, shape) in enumerate(rows):
            if i == 1 and n_inter:
                out.append("where")
            if i == 1 + n_inter:
                out.append("gradients")
            pad_a = " " * (width - display_width(a))
            pad_b = " " * max(0, body - display_width(b))
            out.append(f"  {pad_a}{a} = {b}{pad_b}   ({shape})")
        if self.check is not None:
            out.append(str(self.check))
        return "\n".join(out)

    def to_latex(self) -> str:
        from .printing.latex import latex_name, to_latex
        rows = [rf"{latex_name(self.loss_name)} &= {to_latex(self.loss, self.names)}"]
        for item in self.intermediates:
            rows.append(rf"{latex_name(item.name)} &= {to_latex(item.expr, self.names)}")
        for x, g in zip(self.wrt, self.gradients):
            rows.append(rf"\frac{{\partial {latex_name(self.loss_name)}}}"
                        rf"{{\partial {latex_name(x.params[0])}}} &= "
                        rf"{to_latex(g, self.names)}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def __str__(self) -> str:
        return self.to_text()

    # ---- notebook display: Jupyter renders these instead of the text --------------
    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"

    def _repr_html_(self) -> str:
        from .display import report_html
        return report_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.to_text())

    def _repr_markdown_(self) -> str:
        """The LaTeX as displayed mathematics, then the numeric check when there is one.

        >>> import matgrad as mg
        >>> print(report(mg.sum(mg.vector("x", 3) ** 2))._repr_markdown_())
        $$\\begin{aligned}
        L &= \\operatorname{sum}\\left({x}^{\\circ 2}\\right) \\\\
        \\frac{\\partial L}{\\partial x} &= 2 \\, x
        \\end{aligned}$$
        """
        out = f"$${self.to_latex()}$$"
        if self.check is not None:
            out += f"\n\n{self.check}"
        return out


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (combining accents take none)."""
    import unicodedata
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pretty(name: str) -> str:
    from .printing.symbols import unicode_name
    return unicode_name(name)


def shape_label(e: Expr, unicode: bool = True) -> str:
    """scalar, n (a vector), or m×n (m,n in ASCII, as in a declaration)."""
    if e.shape == (1, 1):
        return "scalar"
    if e.shape[1] == 1:
        return str(e.shape[0])
    return fmt_shape(e.shape) if unicode else fmt_shape(e.shape).replace("×", ",")


def _ascii_note(note: str) -> str:
    return note.replace("∂", "d") if note else note


def report(L: Expr, wrt=None, *, definitions: dict | None = None,
           loss_name: str = "L") -> GradientReport:
    """Gradients of L with named intermediates.

    `definitions` maps names to intermediate expressions of L (from assignments in the
    input); shared subexpressions without a name get one (z, u, ... forward; g, h, ...
    back-propagated).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> print(mg.report(mg.sum(mg.relu(X @ w)), [w]))
          L = sum(relu(X w))   (scalar)
    gradients
      ∂L/∂w = Xᵀ H(X w)        (n)
    """
    named = named_gradients(L, wrt, definitions=definitions, loss_name=loss_name)
    xs, grads, names, cots = named.wrt, named.gradients, named.names, named.cotangents
    forward = set(walk(L))
    # Name back-propagated quantities after the forward node they are the gradient of.
    forward_of = {}
    for node, g in cots.items():
        if node in names:
            forward_of.setdefault(g, node)
    intermediates = []
    for e, n in names.items():
        note = ""
        if e not in forward and e in forward_of and forward_of[e] in names:
            note = f"∂{_pretty(loss_name)}/∂{_pretty(names[forward_of[e]])}"
        intermediates.append(Intermediate(n, e, note))
    return GradientReport(L, loss_name, xs, grads, intermediates, names)


__all__ = ["GradientReport", "Intermediate", "report", "shape_label", "describe_shape"]
