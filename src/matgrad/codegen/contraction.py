"""Contraction order: the cheapest way to multiply a chain of matrices.

A product A₁ A₂ … A_k can be bracketed in many ways with very different costs: with X
m×n and vectors u, v, (u vᵀ) X costs m²n while u (vᵀ X) costs 2mn. The classic dynamic
programme over sub-chains finds the bracketing with the fewest multiply-adds. Sizes come
from the caller where known (a compiled function knows them at its first call); a
dimension of unknown size counts as `UNKNOWN` (large), so vectors and 1×1 factors are
still exploited.
"""
from __future__ import annotations

import math

from ..dims import Dim, DimProduct

UNKNOWN = 1000
MAX_CHAIN = 64


def size_of(d, sizes: dict) -> int:
    """The size of a dimension: an int, a known symbol, or the default estimate."""
    if isinstance(d, Dim):
        return int(sizes.get(d, sizes.get(d.name, UNKNOWN)))
    if isinstance(d, DimProduct):
        return d.coef * math.prod(size_of(f, sizes) for f in d.factors)
    return int(d)


def best_order(shapes: list, sizes: dict | None = None):
    """A bracketing of the chain as nested pairs of factor indices.

    >>> from matgrad.dims import dims
    >>> m, n = dims("m n")
    >>> best_order([(m, 1), (1, m), (m, n)])        # u (vᵀ X), never (u vᵀ) X
    (0, (1, 2))
    >>> best_order([(2, 3), (3, 4)])
    (0, 1)
    """
    sizes = sizes or {}
    k = len(shapes)
    if k > MAX_CHAIN:  # the programme is cubic in k; past this, keep the written order
        tree = 0
        for i in range(1, k):
            tree = (tree, i)
        return tree
    dims = [size_of(shapes[0][0], sizes)] + [size_of(s[1], sizes) for s in shapes]
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(2, k + 1):
        for i in range(k - length + 1):
            j = i + length - 1
            best = None
            for s in range(i, j):  # left to right: ties keep the natural left bracketing
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, s
            cost[i][j] = best

    def tree(i, j):
        if i == j:
            return i
        s = split[i][j]
        return (tree(i, s), tree(s + 1, j))

    return tree(0, k - 1)


def chain_cost(shapes: list, sizes: dict | None = None) -> int:
    """Multiply-adds of the chain in its best order."""
    sizes = sizes or {}

    def walk(t):
        if isinstance(t, int):
            return 0, size_of(shapes[t][0], sizes), size_of(shapes[t][1], sizes)
        c1, r, q = walk(t[0])
        c2, _, c = walk(t[1])
        return c1 + c2 + r * q * c, r, c

    return walk(best_order(shapes, sizes))[0] if shapes else 0


def best_split(shapes: list, sizes: dict | None = None) -> int:
    """Where to cut A₁…A_k into L R for tr(L R) = sum(L ⊙ Rᵀ): the index of R's first
    factor, minimising the cost of both sub-products.

    >>> best_split([(5, 5), (5, 5)])
    1
    """
    sizes = sizes or {}
    best, where = None, 1
    for i in range(1, len(shapes)):
        c = chain_cost(shapes[:i], sizes) + chain_cost(shapes[i:], sizes)
        if best is None or c < best:
            best, where = c, i
    return where
