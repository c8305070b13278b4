"""The declarations of the language's named operations (see `matgrad.registry`).

One module per family; each declares its operations and publishes their functions,
which this package exports (and `matgrad` with it). Importing it declares them all.
"""
from .. import registry
# each module declares its operations on import
from . import diagonal  # noqa: F401
from . import exponential  # noqa: F401
from . import kron  # noqa: F401
from . import linalg  # noqa: F401
from . import matrix_functions  # noqa: F401
from . import matrix_roots  # noqa: F401
from . import norm  # noqa: F401
from . import reductions  # noqa: F401
from . import softmax  # noqa: F401
from . import spectral  # noqa: F401
from . import triangle  # noqa: F401

globals().update(registry.functions())
__all__ = sorted(registry.functions())
