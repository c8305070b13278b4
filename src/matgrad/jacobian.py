"""Jacobians, Hessians and higher derivatives: in matrix notation where it exists, in
index notation (with a Kronecker/vec form where one exists) where it does not.

The method is the differential, run forward: the rules of `rules.differential` give
dF = D(dX), linear in the placeholder dX. Read in index notation, D is the tensor
T_ij,kl = ∂F_ij/∂X_kl (`tensor.linear_to_tensor`); with at most two axes it is translated
back into a matrix (`tensor.to_matrix`), e.g. d softmax(v) = p ⊙ dv − p pᵀ dv gives
p_i δ_ik − p_i p_k, which is diag(p) − p pᵀ. A Hessian is the Jacobian of the gradient;
higher derivatives differentiate the tensor factor by factor (the product rule). Where
the gradient is an elementwise function of a vector x, its differential is v ⊙ dx and the
Hessian is diag(v), one term v_i δ_ij made in time linear in the expression's size.

Layouts. The tensor's axes are F's axes, then X's (axes of size 1 have no index). For a
matrix result, numerator layout puts F's axes along the rows and X's along the columns
(∂F/∂x is m×n for F of length m and x of length n; ∂L/∂x is a 1×n row; ∂L/∂X for a matrix
X is the transpose of the gradient); denominator layout is the transpose. A symmetric
variable is differentiated entry by entry here, as if its entries were independent.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import ops
from .differentiate import cotangents, resolve
from .dims import fmt_shape, fmt_size
from .errors import DomainError, MatgradError
from .expr import Expr, make, walk
from .rules import differential
from .simplify import Simplifier
from .tensor import (Delta, Factor, Tensor, Term, collect, index_text, linear_to_tensor,
                     tensor_value, to_matrix, vec_form)
from .tensor.from_matrix import axes
from .tensor.terms import check_size, sum_over

LAYOUTS = ("numerator", "denominator")


def _as_expr(F) -> Expr:
    if isinstance(F, Derivative):
        if F.expr is None:
            raise DomainError("this derivative has no matrix form; differentiate it with "
                              "matgrad.jacobian, which works on its index form")
        return F.expr
    return ops.to_expr(F)


def forward_differential(F: Expr, x: Expr):
    """(dF, dx): dF as an expression linear in the placeholder dx, or None where F does
    not depend on x."""
    dx = make("dvar", (), (x.params[0],), x.shape)
    d: dict = {x: dx}
    for node in walk(F):
        if node is x or not node.children:
            continue
        ds = [d.get(c) for c in node.children]
        if all(v is None for v in ds):
            continue
        out = differential(node, ds)
        if out is not None:
            d[node] = out
    return d.get(F), dx


def derivative_tensor(F: Expr, x: Expr, simplifier=None):
    """(T, (i, j), (k, l)): T_ijkl = ∂F_ij/∂x_kl in index notation, with its free
    indices for F's axes and x's (None for an axis of size 1)."""
    s = simplifier or Simplifier()
    out, inp = axes(F.shape), axes(x.shape)
    D, dx = forward_differential(F, x)
    terms = [] if D is None else linear_to_tensor(D, out, {dx: inp}, s)
    free = tuple(i for i in out + inp if i is not None)
    return collect(free, terms), out, inp


def _diagonal(D: Expr, dx: Expr) -> Expr | None:
    """v with D = v ⊙ dx, where D is made from dx by elementwise steps alone: sums and
    negations of such parts, and their products with, or quotients by, factors free of
    dx, every part of dx's shape; else None. v is D with dx replaced by ones."""
    out: dict = {dx: ops.ones(*dx.shape)}
    for node in walk(D):
        if node is dx or not any(c in out for c in node.children):
            continue
        inside = [c in out for c in node.children]
        if node.shape != dx.shape or any(c.shape != dx.shape for c in node.children):
            return None
        if node.op in ("add", "neg"):
            ok = all(inside)
        elif node.op == "mul":
            ok = sum(inside) == 1
        else:
            ok = node.op == "div" and inside == [True, False]
        if not ok:
            return None
        out[node] = make(node.op, tuple(out.get(c, c) for c in node.children), node.params,
                         node.shape)
    return out.get(D)


