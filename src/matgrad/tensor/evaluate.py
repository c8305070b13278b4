"""Numeric value of a tensor in index notation: one `numpy.einsum` per term.

The factors are evaluated with matgrad's NumPy evaluator (sharing one cache), a delta
becomes an identity matrix, and the terms are added. The result has one axis per free
index, in order; a free index that a term does not mention means the term is constant
along that axis (it broadcasts).
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..numeric import size_of, bind, evaluate_2d
from .terms import Delta, Tensor

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tensor_value(t: Tensor, arrays: dict, sizes: dict, cache: dict | None = None) -> np.ndarray:
    """The full array of t, given arrays bound by name and dimension sizes."""
    cache = {} if cache is None else cache
    shape = tuple(size_of(i.size, sizes) for i in t.free)
    total = np.zeros(shape)
    for term in t.terms:
        letter: dict = {}

        def name(i):
            if i not in letter:
                if len(letter) >= len(_LETTERS):
                    raise ShapeError("a term has too many indices to evaluate")
                letter[i] = _LETTERS[len(letter)]
            return letter[i]

        coef = float(term.coef)
        specs, operands = [], []
        for f in term.factors:
            if isinstance(f, Delta):
                n = size_of(f.a.size, sizes)
                specs.append(name(f.a) + name(f.b))
                operands.append(np.eye(n))
                continue
            a = evaluate_2d(f.expr, arrays, sizes, cache)
            if f.rows is None and f.cols is None:
                coef = coef * float(a.reshape(-1)[0])
                continue
            if f.rows is None:
                a = a[0, :]
            elif f.cols is None:
                a = a[:, 0]
            else:
                a = np.broadcast_to(a, (size_of(f.rows.size, sizes), size_of(f.cols.size, sizes)))
            specs.append("".join(name(i) for i in f.indices))
            operands.append(a)
        present = [i for i in t.free if i in letter]
        if operands:
            with np.errstate(all="ignore"):
                value = np.einsum(",".join(specs) + "->" + "".join(name(i) for i in present),
                                  *operands, optimize=len(operands) > 2)
        else:
            value = np.ones(())
        # axes the term does not mention: the value is constant along them
        full = [slice(None) if i in letter else None for i in t.free]
        value = np.asarray(value)[tuple(full)] if present or t.free else value
        total = total + coef * np.broadcast_to(value, shape)
    return total


def evaluate_tensor(t: Tensor, values: dict, sizes: dict | None = None,
                    context=()) -> np.ndarray:
    """The full array of a tensor at the given variable values (by name). The sizes of
    dimensions come from the arrays of the factors and of the `context` expressions
    (say, the function and the variable of a Jacobian), or from `sizes`.

    >>> import numpy as np, matgrad as mg
    >>> from matgrad.tensor.terms import Tensor, Term, Delta, Factor, fresh
    >>> n = mg.dims("n")[0]
    >>> w = mg.vector("w", n)
    >>> i, k = fresh(n), fresh(n)
    >>> evaluate_tensor(Tensor((i, k), (Term(1, (Delta(i, k), Factor(w, i, None))),)),
    ...                 {"w": [1.0, 2.0]})
    array([[1., 0.],
           [0., 2.]])
    """
    exprs = [f.expr for term in t.terms for f in term.factors if not isinstance(f, Delta)]
    arrays, bound = bind(list(context) + exprs, values, sizes)
    return tensor_value(t, arrays, bound)
