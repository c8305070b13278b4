"""Random expressions over the whole language, as an Expr and as the equivalent text.

One generator serves two drivers: hypothesis (`expressions()`, for the property tests,
with shrinking) and a plain `random.Random` (`random_case`, for the long fuzz run). It
builds each node twice, through the `matgrad.ops` constructors and as fully
parenthesised text in the input language, so `parse(text)` must give an expression of
the same value.

Shapes come from three named dimensions of distinct sizes (m = 3, n = 4, k = 5) and 1,
so scalars, columns, rows and non-square matrices all occur, and a misplaced transpose
changes a shape or a value. Domains hold by construction, at every random point:

* `log`, `sqrt`, negative and fractional powers and divisors get *positive* arguments
  (a lower bound away from zero is tracked: x² + c, exp(b), softplus(x) + c, ...);
* `inv`, `det` and `logdet` get matrices with a positive determinant and a bounded
  inverse (square variables, which the sampler keeps near 2I, A Aᵀ + I, diag(p), and
  products, transposes and inverses of these);
* a square variable is now and then structured (symmetric, spd, lower, upper,
  diagonal), and the sampler draws it in its structure: near 2I still;
* magnitudes stay bounded (a rough bound is tracked per node and an oversized
  subexpression is divided by a power of ten), so finite differences stay accurate.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

import matgrad as mg
from matgrad import ops
from matgrad.elementwise import table

M, N, K = mg.dims("m n k")
DIMS = (M, N, K)
SIZES = {M: 3, N: 4, K: 5}
AXES = (1, M, N, K)  # the sizes an axis can have
DIM_TEXT = {1: "1", M: "m", N: "n", K: "k"}

MAX_DEPTH = 7
LIMIT = 10.0  # subexpressions are scaled down to about this magnitude

# every elementwise function of the language, by the domain it needs
# every elementwise function of the table, by the domain its row states (exp has its own
# builder, which bounds its argument)
REAL_FUNCTIONS = tuple(n for n, r in table().items() if r.domain == "real" and n != "exp")
POSITIVE_FUNCTIONS = tuple(n for n, r in table().items() if r.domain == "positive")
UNIT_FUNCTIONS = tuple(n for n, r in table().items() if r.domain == "unit")
# the structures a square variable may be declared with, and their variables' letters
STRUCTURES = ("symmetric", "spd", "lower", "upper", "diagonal")
STRUCTURE_LETTER = {"symmetric": "S", "spd": "P", "lower": "L", "upper": "U",
                    "diagonal": "D"}
GRID = 41  # points at which a function's magnitude over an argument's range is estimated
# the declared operations (matgrad.registry) that the generator below draws, each with a
# builder of its own that keeps its arguments in its domain and bounds its value;
# tests/test_registry.py fails, naming it, for an operation missing here
DRAWN_OPERATIONS = frozenset({
    "trace",
    "det",
    "logdet",
    "inv",
    "diagmat",
    "diagvec",
    "norm",
    "logsumexp",
    "softmax",
    "tril",
    "triu",
    "log_softmax",
    "max",
    "min",
    "maximum",
    "minimum",
    "clip",
    "ismax",
    "ismin",
    "solve",
    "matrix_power",
    "adj",
    "tril_half",
    "cholesky",
    "eigvalsh",
    "eigvecsh",
    "svdvals",
    "norm_1",
    "norm_inf",
    "norm_1_matrix",
    "norm_inf_matrix",
    "norm_nuc",
    "norm_spectral",
    "kron",
    "vec",
    "unvec",
    "expm",
    "expm_block",
    "logm",
    "logm_block",
    "sqrtm",
    "sqrtm_block",
})


@dataclass(frozen=True)
class Term:
    """A generated subexpression: the node, its text, a rough bound on |value| and, for
    positive terms, a lower bound."""

    expr: object
    text: str
    est: float
    lo: float = 0.0
    inv_est: float = 0.0  # for square matrices with positive determinant: bound on A⁻¹


@dataclass
class Case:
    """A generated scalar expression with everything needed to check it."""

    expr: object
    text: str
    shapes: dict = field(default_factory=dict)  # name -> declaration, for parse
    depth: int = 0

    @property
    def variables(self) -> list:
        return mg.expr.variables(self.expr)


# ---- how choices are made ----------------------------------------------------------------


class RandomChooser:
    """Choices from a seeded random.Random (the fuzz run)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def choice(self, options):
        return options[self.rng.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Choices through hypothesis, so failing examples shrink."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw = draw
        self.st = st

    def choice(self, options):
        return options[self.draw(self.st.integers(0, len(options) - 1))]

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))


# ---- the generator -----------------------------------------------------------------------


def _shape_text(shape) -> str:
    r, c = shape
    if shape == (1, 1):
        return "scalar"
    if c == 1:
        return DIM_TEXT[r]
    return f"{DIM_TEXT[r]},{DIM_TEXT[c]}"


def _paren(t: Term) -> str:
    return f"({t.text})"