def _diagonal_tensor(G: Expr, x: Expr):
    """(T, out, inp, simplifier) for ∂G/∂x = diag(v), where G's differential is an
    elementwise multiple of dx (G a vector function of a vector x entry by entry, as the
    gradient of sum(f(x)) is); else None. T is v_i δ_ij, one term however long v is, and
    v is simplified with its shared products kept whole (`Simplifier(keep_shared=True)`):
    flattened, the derivative of a deep elementwise chain is a sum of d products of d
    factors, its size the square of the chain's."""
    if x.shape[1] != 1 or G.shape != x.shape or axes(x.shape)[0] is None:  # a vector
        return None
    D, dx = forward_differential(G, x)
    v = None if D is None else _diagonal(D, dx)
    if v is None:
        return None
    s = Simplifier(keep_shared=True)
    out, inp = axes(G.shape), axes(x.shape)
    v = s(v)
    c, rest = s.split_coefficient(v)  # −2 (…)ᵢ δᵢⱼ: the number is the term's
    c, v = (Fraction(1), v) if rest is None else (c, rest)
    term = Term(c, (Factor(v, out[0], None), Delta(out[0], inp[0])))
    return collect((out[0], inp[0]), [term]), out, inp, s


def differentiate_tensor(t: Tensor, x: Expr, simplifier=None):
    """(∂t/∂x, (k, l)): each factor that depends on x replaced by its derivative (the
    product rule), with new free indices (k, l) for x's axes appended."""
    s = simplifier or Simplifier()
    k, l = axes(x.shape)
    new_free = tuple(i for i in (k, l) if i is not None)
    terms: list = []
    for term in t.terms:
        for pos, f in enumerate(term.factors):
            if not isinstance(f, Factor) or x not in walk(f.expr):
                continue
            df, out, inp = derivative_tensor(f.expr, x, s)
            sub = {a: b for a, b in zip(out + inp, (f.rows, f.cols, k, l)) if a is not None}
            df = df.fresh_dummies().renamed(sub)
            rest = term.factors[:pos] + term.factors[pos + 1:]
            new = [type(term)(term.coef * u.coef, rest + u.factors) for u in df.terms]
            # f's summed indices stay summed; where a term of df does not mention one
            # (df constant along it) that sum becomes the index's size
            terms += sum_over(new, [i for i in f.indices if i not in t.free])
            check_size(terms)
    return collect(t.free + new_free, terms), (k, l)


