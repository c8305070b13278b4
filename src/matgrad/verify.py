"""Numeric checks that ship with the library: finite differences at random points.

A gradient G of a scalar L at X is checked along random directions V:
    (L(X + hV) − L(X − hV)) / 2h  ≈  G : V
Points are random, with distinct sizes for distinct dimensions so that a misplaced
transpose cannot hide. A relu kink is hit with probability zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dims import Dim
from .errors import DomainError
from .expr import Expr, dimensions, variables
from .numeric import evaluate_2d

DEFAULT_SIZES = (3, 4, 5, 6, 7, 2, 8, 9, 10, 11)
TOLERANCE = 1e-5


def default_sizes(exprs) -> dict:
    """Distinct small sizes, one per named dimension, in order of appearance."""
    out: dict = {}
    for e in exprs:
        for d in dimensions(e):
            if d not in out:
                out[d] = DEFAULT_SIZES[len(out) % len(DEFAULT_SIZES)] + \
                    len(DEFAULT_SIZES) * (len(out) // len(DEFAULT_SIZES))
    return out


def _concrete(shape, sizes) -> tuple:
    return tuple(sizes[s] if isinstance(s, Dim) else s for s in shape)


def random_point(exprs, sizes: dict, rng: np.random.Generator, positive: bool = False) -> dict:
    """Random 2-D values for every variable. Square matrices are kept well-conditioned
    with a positive determinant (for inv, det, logdet); with positive=True every entry
    is positive (for log, sqrt)."""
    values: dict = {}
    for e in exprs:
        for v in variables(e):
            name = v.params[0]
            if name in values:
                continue
            r, c = _concrete(v.shape, sizes)
            if positive:
                a = rng.uniform(0.5, 1.5, size=(r, c))
            else:
                a = rng.standard_normal((r, c))
            if r == c and r > 1:
                a = a * (0.5 / np.sqrt(r)) + (r if positive else 2.0) * np.eye(r)
            if v.params[1]:
                a = (a + a.T) / 2
            values[name] = a
    return values


def direction(shape, rng, symmetric: bool) -> np.ndarray:
    v = rng.standard_normal(shape)
    return (v + v.T) / 2 if symmetric else v


@dataclass
class GradientCheck:
    """The outcome of checking gradients numerically."""

    errors: dict = field(default_factory=dict)  # variable name -> largest relative error
    points: int = 0
    tolerance: float = TOLERANCE

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return all(err <= self.tolerance for err in self.errors.values())

    def __str__(self) -> str:
        n = len(self.errors)
        what = f"{n} gradient{'s' if n != 1 else ''}"
        if self.ok:
            verb = "matches" if n == 1 else "match"
            return (f"verified numerically: {what} {verb} central finite differences at "
                    f"{self.points} random points (largest relative error "
                    f"{self.max_error:.1e})")
        bad = ", ".join(k for k, v in self.errors.items() if v > self.tolerance)
        return (f"VERIFICATION FAILED for {bad}: largest relative error "
                f"{self.max_error:.1e} exceeds {self.tolerance:.0e}")


def relative_error(a: float, b: float, floor: float = 0.0) -> float:
    """|a − b| relative to the larger, with a floor for values near zero."""
    return abs(a - b) / max(abs(a), abs(b), 1e-6, floor)


def sample(exprs, rng, sizes=None, tries: int = 6):
    """A random point where every expression evaluates to finite numbers."""
    sizes = dict(sizes or default_sizes(exprs))
    for attempt in range(tries):
        values = random_point(exprs, sizes, rng, positive=attempt % 2 == 1)
        try:
            cache: dict = {}
            outs = [evaluate_2d(e, values, sizes, cache) for e in exprs]
        except DomainError:
            continue
        if all(np.all(np.isfinite(o)) for o in outs):
            return values, sizes
    raise DomainError("could not find a random point where the expression is defined")


def check_gradients(L: Expr, wrt: list, grads: list, *, points: int = 3,
                    directions: int = 2, h: float = 1e-6, seed: int | None = 0,
                    sizes: dict | None = None) -> GradientCheck:
    """Compare symbolic gradients with central finite differences of L."""
    rng = np.random.default_rng(seed)
    report = GradientCheck(points=points)
    for _ in range(points):
        values, sz = sample([L, *grads], rng, sizes)
        cache: dict = {}
        for x, g in zip(wrt, grads):
            name = x.params[0]
            G = np.broadcast_to(evaluate_2d(g, values, sz, cache), values[name].shape)
            for _ in range(directions):
                V = direction(values[name].shape, rng, x.params[1])
                up, down = dict(values), dict(values)
                up[name] = values[name] + h * V
                down[name] = values[name] - h * V
                f_up, f_down = evaluate_2d(L, up, sz)[0, 0], evaluate_2d(L, down, sz)[0, 0]
                fd = (f_up - f_down) / (2 * h)
                # Rounding in L itself limits what a difference quotient can resolve:
                # about eps·|L|/h. Below 10⁶ times that, the check is absolute.
                noise = np.finfo(float).eps * max(abs(f_up), abs(f_down)) / h
                err = relative_error(fd, float(np.sum(G * V)), floor=1e6 * noise)
                if not np.isfinite(err):
                    err = float("inf")
                report.errors[name] = max(report.errors.get(name, 0.0), err)
    return report


def verify(L: Expr, wrt, grads=None, **kw) -> GradientCheck:
    """Check ∂L/∂x for each x in wrt (derived here unless given) by finite differences.

    >>> import matgrad as mg
    >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
    >>> mg.verify(x.T @ A @ x, [x]).ok
    True
    """
    from .differentiate import gradients, resolve
    if isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    xs = [resolve(L, x) for x in wrt]
    if grads is None:
        grads = gradients(L, xs)
    return check_gradients(L, xs, list(grads), **kw)
