"""The declarations of the language's named operations (see `matgrad.registry`).

One module per family; each declares its operations and publishes their functions,
which this package exports (and `matgrad` with it). Importing it declares them all.
"""
from .. import registry
from . import diagonal, linalg, norm, softmax, triangle  # noqa: F401 - each declares on import

globals().update(registry.functions())
__all__ = sorted(registry.functions())