@dataclass
class Derivative:
    """A Jacobian, Hessian or higher derivative.

    `tensor` is the index-notation form (always there), `expr` the matrix form (None
    where the result has more than two axes or no matrix form), `vec` the Kronecker form
    d vec(F) = K d vec(X) (where F or X is a matrix and one exists). `layout` says how a
    matrix form is laid out. `matgrad.evaluate(J, values)` gives the full array.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> J = mg.jacobian(X @ w, X)
    >>> J.shape, J.expr is None
    ((m, m, n), True)
    >>> print(J.index_notation())
    ∂(X w)ᵢ/∂Xⱼₖ = δᵢⱼ wₖ
    >>> print(J.vec_text())
    d vec(X w) = (wᵀ ⊗ Iₘ) d vec(X)
    """

    kind: str  # "jacobian", "hessian" or "derivative"
    of: Expr  # the function differentiated (for a Hessian, the scalar)
    wrt: Expr
    order: int
    layout: str
    tensor: Tensor  # free indices in the order of the result's axes
    expr: Expr | None
    vec: object = None
    lower: object = None  # the next-lower derivative (Expr or Tensor), canonical axes
    canonical: Tensor | None = None  # axes: the lower derivative's, then wrt's
    name: str | None = None
    wrts: tuple = ()  # the variables, in the order of differentiation

    def __post_init__(self):
        if not self.wrts:
            self.wrts = (self.wrt,) * self.order

    # ---- shape and value -----------------------------------------------------------
    @property
    def axes(self) -> tuple:
        """The sizes of the tensor's axes (axes of size 1 dropped)."""
        return self.tensor.shape

    @property
    def shape(self) -> tuple:
        """The matrix shape where there is a matrix form, else the tensor's axes."""
        return self.expr.shape if self.expr is not None else self.tensor.shape

    def evaluate(self, values: dict, sizes: dict | None = None):
        """The full value: as `matgrad.evaluate` gives for the matrix form, else the
        array with one axis per index of the tensor."""
        from .numeric import bind, evaluate_2d, to_user
        exprs = [self.of, self.wrt] + _factor_exprs(self.tensor)
        arrays, bound = bind(exprs, values, sizes)
        if self.expr is not None:
            return to_user(self.expr, evaluate_2d(self.expr, arrays, bound))
        return tensor_value(self.tensor, arrays, bound)

    __matgrad_evaluate__ = evaluate

    def __matgrad_expr__(self) -> Expr:
        return _as_expr(self)

    # ---- text ----------------------------------------------------------------------
    def label(self, unicode: bool = True) -> str:
        """∂F/∂x, ∂²L/∂x², ... (the left-hand side)."""
        f = self._of_name(unicode)
        x = self.wrt.to_text(unicode=unicode)
        d = "∂" if unicode else "d"
        if self.order == 1:
            return f"{d}{f}/{d}{x}"
        sup = {2: "²", 3: "³", 4: "⁴"}.get(self.order, f"^{self.order}") if unicode \
            else f"^{self.order}"
        if any(v is not self.wrt for v in self.wrts):  # mixed: ∂²F/∂X∂w
            return f"{d}{sup}{f}/" + "".join(f"{d}{v.to_text(unicode=unicode)}"
                                             for v in self.wrts)
        return f"{d}{sup}{f}/{d}{x}{sup}"

    def _of_name(self, unicode: bool) -> str:
        """The name of the function: its own name, a short text, or F (L for a scalar),
        defined on a line of its own by `describe`."""
        if self.name:
            return self.name
        text = self._of_text(unicode)
        if self.of.op in ("var", "dvar") or len(text) <= 14:
            return text
        return "L" if self.of.shape == (1, 1) else "F"

    def _of_text(self, unicode: bool) -> str:
        text = self.of.to_text(unicode=unicode)
        return text if self.of.op == "var" else f"({text})"

    def index_notation(self, *, unicode: bool = True, latex: bool = False) -> str:
        """The derivative in index notation, e.g. ∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ."""
        from .tensor.printing import letters
        t = self.tensor
        names = letters(t)
        lhs = self._index_lhs(names, unicode, latex)
        return f"{lhs} = {index_text(t, unicode=unicode, latex=latex)}"

    def _index_lhs(self, names, unicode, latex) -> str:
        from .tensor.printing import index_subscript
        t = self.tensor
        pers = [len(_axes_of(v)) for v in self.wrts]
        nf = len(t.free) - sum(pers)
        canon_free = list(t.free)
        if self.layout == "denominator":  # the display order puts x's axes first
            nx = len(t.free) - nf
            canon_free = canon_free[nx:] + canon_free[:nx]
        f_idx = [names[i] for i in canon_free[:nf]]
        x_idx = [names[i] for i in canon_free[nf:]]
        starts = [sum(pers[:n]) for n in range(len(pers))]
        groups = [x_idx[a:a + p] for a, p in zip(starts, pers)]
        if latex:
            from .printing.symbols import latex_name
            from .tensor.printing import latex_indexed
            f = self.of.to_latex() if self.of.op == "var" else \
                r"\left(" + self.of.to_latex() + r"\right)"
            if self.name:
                f = latex_name(self.name)
            num = r"\partial" + (f"^{{{self.order}}}" if self.order > 1 else "") + " " + \
                latex_indexed(f, f_idx)
            den = " ".join(r"\partial " + latex_indexed(v.to_latex(), g)
                           for v, g in zip(self.wrts, groups))
            return r"\frac{" + num + "}{" + den + "}"
        d = "∂" if unicode else "d"
        sup = {2: "²", 3: "³", 4: "⁴"}.get(self.order, f"^{self.order}") \
            if unicode else (f"^{self.order}" if self.order > 1 else "")
        sup = sup if self.order > 1 else ""
        num = f"{d}{sup}{self._of_name(unicode)}{index_subscript(f_idx, unicode)}"
        den = "".join(f"{d}{v.to_text(unicode=unicode)}{index_subscript(g, unicode)}"
                      for v, g in zip(self.wrts, groups))
        return f"{num}/{den}"

    def shape_text(self) -> str:
        return "×".join(fmt_size(s) for s in self.shape) if self.shape else "scalar"

    def to_text(self, *, unicode: bool = True) -> str:
        """The result: the matrix form, or the index notation (and the vec form)."""
        if self.expr is not None:
            return self.expr.to_text(unicode=unicode)
        return index_text(self.tensor, unicode=unicode)

    def to_latex(self) -> str:
        if self.expr is not None:
            return self.expr.to_latex()
        return index_text(self.tensor, latex=True)

    def describe(self, *, unicode: bool = True) -> str:
        """Several lines: the label with shape and layout, the matrix form, the index
        notation, and the Kronecker form where there is one."""
        lines = []
        axes_text = "×".join(fmt_size(s) for s in self.axes) or "scalar"
        if self.expr is not None:
            what = f"{self.shape_text()} matrix" if self.shape != (1, 1) else "scalar"
            note = "symmetric" if self.kind == "hessian" and len(self.axes) == 2 \
                else f"{self.layout} layout"
            lines.append(f"{self.label(unicode)}  ({what}, {note})")
            lines.append(f"  = {self.expr.to_text(unicode=unicode)}")
        else:
            lines.append(f"{self.label(unicode)}  (tensor of order {len(self.axes)}, shape "
                         f"{axes_text}, axes in {self.layout} layout)")
        lines.append("  in index notation: " + self.index_notation(unicode=unicode))
        if self.vec is not None:
            lines.append("  in vec form: " + self.vec_text(unicode=unicode))
        if self._of_name(unicode) != self._of_text(unicode):
            lines.append(f"where {self._of_name(unicode)} = {self.of.to_text(unicode=unicode)}")
        return "\n".join(lines)

    def vec_text(self, *, unicode: bool = True) -> str | None:
        """The Kronecker form as an equation, or None where there is none."""
        if self.vec is None:
            return None
        x = self.wrt.to_text(unicode=unicode)
        K = self.vec.to_text_grouped(unicode=unicode)
        if self.kind == "hessian":
            d = "∂" if unicode else "d"
            two = "²" if unicode else "^2"
            return f"{d}{two}{self._of_name(unicode)}/{d}vec({x}){two} = {K}"
        f = self._of_name(unicode)
        if self.of.op == "vec" and f == self._of_text(unicode):  # vec(vec(F)) = vec(F)
            f = self.of.children[0].to_text(unicode=unicode)
        f = f[1:-1] if f.startswith("(") and f.endswith(")") else f
        return f"d vec({f}) = {K} d vec({x})"

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"{self.to_text()}  [{self.label()}, {self._shape_note()}]"

    def _shape_note(self) -> str:
        if self.expr is not None:
            note = "symmetric" if self.kind == "hessian" and len(self.axes) == 2 \
                else f"{self.layout} layout"
            return f"{self.shape_text()}, {note}"
        return f"order-{len(self.axes)} tensor {'×'.join(map(fmt_size, self.axes))}"

    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"

    def _repr_html_(self) -> str:
        from .display import derivative_html
        return derivative_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.describe())

    # ---- the chain rule ------------------------------------------------------------
    def contract(self, G) -> Expr:
        """The chain rule: Σ_ij G_ij ∂F_ij/∂X_kl for a cotangent G with F's shape, as a
        matrix with X's shape (the gradient of G : F with respect to X)."""
        if self.order != 1:
            raise MatgradError("contract applies to a first derivative (a Jacobian)")
        G = ops.to_expr(G)
        if G.shape != self.of.shape:
            raise MatgradError(f"the cotangent must have the shape of {self._of_name(True)}")
        t, out, inp = self._canonical_indices()
        gfac = Factor(G, out[0], out[1])
        terms = [type(u)(u.coef, (gfac,) + u.factors) for u in t.terms]
        free = tuple(i for i in inp if i is not None)
        c = collect(free, terms)
        s = Simplifier()
        M = to_matrix(c, inp[0], inp[1], s)
        if M is None:  # pragma: no cover - a contraction with a full cotangent has one
            raise MatgradError("the contraction has no matrix form")
        return M

    def _canonical_indices(self):
        t = self.canonical
        nf = len(_axes_of(self.of))
        free = list(t.free)
        fi, xi = free[:nf], free[nf:]
        out = _place(self.of.shape, fi)
        inp = _place(self.wrt.shape, xi)
        return t, out, inp

    def explain(self, *, unicode: bool = True) -> str:
        """What a tensor-valued Jacobian is, and how the chain rule contracts it with a
        gradient to give a matrix.

        >>> import matgrad as mg
        >>> m, n = mg.dims("m n")
        >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
        >>> print(mg.jacobian(X @ w, X, name="z").explain())  # doctest: +ELLIPSIS
        ∂z/∂X is a third-order tensor of shape m×m×n (z is m×1, X is m×n):
          ∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ
        ...
        """
        from .tensor.printing import index_subscript, letters
        if self.order != 1:
            return self.describe(unicode=unicode)
        t, out, inp = self._canonical_indices()
        names = letters(t)
        order_words = {0: "scalar", 1: "vector", 2: "matrix", 3: "third-order tensor",
                       4: "fourth-order tensor"}
        n_ax = len(t.free)
        what = order_words.get(n_ax, f"tensor of order {n_ax}")
        fname = self._of_name(unicode)
        xname = self.wrt.to_text(unicode=unicode)
        shp = lambda e: "×".join(fmt_size(s) for s in e.shape)  # noqa: E731
        head = f"∂{fname}/∂{xname}" if unicode else f"d{fname}/d{xname}"
        lines = [f"{head} is a {what} of shape {'×'.join(map(fmt_size, t.shape)) or '1'} "
                 f"({fname} is {shp(self.of)}, {xname} is {shp(self.wrt)}):"]
        canon = Derivative("jacobian", self.of, self.wrt, 1, "numerator", t, None,
                           name=self.name)
        lines.append("  " + canon.index_notation(unicode=unicode))
        if n_ax <= 2:
            return "\n".join(lines)
        lines.append("It is not a matrix, so the chain rule cannot be written as a product "
                     "of matrices here.")
        used = {v.params[0] for v in walk(self.of) if v.op == "var"}
        gname = next(c for c in ("g", "h", "G", "H", "g1", "g2") if c not in used)
        G = ops.var(gname, *self.of.shape)
        f_idx = [names[i] for i in out if i is not None]
        x_idx = [names[i] for i in inp if i is not None]
        sub = lambda xs: index_subscript(xs, unicode)  # noqa: E731
        gfac = Factor(G, out[0], out[1])
        raw = Tensor(tuple(i for i in inp if i is not None),
                     tuple(type(u)(u.coef, (gfac,) + u.factors) for u in t.terms))
        summed = index_text(raw, unicode=unicode, fixed=names)
        M = self.contract(G)
        done = collect(raw.free, list(raw.terms))
        lines.append(f"The chain rule contracts it with the gradient {gname} = ∂L/∂{fname} "
                     f"({shp(G)}) over the indices of {fname}:")
        lines.append(f"  (∂L/∂{xname}){sub(x_idx)} = Σ{sub(f_idx)} {gname}{sub(f_idx)} "
                     f"∂{fname}{sub(f_idx)}/∂{xname}{sub(x_idx)} = {summed} = "
                     f"{index_text(done, unicode=unicode, fixed=names)}")
        lines.append(f"  that is, ∂L/∂{xname} = {M.to_text(unicode=unicode)}  "
                     f"({shp(M)}, the shape of {xname})")
        if self.vec is not None:
            lines.append(f"In vec form: {self.vec_text(unicode=unicode)}.")
        if fname != self._of_text(unicode):
            lines.append(f"(where {fname} = {self.of.to_text(unicode=unicode)})")
        return "\n".join(lines)

    # ---- numeric check -------------------------------------------------------------
    def verify(self, *, points: int = 2, h: float = 1e-6, seed: int = 0,
               sizes: dict | None = None) -> float:
        """Largest relative error between this derivative and central finite
        differences of the next-lower derivative, along random directions."""
        from .verify import central_difference, direction, relative_error, sample
        rng = np.random.default_rng(seed)
        lower_exprs = [self.lower] if isinstance(self.lower, Expr) else \
            _factor_exprs(self.lower)
        worst = 0.0
        for _ in range(points):
            values, sz = sample([self.of, self.wrt] + lower_exprs + _factor_exprs(
                self.canonical), rng, sizes)
            from .numeric import bind
            arrays, bound = bind([self.of, self.wrt] + lower_exprs, values, sz)
            full = tensor_value(self.canonical, arrays, bound)
            name = self.wrt.params[0]
            V = direction(arrays[name].shape, rng, False)
            fd = central_difference(lambda k: self._lower_value(
                {**arrays, name: arrays[name] + k * h * V}, bound), h)
            v = _squeeze(V, self.wrt.shape)
            nx = v.ndim
            got = np.tensordot(full, v, axes=(list(range(full.ndim - nx, full.ndim)),
                                              list(range(nx))))
            scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(got))), 1e-6) \
                if fd.size else 1.0
            err = float(np.max(np.abs(fd - got))) / scale if fd.size else 0.0
            worst = max(worst, err if np.isfinite(err) else float("inf"))
            _ = relative_error  # the scalar form of the same measure
        return worst

    def _lower_value(self, arrays, sizes) -> np.ndarray:
        from .numeric import evaluate_2d
        if isinstance(self.lower, Expr):
            a = evaluate_2d(self.lower, arrays, sizes)
            return _squeeze(a, self.lower.shape)
        return tensor_value(self.lower, arrays, sizes)