class Generator:
    """Typed random terms: `general`, `positive`, `bounded` and `posdet` of a shape."""

    def __init__(self, chooser, structured: bool = False):
        self.c = chooser
        self.shapes: dict = {}  # variable name -> declaration
        self.structured = structured  # every square variable structured, where allowed

    # ---- leaves ---------------------------------------------------------------------
    def variable(self, shape, symmetric_ok: bool = True) -> Term:
        r, c = shape
        if shape == (1, 1):
            name = self.c.choice(("a", "b"))
        elif c == 1:
            name = f"v_{DIM_TEXT[r]}"
        elif r == 1:
            name = f"r_{DIM_TEXT[c]}"
        elif r == c and symmetric_ok and (self.structured or self.c.integer(0, 2) == 0):
            # a structured square variable, one name per structure and size
            structure = self.c.choice(STRUCTURES)
            name = f"{STRUCTURE_LETTER[structure]}_{DIM_TEXT[r]}"
            self.shapes[name] = f"{_shape_text(shape)} {structure}"
            return Term(ops.var(name, r, c, structure=structure), name, 3.0)
        else:
            name = f"X_{DIM_TEXT[r]}{DIM_TEXT[c]}"
        self.shapes[name] = _shape_text(shape)
        # square variables are sampled near 2I; the others are standard normal
        return Term(ops.var(name, r, c), name, 3.0)

    def constant(self) -> Term:
        value = self.c.choice((2, 3, 0.5, 1.5, 0.25))
        return Term(ops.const(value), repr(value), float(value), lo=float(value))

    def leaf(self, shape) -> Term:
        r, c = shape
        pick = self.c.integer(0, 9)
        if pick <= 6:
            return self.variable(shape)
        if shape == (1, 1):
            if pick == 7:
                d = self.c.choice(DIMS)
                return Term(ops.dim_value(d), d.name, float(SIZES[d]), lo=float(SIZES[d]))
            return self.constant()
        if pick == 7:
            return Term(ops.ones(r, c), self._shape_call("ones", shape), 1.0, lo=1.0)
        if pick == 8 and r == c:
            return Term(ops.eye(r), f"eye({DIM_TEXT[r]})", 1.0)
        if pick == 8:
            return Term(ops.zeros(r, c), self._shape_call("zeros", shape), 0.0)
        return self.variable(shape)

    def _shape_call(self, fname: str, shape) -> str:
        r, c = shape
        return f"{fname}({DIM_TEXT[r]})" if c == 1 else f"{fname}({DIM_TEXT[r]}, {DIM_TEXT[c]})"

    # ---- scaling --------------------------------------------------------------------
    def tame(self, t: Term, limit: float = LIMIT) -> Term:
        """t, divided by a power of ten if its bound exceeds limit."""
        if t.est <= limit:
            return t
        power = min(12, math.ceil(math.log10(t.est / limit)))
        scale = 10 ** power
        return Term(ops.div(t.expr, scale), f"{_paren(t)} / {scale}", t.est / scale,
                    lo=t.lo / scale)

    def bounded(self, shape, depth: int) -> Term:
        """A general term scaled to |value| ≲ 2 (for exp and symbolic exponents)."""
        return self.tame(self.general(shape, depth), 2.0)

    # ---- general terms --------------------------------------------------------------
    def general(self, shape, depth: int) -> Term:
        if depth <= 0:
            return self.leaf(shape)
        options = self._general_options(shape)
        build = self.c.choice(options)
        return self.tame(build(shape, depth - 1))

    def _sub(self, depth: int) -> int:
        """Depth of a secondary child: anything up to the primary child's depth."""
        return self.c.integer(0, depth)

    def _broadcast_partner(self, shape):
        """A shape that broadcasts against `shape`: itself, a scalar, a row or a column."""
        r, c = shape
        return self.c.choice([shape, (1, 1), (1, c), (r, 1)])

    def _general_options(self, shape):
        r, c = shape
        opts = [self._add, self._sub_op, self._mul, self._div, self._neg, self._transpose,
                self._matmul, self._real_fn, self._unit_fn, self._exp, self._positive_fn,
                self._power,
                self._symbolic_power, self._outer, self._pairwise, self._clip,
                self._indicator, self._kron, self._unvec]
        if c == 1:
            opts += [self._vec]
        if shape == (1, 1):
            opts += [self._reduce, self._reduce, self._trace, self._det, self._logdet,
                     self._norm, self._logsumexp, self._dot, self._extreme,
                     self._vector_norm, self._matrix_norm]
        if c == 1 and r != 1:
            opts += [self._softmax, self._diagvec, self._axis_reduce, self._axis_extreme,
                     self._log_softmax, self._axis_logsumexp, self._eigvalsh, self._svdvals]
        if r == 1 and c != 1:
            opts += [self._axis_reduce, self._axis_extreme, self._axis_logsumexp]
        if r != 1 and c != 1:
            opts += [self._axis_softmax]
        if r == c and r != 1:
            opts += [self._inv, self._diagmat, self._triangle, self._matrix_power, self._adj,
                     self._tril_half, self._cholesky, self._eigvecsh, self._expm,
                     self._expm_frechet, self._logm, self._sqrtm, self._root_frechet]
        if r != 1:
            opts += [self._solve]
        return opts

    def _binary(self, shape, depth, symbol, f, right_positive=False):
        a = self.general(shape, depth)
        other = self._broadcast_partner(shape)
        if right_positive:
            b = self.positive(other, self._sub(depth))
        else:
            b = self.general(other, self._sub(depth))
        if not right_positive and self.c.integer(0, 1):
            a, b = b, a  # the broadcast operand on either side
        return a, b, f(a.expr, b.expr), f"{_paren(a)} {symbol} {_paren(b)}"

    def _add(self, shape, depth):
        a, b, e, text = self._binary(shape, depth, "+", ops.add)
        return Term(e, text, a.est + b.est)

    def _sub_op(self, shape, depth):
        a, b, e, text = self._binary(shape, depth, "-", ops.sub)
        return Term(e, text, a.est + b.est)

    def _mul(self, shape, depth):
        a, b, e, text = self._binary(shape, depth, "*", ops.mul)
        return Term(e, text, a.est * b.est)

    def _div(self, shape, depth):
        a, b, e, text = self._binary(shape, depth, "/", ops.div, right_positive=True)
        return Term(e, text, a.est / b.lo)

    def _neg(self, shape, depth):
        a = self.general(shape, depth)
        return Term(ops.neg(a.expr), f"-{_paren(a)}", a.est)

    def _transpose(self, shape, depth):
        a = self.general((shape[1], shape[0]), depth)
        return Term(ops.transpose(a.expr), f"{_paren(a)}.T", a.est)

    def _matmul(self, shape, depth):
        j = self.c.choice(AXES)
        left_deep = self.c.integer(0, 1)
        a = self.general((shape[0], j), depth if left_deep else self._sub(depth))
        b = self.general((j, shape[1]), self._sub(depth) if left_deep else depth)
        size = SIZES.get(j, 1)
        return Term(ops.matmul(a.expr, b.expr), f"{_paren(a)} @ {_paren(b)}",
                    a.est * b.est * size)

    def _real_fn(self, shape, depth):
        name = self.c.choice(REAL_FUNCTIONS)
        a = self.general(shape, depth)
        est = _magnitude(name, -a.est, a.est)
        if est > LIMIT:  # a function that grows (sinh, cosh, expm1): a bounded argument
            a = self.bounded(shape, depth)
            est = _magnitude(name, -a.est, a.est)
        return Term(ops.fn(name, a.expr), f"{name}({a.text})", est)

    def _unit_fn(self, shape, depth):
        """A function defined on (−1, 1) only, of 0.9 tanh(a)."""
        name = self.c.choice(UNIT_FUNCTIONS)
        a = self.general(shape, depth)
        inner = ops.mul(0.9, ops.tanh(a.expr))
        return Term(ops.fn(name, inner), f"{name}(0.9 * tanh({a.text}))",
                    _magnitude(name, -0.9, 0.9))

    def _exp(self, shape, depth):
        a = self.bounded(shape, depth)
        return Term(ops.exp(a.expr), f"exp({a.text})", math.exp(a.est), lo=math.exp(-a.est))

    def _positive_fn(self, shape, depth):
        name = self.c.choice(POSITIVE_FUNCTIONS)
        a = self.positive(shape, depth)
        if name == "log":
            est = max(abs(math.log(a.lo)), abs(math.log(a.est)), 1.0)
            return Term(ops.log(a.expr), f"log({a.text})", est)
        if name == "sqrt":
            return Term(ops.sqrt(a.expr), f"sqrt({a.text})", math.sqrt(a.est),
                        lo=math.sqrt(a.lo))
        if table()[name].ordered:  # polygamma(1, x): the order the language's Hessians meet
            return Term(ops.fn(name, 1, a.expr), f"{name}(1, {a.text})",
                        max(_magnitude(name, a.lo, a.est, 1), 1.0))
        return Term(ops.fn(name, a.expr), f"{name}({a.text})",
                    max(_magnitude(name, a.lo, a.est), 1.0))

    def _power(self, shape, depth):
        p = self.c.choice((2, 3, -1, 0.5, -2, 1.5))
        if p in (2, 3):
            a = self.tame(self.general(shape, depth), 3.0)
            return Term(ops.power(a.expr, p), f"{_paren(a)} ** {p}", a.est ** p)
        a = self.positive(shape, depth)
        est = a.est ** p if p > 0 else a.lo ** p
        lo = a.lo ** p if p > 0 else a.est ** p
        return Term(ops.power(a.expr, p), f"{_paren(a)} ** {p}", est, lo=lo)

    def _symbolic_power(self, shape, depth):
        """p ** b with b an expression: exp(b log p), for a positive base."""
        a = self.tame(self.positive(shape, depth), 5.0)
        b = self.bounded(self.c.choice([(1, 1), shape]), self._sub(depth))
        est = max(a.est, 1 / a.lo) ** b.est
        return Term(ops.power(a.expr, b.expr), f"{_paren(a)} ** {_paren(b)}", est)

    def _outer(self, shape, depth):
        r, c = shape
        a = self.general((r, 1), depth)
        b = self.general((c, 1), self._sub(depth))
        return Term(ops.outer(a.expr, b.expr), f"outer({a.text}, {b.text})", a.est * b.est)

    def _reduce(self, shape, depth):
        inner = (self.c.choice(AXES), self.c.choice(AXES))
        a = self.general(inner, depth)
        count = SIZES.get(inner[0], 1) * SIZES.get(inner[1], 1)
        if self.c.integer(0, 1):
            return Term(ops.sum(a.expr), f"sum({a.text})", a.est * count)
        return Term(ops.mean(a.expr), f"mean({a.text})", a.est)

    def _axis_reduce(self, shape, depth):
        r, c = shape
        j = self.c.choice(AXES)
        axis = 0 if r == 1 else 1
        inner = (j, c) if axis == 0 else (r, j)
        a = self.general(inner, depth)
        if self.c.integer(0, 1):
            return Term(ops.sum(a.expr, axis), f"sum({a.text}, axis={axis})",
                        a.est * SIZES.get(j, 1))
        return Term(ops.mean(a.expr, axis), f"mean({a.text}, axis={axis})", a.est)

    def _trace(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.general((j, j), depth)
        return Term(ops.trace(a.expr), f"trace({a.text})", a.est * SIZES.get(j, 1))

    def _det(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.posdet(j, depth)
        est = a.est ** SIZES.get(j, 1)
        return Term(ops.det(a.expr), f"det({a.text})", est, lo=1.0 / a.inv_est ** SIZES.get(j, 1))

    def _logdet(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.posdet(j, depth)
        size = SIZES.get(j, 1)
        est = size * max(abs(math.log(a.est)), abs(math.log(a.inv_est)), 1.0)
        return Term(ops.logdet(a.expr), f"logdet({a.text})", est)

    def _norm(self, shape, depth):
        inner = (self.c.choice(AXES), self.c.choice(AXES))
        # away from 0, where the norm has no derivative
        a = self.positive(inner, depth) if self.c.integer(0, 1) else None
        if a is None:
            g = self.general(inner, depth)
            cst = self.constant()
            a = Term(ops.add(g.expr, cst.expr), f"{_paren(g)} + {cst.text}", g.est + cst.est)
        count = SIZES.get(inner[0], 1) * SIZES.get(inner[1], 1)
        return Term(ops.norm(a.expr), f"norm({a.text})", a.est * math.sqrt(count))

    # ---- spectral functions and norms: arguments away from ties and zeros -----------
    def _separated(self, t: Term, shape) -> Term:
        """t (tamed to about 1) plus 3 times a variable of its shape: the variable's
        random values keep eigenvalues, singular values and the largest |entry| apart
        (and singular values from 0), almost surely."""
        a = self.tame(t, 1.0)
        v = self.variable(shape, symmetric_ok=False)
        return Term(ops.add(a.expr, ops.mul(3, v.expr)), f"{_paren(a)} + 3 * {v.text}",
                    a.est + 9.0)

    def _symmetric(self, size, depth) -> Term:
        """(B + Bᵀ)/2 + 3 diag(v): symmetric, its eigenvalues spread by v's entries."""
        b = self.tame(self.general((size, size), depth), 1.0)
        v = self.variable((size, 1))
        expr = ops.add(ops.div(ops.add(b.expr, ops.transpose(b.expr)), 2),
                       ops.mul(3, ops.diag(v.expr)))
        return Term(expr, f"({_paren(b)} + {_paren(b)}.T) / 2 + 3 * diag({v.text})",
                    b.est + 9.0)

    def _eigvalsh(self, shape, depth):
        s = self._symmetric(shape[0], depth)
        return Term(mg.eigvalsh(s.expr), f"eigvalsh({s.text})", s.est * SIZES[shape[0]])

    def _eigvecsh(self, shape, depth):
        s = self._symmetric(shape[0], depth)
        return Term(mg.eigvecsh(s.expr), f"eigvecsh({s.text})", 1.0)

    def _tall(self, cols):
        """A row count at least `cols`'s (so that svdvals and the matrix norms apply)."""
        return self.c.choice([j for j in AXES if SIZES.get(j, 1) >= SIZES.get(cols, 1)])

    def _svdvals(self, shape, depth):
        j = self._tall(shape[0])
        x = self._separated(self.general((j, shape[0]), depth), (j, shape[0]))
        return Term(mg.svdvals(x.expr), f"svdvals({x.text})",
                    x.est * math.sqrt(SIZES.get(j, 1) * SIZES[shape[0]]))

    def _vector_norm(self, shape, depth):
        """‖x‖₁ or ‖x‖_∞ of a column whose entries are apart and (where they move) away
        from 0: x + 3v, then, for the 1-norm, pushed off 0 by 0.5 sign."""
        j = self.c.choice(AXES)
        x = self._separated(self.general((j, 1), depth), (j, 1))
        if self.c.integer(0, 1):
            return Term(mg.norm(x.expr, math.inf), f"norm({x.text}, inf)", x.est)
        pushed = ops.add(x.expr, ops.mul(0.5, ops.sign(x.expr)))
        text = f"{_paren(x)} + 0.5 * sign({x.text})"
        return Term(mg.norm(pushed, 1), f"norm({text}, 1)",
                    (x.est + 0.5) * SIZES.get(j, 1))

    def _matrix_norm(self, shape, depth):
        k = self.c.choice(AXES)
        j = self._tall(k)
        x = self._separated(self.general((j, k), depth), (j, k))
        size = math.sqrt(SIZES.get(j, 1) * SIZES.get(k, 1))
        kind = self.c.integer(0, 2)
        if kind == 2:
            # the largest absolute column or row sum: x + 3v keeps the sums apart, and
            # its entries away from 0 where they move, almost surely
            if self.c.integer(0, 1):
                return Term(mg.norm(x.expr, 1), f"norm({x.text}, 1)",
                            x.est * SIZES.get(j, 1))
            return Term(mg.norm(x.expr, math.inf), f"norm({x.text}, inf)",
                        x.est * SIZES.get(k, 1))
        if kind:
            return Term(mg.norm(x.expr, "nuc"), f'norm({x.text}, "nuc")',
                        x.est * size * math.sqrt(SIZES.get(k, 1)))
        return Term(mg.norm(x.expr, 2), f"norm({x.text}, 2)", x.est * size)

    def _logsumexp(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.general((j, 1), depth)
        return Term(ops.logsumexp(a.expr), f"logsumexp({a.text})",
                    a.est + math.log(SIZES.get(j, 1)) + 1)

    def _dot(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.general((j, 1), depth)
        b = self.general((j, 1), self._sub(depth))
        return Term(ops.dot(a.expr, b.expr), f"dot({a.text}, {b.text})",
                    a.est * b.est * SIZES.get(j, 1))

    def _softmax(self, shape, depth):
        a = self.bounded(shape, depth)
        return Term(ops.softmax(a.expr), f"softmax({a.text})", 1.0,
                    lo=math.exp(-2 * a.est) / SIZES.get(shape[0], 1))

    def _extreme(self, shape, depth):
        """max or min of all entries of a term of any shape."""
        name = self.c.choice(("max", "min"))
        inner = (self.c.choice(AXES), self.c.choice(AXES))
        a = self.general(inner, depth)
        return Term(getattr(mg, name)(a.expr), f"{name}({a.text})", a.est)

    def _axis_extreme(self, shape, depth):
        """max or min along the axis that leaves a row (axis 0) or a column (axis 1)."""
        r, c = shape
        name = self.c.choice(("max", "min"))
        j = self.c.choice(AXES)
        axis = 0 if r == 1 else 1
        a = self.general((j, c) if axis == 0 else (r, j), depth)
        return Term(getattr(mg, name)(a.expr, axis=axis), f"{name}({a.text}, axis={axis})",
                    a.est)

    def _pairwise(self, shape, depth):
        """The elementwise maximum or minimum, of a term and a broadcast partner."""
        name = self.c.choice(("maximum", "minimum"))
        a = self.general(shape, depth)
        b = self.general(self._broadcast_partner(shape), self._sub(depth))
        if self.c.integer(0, 1):
            a, b = b, a
        return Term(getattr(mg, name)(a.expr, b.expr), f"{name}({a.text}, {b.text})",
                    max(a.est, b.est))

    def _clip(self, shape, depth):
        a = self.general(shape, depth)
        lo = self.general(self._broadcast_partner(shape), self._sub(depth))
        hi = self.general(self._broadcast_partner(shape), self._sub(depth))
        return Term(mg.clip(a.expr, lo.expr, hi.expr), f"clip({a.text}, {lo.text}, {hi.text})",
                    max(lo.est, hi.est))

    def _indicator(self, shape, depth):
        """ismax or ismin (0 or 1 entries), of all entries or along an axis."""
        name = self.c.choice(("ismax", "ismin"))
        axis = self.c.choice((None, 0, 1))
        a = self.general(shape, depth)
        text = f"{name}({a.text})" if axis is None else f"{name}({a.text}, axis={axis})"
        return Term(getattr(mg, name)(a.expr, axis=axis), text, 1.0)

    def _log_softmax(self, shape, depth):
        a = self.bounded(shape, depth)
        return Term(mg.log_softmax(a.expr), f"log_softmax({a.text})",
                    2 * a.est + math.log(SIZES.get(shape[0], 1)) + 1)

    def _axis_logsumexp(self, shape, depth):
        r, c = shape
        j = self.c.choice(AXES)
        axis = 0 if r == 1 else 1
        a = self.general((j, c) if axis == 0 else (r, j), depth)
        return Term(mg.logsumexp(a.expr, axis=axis), f"logsumexp({a.text}, axis={axis})",
                    a.est + math.log(SIZES.get(j, 1)) + 1)

    def _axis_softmax(self, shape, depth):
        """softmax or log_softmax of a matrix, along either axis."""
        axis = self.c.integer(0, 1)
        a = self.bounded(shape, depth)
        if self.c.integer(0, 1):
            return Term(mg.softmax(a.expr, axis=axis), f"softmax({a.text}, axis={axis})", 1.0)
        return Term(mg.log_softmax(a.expr, axis=axis), f"log_softmax({a.text}, axis={axis})",
                    2 * a.est + math.log(SIZES.get(shape[1 - axis], 1)) + 1)

    def _diagvec(self, shape, depth):
        a = self.general((shape[0], shape[0]), depth)
        return Term(ops.diag(a.expr), f"diag({a.text})", a.est)

    def _diagmat(self, shape, depth):
        a = self.general((shape[0], 1), depth)
        return Term(ops.diag(a.expr), f"diag({a.text})", a.est)

    def _triangle(self, shape, depth):
        name = self.c.choice(("tril", "triu"))
        a = self.general(shape, depth)
        return Term(getattr(ops, name)(a.expr), f"{name}({a.text})", a.est)

    def _kron(self, shape, depth):
        """An r×c Kronecker product whose factors have the pool's sizes: u ⊗ vᵀ with a
        column u and a row vᵀ (either way round), or a scalar times a matrix."""
        r, c = shape
        form = self.c.integer(0, 2)
        if form == 0:
            left, right = (r, 1), (1, c)
        elif form == 1:
            left, right = (1, c), (r, 1)
        else:
            left, right = (1, 1), shape
        a = self.general(left, depth)
        b = self.general(right, self._sub(depth))
        return Term(ops.kron(a.expr, b.expr), f"kron({a.text}, {b.text})", a.est * b.est)

    def _vec(self, shape, depth):
        """vec of an r-column (itself) or of an r-row (its transpose)."""
        inner = shape if self.c.integer(0, 1) else (1, shape[0])
        a = self.general(inner, depth)
        return Term(ops.vec(a.expr), f"vec({a.text})", a.est)

    def _unvec(self, shape, depth):
        """unvec of vec(B) for an r×c B, back to r×c."""
        r, c = shape
        a = self.general(shape, depth)
        return Term(ops.unvec(ops.vec(a.expr), r, c),
                    f"unvec(vec({a.text}), {DIM_TEXT[r]}, {DIM_TEXT[c]})", a.est)

    def _inv(self, shape, depth):
        a = self.posdet(shape[0], depth)
        return Term(ops.inv(a.expr), f"inv({a.text})", a.inv_est, inv_est=a.est)

    def _solve(self, shape, depth):
        a = self.posdet(shape[0], depth)
        b = self.general(shape, self._sub(depth))
        return Term(mg.solve(a.expr, b.expr), f"solve({a.text}, {b.text})",
                    a.inv_est * b.est * SIZES[shape[0]])

    def _matrix_power(self, shape, depth):
        k = self.c.choice((2, 3, -2, 0))
        s = SIZES[shape[0]]
        if k >= 0:  # entries below 1/s: the power stays bounded
            a = self.tame(self.general(shape, depth), 1.0)
            est = (a.est * s) ** k / s if k else 1.0
        else:
            a = self.posdet(shape[0], depth)
            est = (a.inv_est * s) ** -k / s
        return Term(mg.matrix_power(a.expr, k), f"matrix_power({a.text}, {k})", est)

    def _adj(self, shape, depth):
        s = SIZES[shape[0]]
        a = self.posdet(shape[0], depth)
        if a.est ** s * a.inv_est > 1e6:  # det(A) A⁻¹ too large: a Gram matrix of a leaf
            a = self._pd_gram(shape[0], 0)
        return Term(mg.adj(a.expr), f"adj({a.text})", a.est ** s * a.inv_est * s)

    def _expm(self, shape, depth):
        """e^A of an A with entries below 1/s, so that ‖A‖₁ ≤ 1 and |e^A| ≤ e."""
        a = self.tame(self.general(shape, depth), 1.0 / SIZES[shape[0]])
        return Term(mg.expm(a.expr), f"expm({a.text})", math.e)

    def _expm_frechet(self, shape, depth):
        """expm_frechet(A, E) = expm_block(A, E, A), A tamed as for expm."""
        s = SIZES[shape[0]]
        a = self.tame(self.general(shape, depth), 1.0 / s)
        e = self.general(shape, self._sub(depth))
        return Term(mg.expm_frechet(a.expr, e.expr), f"expm_frechet({a.text}, {e.text})",
                    math.e * e.est * s)

    def near_identity_or_gram(self, size, depth) -> Term:
        """A matrix whose spectrum keeps off the closed negative real axis, for logm and
        sqrtm: I + A with the entries of A below 1/(2s) (eigenvalues within 1/2 of 1,
        not symmetric), or a Gram matrix A Aᵀ + I (eigenvalues ≥ 1)."""
        if self.c.integer(0, 1):
            return self._pd_gram(size, min(depth, 3))
        s = SIZES[size]
        a = self.tame(self.general((size, size), depth), 0.5 / s)
        return Term(ops.add(ops.eye(size), a.expr), f"eye({DIM_TEXT[size]}) + {_paren(a)}",
                    1.5)

    def _logm(self, shape, depth):
        """log A of an A as near_identity_or_gram gives: |log A| ≤ 1 + log ‖A‖."""
        a = self.near_identity_or_gram(shape[0], depth)
        return Term(mg.logm(a.expr), f"logm({a.text})", 1.0 + math.log(max(a.est, 1.0)))

    def _sqrtm(self, shape, depth):
        """A^{1/2} of an A as near_identity_or_gram gives: |A^{1/2}| ≤ √‖A‖."""
        a = self.near_identity_or_gram(shape[0], depth)
        return Term(mg.sqrtm(a.expr), f"sqrtm({a.text})", math.sqrt(max(a.est, 1.0)))

    def _root_frechet(self, shape, depth):
        """logm_frechet(A, E) or sqrtm_frechet(A, E): |L(A, E)| ≤ ‖A⁻¹‖ |E| s (the
        domains' A have ‖A⁻¹‖ ≤ 2)."""
        a = self.near_identity_or_gram(shape[0], depth)
        e = self.general(shape, self._sub(depth))
        name = self.c.choice(["logm_frechet", "sqrtm_frechet"])
        return Term(getattr(mg, name)(a.expr, e.expr), f"{name}({a.text}, {e.text})",
                    2.0 * e.est * SIZES[shape[0]])

    def _tril_half(self, shape, depth):
        a = self.general(shape, depth)
        return Term(mg.tril_half(a.expr), f"tril_half({a.text})", a.est)

    def _cholesky(self, shape, depth):
        """The factor of A Aᵀ + I (eigenvalues ≥ 1, so L⁻¹ is bounded by 1 too)."""
        a = self._pd_gram(shape[0], depth)
        return Term(mg.cholesky(a.expr), f"cholesky({a.text})", math.sqrt(a.est))

    # ---- positive terms: value ≥ lo > 0 everywhere ----------------------------------
    def positive(self, shape, depth: int) -> Term:
        if depth <= 0:
            return self._positive_leaf(shape)
        r, c = shape
        opts = [self._p_square, self._p_exp, self._p_abs, self._p_softplus,
                self._p_sigmoid, self._p_sqrt, self._p_mul, self._p_add, self._p_transpose,
                self._p_matmul]
        if shape == (1, 1):
            opts += [self._p_norm, self._p_sum, self._p_trace]
        if c == 1 and r != 1:
            opts += [self._p_softmax, self._p_diag]
        t = self.c.choice(opts)(shape, depth - 1)
        while t.est > 50:  # shrink by square roots, which keep the sign
            t = Term(ops.sqrt(t.expr), f"sqrt({t.text})", math.sqrt(t.est), lo=math.sqrt(t.lo))
        return t

    def _positive_leaf(self, shape):
        r, c = shape
        if shape == (1, 1):
            if self.c.integer(0, 1):
                return self.constant()
            d = self.c.choice(DIMS)
            return Term(ops.dim_value(d), d.name, float(SIZES[d]), lo=float(SIZES[d]))
        if self.c.integer(0, 1):
            return Term(ops.ones(r, c), self._shape_call("ones", shape), 1.0, lo=1.0)
        x = self.variable(shape, symmetric_ok=False)
        return Term(ops.exp(ops.div(x.expr, 2)), f"exp({x.text} / 2)", 5.0, lo=0.2)

    def _plus_constant(self, t: Term, est, lo) -> Term:
        cst = self.constant()
        return Term(ops.add(t.expr, cst.expr), f"{_paren(t)} + {cst.text}", est + cst.est,
                    lo=lo + cst.lo)

    def _p_square(self, shape, depth):
        a = self.tame(self.general(shape, depth), 3.0)
        sq = Term(ops.power(a.expr, 2), f"{_paren(a)} ** 2", a.est ** 2)
        return self._plus_constant(sq, sq.est, 0.0)

    def _p_exp(self, shape, depth):
        return self._exp(shape, depth)

    def _p_abs(self, shape, depth):
        a = self.general(shape, depth)
        t = Term(ops.abs(a.expr), f"abs({a.text})", a.est)
        return self._plus_constant(t, t.est, 0.0)

    def _p_softplus(self, shape, depth):
        a = self.general(shape, depth)
        t = Term(ops.softplus(a.expr), f"softplus({a.text})", a.est + 1.0)
        return self._plus_constant(t, t.est, 0.0)

    def _p_sigmoid(self, shape, depth):
        a = self.bounded(shape, depth)
        return Term(ops.sigmoid(a.expr), f"sigmoid({a.text})", 1.0,
                    lo=1 / (1 + math.exp(a.est)))

    def _p_sqrt(self, shape, depth):
        a = self.positive(shape, depth)
        return Term(ops.sqrt(a.expr), f"sqrt({a.text})", math.sqrt(a.est), lo=math.sqrt(a.lo))

    def _p_mul(self, shape, depth):
        a = self.positive(shape, depth)
        b = self.positive(self._broadcast_partner(shape), self._sub(depth))
        if self.c.integer(0, 1):
            a, b = b, a
        return Term(ops.mul(a.expr, b.expr), f"{_paren(a)} * {_paren(b)}", a.est * b.est,
                    lo=a.lo * b.lo)

    def _p_add(self, shape, depth):
        a = self.positive(shape, depth)
        b = self.positive(self._broadcast_partner(shape), self._sub(depth))
        if self.c.integer(0, 1):
            a, b = b, a
        return Term(ops.add(a.expr, b.expr), f"{_paren(a)} + {_paren(b)}", a.est + b.est,
                    lo=a.lo + b.lo)

    def _p_transpose(self, shape, depth):
        a = self.positive((shape[1], shape[0]), depth)
        return Term(ops.transpose(a.expr), f"{_paren(a)}.T", a.est, lo=a.lo)

    def _p_matmul(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.positive((shape[0], j), depth)
        b = self.positive((j, shape[1]), self._sub(depth))
        size = SIZES.get(j, 1)
        return Term(ops.matmul(a.expr, b.expr), f"{_paren(a)} @ {_paren(b)}",
                    a.est * b.est * size, lo=a.lo * b.lo * size)

    def _p_norm(self, shape, depth):
        t = self._norm(shape, depth)
        return self._plus_constant(t, t.est, 0.0)

    def _p_sum(self, shape, depth):
        inner = (self.c.choice(AXES), self.c.choice(AXES))
        a = self.positive(inner, depth)
        count = SIZES.get(inner[0], 1) * SIZES.get(inner[1], 1)
        if self.c.integer(0, 1):
            return Term(ops.sum(a.expr), f"sum({a.text})", a.est * count, lo=a.lo * count)
        return Term(ops.mean(a.expr), f"mean({a.text})", a.est, lo=a.lo)

    def _p_trace(self, shape, depth):
        j = self.c.choice(AXES)
        a = self.positive((j, j), depth)
        size = SIZES.get(j, 1)
        return Term(ops.trace(a.expr), f"trace({a.text})", a.est * size, lo=a.lo * size)

    def _p_softmax(self, shape, depth):
        return self._softmax(shape, depth)

    def _p_diag(self, shape, depth):
        a = self.positive((shape[0], shape[0]), depth)
        return Term(ops.diag(a.expr), f"diag({a.text})", a.est, lo=a.lo)

    # ---- square matrices with a positive determinant and a bounded inverse ----------
    def posdet(self, size, depth: int) -> Term:
        if size == 1:
            p = self.positive((1, 1), depth)
            return Term(p.expr, p.text, p.est, lo=p.lo, inv_est=1 / p.lo)
        if depth <= 0:
            if self.c.integer(0, 3) == 0:
                return Term(ops.eye(size), f"eye({DIM_TEXT[size]})", 1.0, inv_est=1.0)
            v = self.variable((size, size))
            return Term(v.expr, v.text, 3.0, inv_est=1.0)
        opts = [self._pd_gram, self._pd_gram, self._pd_diag, self._pd_product,
                self._pd_transpose, self._pd_inverse, self._pd_scaled]
        t = self.c.choice(opts)(size, min(depth - 1, 3))
        if t.est * t.inv_est > 1e4:  # too ill-conditioned: fall back to a Gram matrix
            t = self._pd_gram(size, 0)
        return t

    def _pd_gram(self, size, depth):
        """A Aᵀ + I (or Aᵀ A + I): symmetric positive definite, eigenvalues ≥ 1."""
        j = self.c.choice(AXES)
        if self.c.integer(0, 1):
            a = self.tame(self.general((size, j), depth), 2.0)
            g, gt = ops.matmul(a.expr, ops.transpose(a.expr)), f"{_paren(a)} @ {_paren(a)}.T"
        else:
            a = self.tame(self.general((j, size), depth), 2.0)
            g, gt = ops.matmul(ops.transpose(a.expr), a.expr), f"{_paren(a)}.T @ {_paren(a)}"
        est = 1 + a.est ** 2 * SIZES.get(j, 1)
        return Term(ops.add(g, ops.eye(size)), f"{gt} + eye({DIM_TEXT[size]})", est,
                    inv_est=1.0)

    def _pd_diag(self, size, depth):
        p = self.positive((size, 1), depth)
        return Term(ops.diag(p.expr), f"diag({p.text})", p.est, inv_est=1 / p.lo)

    def _pd_product(self, size, depth):
        a = self.posdet(size, depth)
        b = self.posdet(size, self._sub(depth))
        s = SIZES[size]
        return Term(ops.matmul(a.expr, b.expr), f"{_paren(a)} @ {_paren(b)}",
                    a.est * b.est * s, inv_est=a.inv_est * b.inv_est * s)

    def _pd_transpose(self, size, depth):
        a = self.posdet(size, depth)
        return Term(ops.transpose(a.expr), f"{_paren(a)}.T", a.est, inv_est=a.inv_est)

    def _pd_inverse(self, size, depth):
        a = self.posdet(size, depth)
        return Term(ops.inv(a.expr), f"inv({a.text})", a.inv_est, inv_est=a.est)

    def _pd_scaled(self, size, depth):
        c = self.tame(self.positive((1, 1), depth), 5.0)
        a = self.posdet(size, self._sub(depth))
        return Term(ops.mul(c.expr, a.expr), f"{_paren(c)} * {_paren(a)}", c.est * a.est,
                    inv_est=a.inv_est / max(c.lo, 1e-3))

    # ---- a whole case ---------------------------------------------------------------
    def scalar_case(self, depth: int) -> Case:
        """A scalar expression that depends on at least one variable."""
        for _ in range(20):
            self.shapes = {}
            t = self.general((1, 1), depth)
            if mg.expr.variables(t.expr):
                break
        else:  # pragma: no cover - constants 20 times in a row
            v = self.variable((1, 1))
            t = Term(ops.add(t.expr, v.expr), f"{_paren(t)} + {v.text}", t.est + v.est)
        # declared: the variables of the expression, and those its text still names
        # where the constructors folded them away (matrix_power(X, 0) is I)
        used = {v.params[0] for v in mg.expr.variables(t.expr)}
        named = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", t.text))
        shapes = {k: s for k, s in self.shapes.items() if k in used or k in named}
        return Case(t.expr, t.text, shapes, depth)


def _magnitude(name: str, lo: float, hi: float, *order) -> float:
    """About the largest |f(t)| for t in [lo, hi], from the function's NumPy kernel."""
    import numpy as np
    with np.errstate(all="ignore"):
        values = np.abs(table()[name].numpy(np.linspace(lo, hi, GRID), *order))
    return max(float(np.max(values)), 1e-3)


def random_case(rng: random.Random, depth: int | None = None) -> Case:
    """One case for the fuzz run."""
    g = Generator(RandomChooser(rng))
    return g.scalar_case(depth if depth is not None else rng.randint(1, MAX_DEPTH))


def expressions(min_depth: int = 1, max_depth: int = MAX_DEPTH):
    """Hypothesis strategy: a Case (a scalar expression, its text and declarations)."""
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        depth = draw(st.integers(min_depth, max_depth))
        return Generator(DrawChooser(draw)).scalar_case(depth)

    return cases()


def structured_expressions(min_depth: int = 1, max_depth: int = 5):
    """Hypothesis strategy: a Case with at least one structured square variable (every
    square variable it draws is structured; where none is drawn, a term tr(V V) of a
    structured V is added)."""
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        depth = draw(st.integers(min_depth, max_depth))
        g = Generator(DrawChooser(draw), structured=True)
        for _ in range(5):
            case = g.scalar_case(depth)
            if any(v.params[1] for v in case.variables):
                return case
        v = g.variable((N, N))
        shapes = {**case.shapes, v.text: g.shapes[v.text]}
        return Case(ops.add(case.expr, ops.trace(ops.matmul(v.expr, v.expr))),
                    f"{_paren(case)} + trace({v.text} @ {v.text})", shapes, depth)

    return cases()


# ---- checks shared by the property tests and the fuzz run ---------------------------------

DIM_NAMES = tuple(d.name for d in DIMS)
STEPS = (1e-6, 1e-4, 1e-5, 1e-3)  # finite-difference steps, tried in this order


def gradient_error(L, xs, grads, seed: int = 0) -> float:
    """The largest relative error of `grads` against central finite differences of L.

    A correct gradient can fail at one step size where the true directional derivative
    is near zero (round-off) or L is strongly curved (truncation); a wrong one fails at
    every step. So the error is the smallest over a few steps, each at the same random
    points (resampled by `check_gradients` where L is undefined)."""
    from matgrad.verify import check_gradients
    best = float("inf")
    for h in STEPS:
        report = check_gradients(L, xs, grads, points=2, directions=2, h=h, seed=seed,
                                 sizes=SIZES)
        if not report.errors:
            raise AssertionError("no gradient was checked")
        best = min(best, report.max_error)
        if report.ok:
            break
    return best


def values_close(a, b, rtol: float = 1e-6) -> bool:
    import numpy as np
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.all(np.abs(a - b) <= rtol * scale))


def same_value(e1, e2, seed: int = 0, points: int = 2) -> bool:
    """Whether two expressions agree at random points where both are defined."""
    import numpy as np

    from matgrad.numeric import evaluate_2d
    from matgrad.verify import sample
    rng = np.random.default_rng(seed)
    for _ in range(points):
        values, sizes = sample([e1, e2], rng, SIZES)
        if not values_close(evaluate_2d(e1, values, sizes), evaluate_2d(e2, values, sizes)):
            return False
    return True


def hessian_error(L, x, g, rng) -> tuple[bool, float]:
    """(whether ∂²L/∂x² is symmetric, its largest relative error against central finite
    differences of the gradient g along a random direction) at a random point.

    As for gradients, the best of a few step sizes counts (see gradient_error)."""
    import numpy as np

    from matgrad.numeric import bind
    from matgrad.verify import sample
    H = mg.hessian(L, x)
    values, sizes = sample([L, g], rng, SIZES)
    arrays, _ = bind([L], values, sizes)
    name, shape = x.name, arrays[x.name].shape
    p = int(np.prod(shape))
    full = np.reshape(np.asarray(H.evaluate(values, sizes), dtype=float), (p, p))
    symmetric = bool(np.allclose(full, full.T,
                                 atol=1e-8 * max(1.0, float(np.max(np.abs(full))))))
    V = rng.standard_normal(shape)
    best = float("inf")
    for step in (1e-5, 1e-4, 1e-6):
        up, down = dict(arrays), dict(arrays)
        up[name], down[name] = arrays[name] + step * V, arrays[name] - step * V
        fd = (np.reshape(mg.evaluate(g, up, sizes), -1)
              - np.reshape(mg.evaluate(g, down, sizes), -1)) / (2 * step)
        hv = full @ V.reshape(-1)
        best = min(best, float(np.max(np.abs(fd - hv)))
                   / max(float(np.max(np.abs(fd))), float(np.max(np.abs(hv))), 1e-6))
    return symmetric, best


def derivation_errors(d, tolerance: float = 1e-5) -> list:
    """Each line's relative error in the derivation `d` (`Derivation.verify` at the
    strategies' sizes), the smallest over a few step sizes: as for gradients, a correct
    line can miss at one step where L is badly conditioned or strongly curved, and a
    false line misses at every step."""
    best = None
    for h in (1e-6, 1e-4, 1e-5):
        errors = d.verify(points=2, sizes=SIZES, h=h)
        best = errors if best is None else [min(a, b) for a, b in zip(best, errors)]
        if max(best) <= tolerance:
            break
    return best

