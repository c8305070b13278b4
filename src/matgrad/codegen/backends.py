"""One record per backend: its printer, the library it needs, how values become its
arrays, and how its function is run.

Everything that differs between "numpy" (array-API code), "jax" and "torch" outside the
printed code is stated here, once; `compile` and the code printers read it.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import MatgradError
from ..values import as_float_array
from .array_api import ArrayApiPrinter
from .jax_backend import JaxPrinter
from .torch_backend import TorchPrinter


@dataclass(frozen=True)
class Backend:
    """A backend of the generated code.

    `module` must be importable (`extra` is the pip extra installing it; None for a
    core dependency); `array_type()` is the array class it takes as it is; `convert`
    makes its arrays of the values given (Python numbers, lists, other arrays); `jit`
    says whether the function runs under `jax.jit`; `python_floats` whether a scalar
    result comes back as a Python float (as `evaluate` gives it) rather than a 0-d
    array."""

    name: str
    printer: type
    module: str
    extra: str | None
    array_type: Callable[[], type]
    convert: Callable[[list, list], list]
    jit: bool = False
    python_floats: bool = False
    out_arrays: bool = False  # can write gradients into the caller's arrays (out=)

    def require(self) -> None:
        """A MatgradError saying what to install, where the library is missing."""
        if importlib.util.find_spec(self.module) is None:
            how = (f"pip install 'matgrad[{self.extra}]'" if self.extra else
                   f"pip install {self.module} (a dependency of matgrad, missing from this "
                   "install)")
            raise MatgradError(f"compiling for this backend needs {self.module}: {how}")


def _is_array(a) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype") and not isinstance(a, np.generic)


def _array_api_arrays(raw: list, names: list) -> list:
    """NumPy arrays, or the arrays of the library one of the values is from (Dask,
    PyTorch, CuPy: the array-API code runs on them), with the others converted to it."""
    foreign = [a for a in raw if _is_array(a) and not isinstance(a, np.ndarray)]
    if not foreign:
        return [as_float_array(n, a) for n, a in zip(names, raw)]
    import array_api_compat
    xp = array_api_compat.array_namespace(foreign[0])
    device = array_api_compat.device(foreign[0])
    return [a if _is_array(a) and not isinstance(a, np.ndarray) else
            xp.asarray(as_float_array(n, a), dtype=foreign[0].dtype, device=device)
            for n, a in zip(names, raw)]


def _jax_arrays(raw: list, names: list) -> list:
    import jax
    import jax.numpy as jnp
    return [a if isinstance(a, jax.Array) else jnp.asarray(as_float_array(n, a))
            for n, a in zip(names, raw)]


def _torch_arrays(raw: list, names: list) -> list:
    """Tensors, in the dtype and on the device of the first tensor given."""
    import torch
    ref = next((a for a in raw if isinstance(a, torch.Tensor)), None)
    dtype = ref.dtype if ref is not None else torch.float64
    device = ref.device if ref is not None else None
    return [a if isinstance(a, torch.Tensor) else
            torch.as_tensor(as_float_array(n, a), dtype=dtype, device=device)
            for n, a in zip(names, raw)]


def _attribute(module: str, name: str) -> Callable[[], type]:
    return lambda: getattr(importlib.import_module(module), name)


BACKENDS = {
    # array_api_compat is a core dependency (see pyproject.toml): the generated NumPy code
    # is array-API code, and array_api_compat gives it its arrays' namespace
    "numpy": Backend("numpy", ArrayApiPrinter, "array_api_compat", None,
                     lambda: np.ndarray, _array_api_arrays, python_floats=True,
                     out_arrays=True),
    "jax": Backend("jax", JaxPrinter, "jax", "jax", _attribute("jax", "Array"), _jax_arrays,
                   jit=True),
    "torch": Backend("torch", TorchPrinter, "torch", "torch", _attribute("torch", "Tensor"),
                     _torch_arrays),
}


def find(name: str) -> Backend:
    """The backend of this name, or a MatgradError listing the backends."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise MatgradError(f"unknown backend {name!r}; choose one of "
                           f"{', '.join(sorted(BACKENDS))}") from None