def _squeeze(a: np.ndarray, shape) -> np.ndarray:
    keep = [n for n, s in enumerate(shape) if s != 1]
    return np.asarray(a).reshape([a.shape[n] for n in keep])


def _axes_of(e: Expr) -> list:
    return [s for s in e.shape if s != 1]


def _place(shape, idx: list) -> tuple:
    it = iter(idx)
    return tuple(None if s == 1 else next(it) for s in shape)


def _factor_exprs(t) -> list:
    if t is None or isinstance(t, Expr):
        return [] if t is None else [t]
    return [f.expr for term in t.terms for f in term.factors if isinstance(f, Factor)]


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise MatgradError(f"layout must be 'numerator' or 'denominator', not {layout!r}")


def _matrix_axes(out: tuple, inp: tuple, layout: str):
    """(rows, cols) of the matrix form, or None where the result has more than two
    axes (see the module doc for the layouts)."""
    fo = [i for i in out if i is not None]
    xi = [i for i in inp if i is not None]
    if len(fo) + len(xi) > 2:
        return None
    if len(xi) == 2:  # a scalar by a matrix: numerator is the transposed gradient
        rows, cols = (xi[1], xi[0]) if layout == "numerator" else (xi[0], xi[1])
    elif len(fo) == 2:
        rows, cols = (fo[0], fo[1]) if layout == "numerator" else (fo[1], fo[0])
    else:
        f = fo[0] if fo else None
        x = xi[0] if xi else None
        rows, cols = (f, x) if layout == "numerator" else (x, f)
    return rows, cols


