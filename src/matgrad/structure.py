"""A variable's structure: the square matrices it ranges over.

A matrix variable may be declared with one structure (`"n,n lower"`,
`mg.matrix("L", n, n, structure="lower")`); an unstructured variable has structure "".

    structure   its values                       its gradient P(G)
    symmetric   X = Xᵀ                           (G + Gᵀ)/2
    spd         X = Xᵀ, positive definite        (G + Gᵀ)/2
    lower       zero above the diagonal          tril(G)
    upper       zero below the diagonal          triu(G)
    diagonal    zero off the diagonal            diag(diag(G))

G is the gradient with every entry independent. The structured gradient is the
projection P(G) of G onto the matrices a change dX of the variable may be (the
symmetric ones for spd too: positive definiteness is an open condition, so it restricts
no direction), so that dL = P(G) : dX for every such dX and P(G) has the structure
itself. For the triangular and diagonal structures, whose entries are a subset of the
entries, this is the derivative with respect to the free entries, each entry's own
partial: ∂L/∂L_ij for i ≥ j in tril(G), and zero where the entry is fixed at zero. For a
symmetric X it is the gradient for the Frobenius product on symmetric matrices (an
off-diagonal X_ij = X_ji moves two entries, and its own partial is 2 P(G)_ij).

>>> parse("lower", "L"), parse(True, "S"), parse(None, "x")
('lower', 'symmetric', '')
>>> phrase("spd")
'symmetric positive definite'
"""
from __future__ import annotations

import numpy as np

from .errors import MatgradError

NAMES = ("symmetric", "spd", "lower", "upper", "diagonal")

_PHRASES = {"symmetric": "symmetric", "spd": "symmetric positive definite",
            "lower": "lower triangular", "upper": "upper triangular",
            "diagonal": "diagonal"}

# the structures whose matrices equal their transposes: Xᵀ may be written X
SELF_TRANSPOSED = frozenset({"symmetric", "spd", "diagonal"})


# The identity a derivation prints where it projects G onto the structure: true for
# every dX the variable can take, which is all that a structured dX pairs with.
IDENTITIES = {
    "symmetric": "dX is symmetric: A : dX = ½(A + Aᵀ) : dX",
    "spd": "dX is symmetric (X is symmetric positive definite): A : dX = ½(A + Aᵀ) : dX",
    "lower": "dX is lower triangular: A : dX = tril(A) : dX",
    "upper": "dX is upper triangular: A : dX = triu(A) : dX",
    "diagonal": "dX is diagonal: A : dX = diag(diag(A)) : dX",
}


def parse(structure, name: str = "?") -> str:
    """The structure's canonical name ("" for none) from a name, True (symmetric), or a
    false value (none); a MatgradError naming the variable for anything else."""
    if structure is None or structure is False or structure == "":
        return ""
    if structure is True:
        return "symmetric"
    if isinstance(structure, str) and structure.strip().lower() in NAMES:
        return structure.strip().lower()
    raise MatgradError(f"the structure of {name} must be one of {', '.join(NAMES)}, "
                       f"not {structure!r}")


def of(x) -> str:
    """The structure of a variable node ("" for none, and for any other node)."""
    if x.op != "var":
        return ""
    s = x.params[1]
    return "symmetric" if s is True else (s or "")


def phrase(structure: str) -> str:
    """The structure in words: "lower triangular"."""
    return _PHRASES[structure]


def project(structure: str, a: np.ndarray) -> np.ndarray:
    """The NumPy array a projected onto the structure's directions (the matrices a
    change of the variable may be): the numeric form of the gradient's P(G)."""
    if structure in ("symmetric", "spd"):
        return (a + a.T) / 2
    if structure == "lower":
        return np.tril(a)
    if structure == "upper":
        return np.triu(a)
    if structure == "diagonal":
        return np.diag(np.diag(a))
    return a


def violation(structure: str, a) -> str | None:
    """What is wrong with the square 2-D array `a` (of any array library: checked in its
    own namespace, on its device) as a value of this structure, or None.

    Equalities hold up to rounding, as np.allclose has them (a symmetric value computed
    as A Aᵀ is symmetric only to rounding); positive definiteness is a Cholesky
    factorisation that succeeds."""
    if not structure:
        return None
    import array_api_compat
    xp = array_api_compat.array_namespace(a)
    if a.ndim != 2:  # a 1×1 variable given as a number
        a = xp.reshape(a, (1, 1))
    if structure in ("symmetric", "spd"):
        at = xp.permute_dims(a, (1, 0))
        if not bool(xp.all(xp.abs(a - at) <= 1e-8 + 1e-5 * xp.abs(at))):
            return "its value is not symmetric"
        if structure == "spd" and not _positive_definite(xp, a):
            return "its value is not positive definite"
        return None
    n = a.shape[0]
    keep = {"lower": xp.tril, "upper": xp.triu,
            "diagonal": lambda m: m * xp.eye(n, dtype=m.dtype, device=_device(m))}
    if not bool(xp.all(xp.abs(a - keep[structure](a)) <= 1e-8)):
        where = {"lower": "above", "upper": "below", "diagonal": "off"}[structure]
        return f"its value has nonzero entries {where} the diagonal"
    return None


def _device(a):
    import array_api_compat
    return array_api_compat.device(a)


def _positive_definite(xp, a) -> bool:
    import array_api_compat as compat
    on_device = (compat.is_numpy_array(a) or compat.is_torch_array(a)
                 or compat.is_jax_array(a) or compat.is_cupy_array(a))
    if not on_device:  # e.g. Dask, whose Cholesky needs square chunks: small, on the host
        xp, a = np, np.asarray(a)
    try:
        c = xp.linalg.cholesky(a)
    except (ValueError, RuntimeError):  # LinAlgError in NumPy and PyTorch
        return False
    return bool(xp.all(xp.isfinite(c)))  # JAX gives NaN where the factorisation fails


def require(name: str, structure: str, a) -> None:
    """MatgradError naming the variable unless `a` is a value of the structure."""
    why = violation(structure, a)
    if why is not None:
        raise MatgradError(f"{name} is declared {phrase(structure)} but {why}")
