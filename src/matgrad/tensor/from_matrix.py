"""From matrix notation to index notation.

`indexed(E, r, c)` reads a matrix expression at indices: the transposes, broadcasts,
identities, diagonal matrices and Hadamard products of E become index structure
(E = Aᵀ ⊙ B at (r, c) is A_cr B_rc), and everything else stays a matrix factor.

`linear_to_tensor(D, out, inputs)` turns a differential D, linear in placeholder leaves
(`dvar` nodes), into the tensor T of the linear map: D_rc = Σ T_rc,kl dX_kl. Each
operation is read in index notation once:

    (A B)_rc = Σ_t A_rt B_tc        (Aᵀ)_rc = A_cr        tr(A) = Σ_a A_aa
    sum(A) = Σ_ab A_ab               diag(v)_rc = δ_rc v_r  diag(A)_r = A_rr
    (F ⊙ A)_rc = F_rc A_rc           dX_rc = δ_rk δ_cl dX_kl  (the placeholder's map)
    tril(A)_rc = tril(1)_rc A_rc     (a mask, as a Hadamard product: likewise triu)

A summed index may be dropped on the way down (a broadcast has no index on the axis it
repeats: sum(dv 1ᵀ, axis=1)_r = Σ_a dv_r), so each sum is closed with `sum_over`, which
turns an index the term no longer mentions into its size: Σ_a dv_r = m dv_r.
"""
from __future__ import annotations

from .. import registry
from ..errors import MatgradError
from ..expr import Expr
from ..recursion import room
from .terms import Delta, Factor, Term, check_size, fresh, multiply, scale, sum_over


class _Terms:
    """The term algebra a declaration's index reading builds with (registry.Operation
    .index): terms, deltas, products and sums of them, fresh indices, and `constant(E,
    r, c)`, a matrix expression without differentials read at indices."""

    def __init__(self, constant):
        self.Term, self.Delta, self.Factor = Term, Delta, Factor
        self.multiply, self.sum_over = multiply, sum_over
        self.axis_index = axis_index
        self.split = split
        self.constant = constant


def axis_index(size) -> object:
    """A fresh index for an axis, or None for an axis of size 1 (no index)."""
    return None if size == 1 else fresh(size)


def split(index, rows: object, cols: object):
    """An index over rows·cols read as its pair, in vec's order (index = i + rows·j):
    (i, j, factors), with i over rows and j over cols (None for an axis of size 1) and
    the factors that tie them to `index`, U_index,i V_index,j (`operations.kron.pairing`);
    where one of the sizes is 1 the index is the other one itself, with no factors."""
    if index is None:
        return None, None, []
    if rows == 1:
        return None, index, []
    if cols == 1:
        return index, None, []
    from ..operations.kron import pairing
    u, v = pairing(rows, cols)
    i, j = fresh(rows), fresh(cols)
    return i, j, [Factor(u, index, i), Factor(v, index, j)]


def axes(shape) -> tuple:
    return (axis_index(shape[0]), axis_index(shape[1]))


def indexed(e: Expr, r, c, simplifier=None) -> list:
    """E read at (r, c) as a list of terms ([] where E is zero). A small sum of matrices
    splits into its terms, so that (A + Aᵀ)_rc reads A_rc + A_cr."""
    if simplifier is not None:
        e = simplifier(e)
    return _indexed(e, r, c, 0)


_MAX_SPLIT = 4  # sums of at most this many terms are split
_MAX_NEST = 40  # structure deeper than this stays one factor


def _summands(e: Expr, limit: int) -> int:
    count, stack = 0, [e]
    while stack and count <= limit:
        x = stack.pop()
        if x.op == "add":
            stack.extend(x.children)
        else:
            count += 1
    return count


