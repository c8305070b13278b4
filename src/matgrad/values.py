"""What a variable's value may be: one check, for evaluate, the numeric checks and every
compiled backend alike.

Real numbers only: a float, an int or a bool (as 0 and 1), or an array of them of any
library (NumPy, JAX, PyTorch, Dask, CuPy), or nested lists. Refused, with the variable's
name: None, text, ragged lists, complex values (the derivatives are those of real
functions; the real part alone would be a silent wrong answer), masked arrays (their
masks would be dropped), object arrays. `np.matrix` is read as the plain array it holds.
A variable declared with a structure (symmetric, spd, lower, upper, diagonal) must
have a value of that structure (`matgrad.structure.require`).

>>> as_float_array("x", [1, 2])
array([1., 2.])
>>> as_float_array("x", [1 + 2j])
Traceback (most recent call last):
    ...
matgrad.errors.MatgradError: the value of x is complex; matgrad's derivatives are of real functions: give real values (e.g. the real and imaginary parts as two variables)
"""
from __future__ import annotations

import numpy as np

from .errors import MatgradError


def _complex(value) -> bool:
    if isinstance(value, complex):
        return True
    is_complex = getattr(value, "is_complex", None)  # PyTorch tensors
    if callable(is_complex):
        try:
            return bool(is_complex())
        except TypeError:
            return False
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "kind", None) == "c"


def refuse_unusable(name: str, value) -> None:
    """MatgradError for a value no backend may take (see the module's doc)."""
    if value is None:
        raise MatgradError(f"the value of {name} is None, not a number or an array")
    if isinstance(value, (str, bytes)):
        raise MatgradError(f"the value of {name} is text ({value[:20]!r}), not a number "
                           "or an array")
    if isinstance(value, np.ma.MaskedArray):
        raise MatgradError(f"the value of {name} is a masked array, whose mask would be "
                           "lost: fill the masked entries first (np.ma.filled)")
    if _complex(value):
        raise MatgradError(f"the value of {name} is complex; matgrad's derivatives are of "
                           "real functions: give real values (e.g. the real and imaginary "
                           "parts as two variables)")


def as_float_array(name: str, value) -> np.ndarray:
    """The value as a NumPy array of floats (floating arrays keep their precision)."""
    refuse_unusable(name, value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.asarray(value)  # np.matrix becomes the plain array it holds
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        raise MatgradError(f"the value of {name} is not numeric (a ragged or mixed "
                           f"{type(value).__name__})") from None
    if a.dtype.kind == "c":
        refuse_unusable(name, a)
    if a.dtype.kind not in "biuf":
        raise MatgradError(f"the value of {name} is not numeric ({a.dtype} entries)")
    return np.asarray(a, dtype=float)