def _build(kind, F, x, order, layout, t, out, inp, lower, s, name, want_vec=True):
    """A Derivative from its canonical tensor (axes: out, then inp)."""
    free_out = tuple(i for i in out if i is not None)
    free_in = tuple(i for i in inp if i is not None)
    display = Tensor(free_out + free_in if layout == "numerator" else free_in + free_out,
                     t.terms)
    expr = None
    rc = _matrix_axes(out, inp, layout)
    if rc is not None:
        expr = to_matrix(t, rc[0], rc[1], s)
    vec = None
    if want_vec and len(free_out) + len(free_in) > 2 and len(out) == 2 and len(inp) == 2:
        vec = vec_form(t, out, inp, x.shape, s)
    elif want_vec and len(free_out) == len(free_in) == 1 and out[1] is None and \
            inp[1] is None and expr is not None:
        # vectors over m·n that vec and unvec read as pairs of indices: the Kronecker
        # form is the matrix itself (∂ vec(A unvec(v) B)/∂v = Bᵀ ⊗ A), where it exists
        paired = vec_form(t, out, inp, x.shape, s)
        K = paired.to_expr() if paired is not None and paired.paired else None
        if K is not None and K.shape == expr.shape[::-1 if layout != "numerator" else 1]:
            expr = K if layout == "numerator" else ops.transpose(K)
    return Derivative(kind, F, x, order, layout, display, expr, vec, lower, t, name)