def _indexed(x: Expr, r, c, depth: int) -> list:
    op = x.op
    if depth > _MAX_NEST:
        return [Term(1, (Factor(x, r, c),))]
    if op == "const":
        return [Term(x.params[0], ())] if x.params[0] != 0 else []
    if op == "zeros":
        return []
    if op == "ones":
        return [Term(1, ())]
    if op == "neg":
        return scale(_indexed(x.children[0], r, c, depth + 1), -1)
    if op == "transpose":
        return _indexed(x.children[0], c, r, depth + 1)
    if op == "broadcast":
        y = x.children[0]
        return _indexed(y, r if y.shape[0] != 1 else None, c if y.shape[1] != 1 else None,
                        depth + 1)
    if op == "mul":
        a, b = x.children
        return multiply(_indexed(a, r, c, depth + 1), _indexed(b, r, c, depth + 1))
    if op == "eye":
        return [Term(1, (Delta(r, c),) if r is not None else ())]
    if op == "diagmat":
        return multiply([Term(1, (Delta(r, c),))], _indexed(x.children[0], r, None, depth + 1))
    if op == "add" and r is not None and c is not None and \
            _summands(x, _MAX_SPLIT) <= _MAX_SPLIT:
        a, b = x.children
        return _indexed(a, r, c, depth + 1) + _indexed(b, r, c, depth + 1)
    return [Term(1, (Factor(x, r, c),))]


def linear_to_tensor(D: Expr, out: tuple, inputs: dict, simplifier=None) -> list:
    """Terms of the tensor of the linear map D (see the module doc).

    `out` is (r, c), the indices of D's axes; `inputs` maps each placeholder to the
    indices (k, l) of the variable it stands for.
    """
    memo: dict = {}

    def linear(e: Expr) -> bool:
        hit = memo.get(e)
        if hit is None:
            hit = e.op == "dvar" or any(linear(c) for c in e.children)
            memo[e] = hit
        return hit

    def const(e, r, c):
        return indexed(e, r, c, simplifier)

    terms = _Terms(const)

    def lin(e: Expr, r, c) -> list:
        op = e.op
        if op == "dvar":
            k, l = inputs[e]
            fs = tuple(Delta(a, b) for a, b in ((r, k), (c, l)) if a is not None)
            return [Term(1, fs)]
        kids = e.children
        if op == "add":
            out: list = []
            for x in kids:
                if not linear(x):
                    raise MatgradError("internal: a differential has a constant term")
                out += lin(x, r, c)
            return check_size(out)
        if op == "neg":
            return scale(lin(kids[0], r, c), -1)
        if op == "transpose":
            return lin(kids[0], c, r)
        if op == "broadcast":
            y = kids[0]
            return lin(y, r if y.shape[0] != 1 else None, c if y.shape[1] != 1 else None)
        if op == "sum":
            (x,), (axis,) = kids, e.params
            a = r if axis == 1 else axis_index(x.shape[0])
            b = c if axis == 0 else axis_index(x.shape[1])
            return sum_over(lin(x, a, b), [a if axis != 1 else None, b if axis != 0 else None])
        declared = registry.get(op)
        if declared is not None and declared.index is not None:
            if declared.multilinear:  # each argument as it is: the differential or held
                return declared.index(e, lambda x, i, j: lin(x, i, j) if linear(x)
                                      else const(x, i, j), r, c, terms)
            if callable(declared.linear_in):  # linear in the one argument that is
                (i,) = [i for i in declared.linear_positions(e) if linear(kids[i])]
                return declared.index(e, lin, r, c, terms, i)
            return declared.index(e, lin, r, c, terms)
        if op == "mul":
            a, b = kids
            if linear(a) and linear(b):
                raise MatgradError("internal: a differential is not linear")
            x, f = (a, b) if linear(a) else (b, a)
            return multiply(const(f, r, c), lin(x, r, c))
        if op == "div":
            a, b = kids
            if linear(b):
                raise MatgradError("internal: a differential is not linear")
            from .. import ops
            return multiply(const(ops.div(1, b), r, c), lin(a, r, c))
        if op == "matmul":
            a, b = kids
            t = axis_index(a.shape[1])
            out = []
            if linear(a):
                out += multiply(lin(a, r, t), const(b, t, c))
            if linear(b):
                out += multiply(const(a, r, t), lin(b, t, c))
            return check_size(sum_over(out, [t]))
        raise MatgradError(f"internal: the operation {op!r} is not linear")

    with room(6 * D.depth + 500):
        return lin(D, *out)