def jacobian(F, x, *, layout: str = "numerator", name: str | None = None) -> Derivative:
    """∂F/∂x: for vectors F (m) and x (n) the m×n matrix (numerator layout; denominator
    layout gives the n×m transpose); with more than two axes a tensor in index notation.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A, x = mg.matrix("A", m, n), mg.vector("x", n)
    >>> J = mg.jacobian(mg.tanh(A @ x), x)
    >>> J.layout, J.shape
    ('numerator', (m, n))
    >>> mg.jacobian(mg.softmax(x), x).expr
    diag(softmax(x)) − softmax(x) softmax(x)ᵀ
    >>> mg.jacobian(A @ x, x, layout="denominator").expr
    Aᵀ
    """
    _check_layout(layout)
    s = Simplifier()
    if isinstance(F, Derivative) and F.expr is None:
        return _differentiate_derivative(F, x, s, layout, name)
    F = _as_expr(F)
    x = _variable(F, x)
    t, out, inp = derivative_tensor(F, x, s)
    return _build("jacobian", F, x, 1, layout, t, out, inp, F, s, name)


def _variable(F: Expr, x) -> Expr:
    if isinstance(x, Expr):
        if x.op != "var":
            raise DomainError(f"can only differentiate with respect to a variable, not {x}")
        return x
    return resolve(F, x)


def _gradient(L: Expr, x: Expr, s) -> Expr:
    """∂L/∂x as a matrix expression (entries independent, even for a symmetric x)."""
    cot = cotangents(L, [x])
    return s(cot.get(x, ops.zeros(*x.shape)))


def hessian(L, x, *, name: str | None = None) -> Derivative:
    """∂²L/∂x² for a scalar L: for a vector x the symmetric n×n matrix in matrix
    notation; for a matrix X the fourth-order tensor ∂²L/∂X_ij∂X_kl (with its vec form,
    the Hessian of vec X).

    >>> import matgrad as mg
    >>> n = mg.dims("n")[0]
    >>> A, x = mg.matrix("A", n, n), mg.vector("x", n)
    >>> mg.hessian(x.T @ A @ x, x).expr
    A + Aᵀ
    """
    s = Simplifier()
    L = _as_expr(L)
    if L.shape != (1, 1):
        raise DomainError(f"the Hessian needs a scalar expression, but this one is "
                          f"{fmt_shape(L.shape)}; use jacobian twice for a vector")
    x = _variable(L, x)
    G = _gradient(L, x, s)
    diagonal = _diagonal_tensor(G, x)
    if diagonal is not None:
        t, out, inp, s = diagonal
    else:
        t, out, inp = derivative_tensor(G, x, s)
    return _build("hessian", L, x, 2, "numerator", t, out, inp, G, s, name)


def derivative(F, x, order: int = 1, *, name: str | None = None) -> Derivative:
    """The order-th derivative of F with respect to x, as a tensor with F's axes then
    x's axes `order` times (∂³L/∂xᵢ∂xⱼ∂xₖ for a scalar L and vector x); order 1 is the
    Jacobian and order 2 of a scalar the Hessian.

    >>> import matgrad as mg
    >>> n = mg.dims("n")[0]
    >>> x = mg.vector("x", n)
    >>> print(mg.derivative(mg.sum(x ** 3), x, 3).index_notation())
    ∂³(sum(x³))/∂xᵢ∂xⱼ∂xₖ = 6 δᵢⱼ δᵢₖ
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise MatgradError(f"the order of a derivative must be a positive integer, not "
                           f"{order!r}")
    F = _as_expr(F)
    x = _variable(F, x)
    if order == 1:
        return jacobian(F, x, name=name)
    s = Simplifier()
    if F.shape == (1, 1):
        cur = hessian(F, x, name=name)
        cur.kind = "derivative"
        done = 2
    else:
        cur, done = jacobian(F, x, name=name), 1
    for _ in range(order - done):
        cur = _differentiate_derivative(cur, x, s, "numerator", name)
    return cur


def _differentiate_derivative(d: Derivative, x, s, layout, name) -> Derivative:
    """One more derivative of a Derivative, through its index form."""
    x = _variable(d.of, x)
    t, (k, l) = differentiate_tensor(d.canonical, x, s)
    order = d.order + 1
    free = t.free
    nx = len([i for i in (k, l) if i is not None])
    display = Tensor(free if layout == "numerator" else free[-nx:] + free[:-nx], t.terms)
    return Derivative("derivative", d.of, x, order, layout, display, None, None,
                      d.canonical, t, name or d.name, d.wrts + (x,))
