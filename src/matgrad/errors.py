"""Error classes: every bad input surfaces as a MatgradError (a ValueError).

Errors about text input carry the source and the column, and render a caret under it.
"""
from __future__ import annotations


class MatgradError(ValueError):
    """Base class of every error matgrad raises on bad input.

    It is a `ValueError`. An error about text carries the source and the column, and its
    message shows the line with a caret under the offending part.

    >>> import matgrad as mg
    >>> try:
    ...     mg.parse("X @ y", shapes={"X": "m,n", "y": "m"})
    ... except mg.MatgradError as e:
    ...     print(e)
    X @ y: X is m×n, y is m×1; inner dimensions n and m differ
      X @ y
      ^^^^^
    >>> issubclass(mg.MatgradError, ValueError)
    True
    """

    def __init__(self, message: str, *, source: str | None = None,
                 column: int | None = None, width: int = 1):
        self.message = message
        self.source = source
        self.column = column
        self.width = max(1, width)
        super().__init__(self._render())

    def _render(self) -> str:
        if self.source is None or self.column is None:
            return self.message
        line_start = self.source.rfind("\n", 0, self.column) + 1
        line_end = self.source.find("\n", self.column)
        if line_end < 0:
            line_end = len(self.source)
        line = self.source[line_start:line_end]
        col = self.column - line_start
        width = max(1, min(self.width, len(line) - col))
        return f"{self.message}\n  {line}\n  {' ' * col}{'^' * width}"

    def at(self, source: str, column: int, width: int = 1) -> "MatgradError":
        """The same error, located in `source` (kept if already located)."""
        if self.source is not None:
            return self
        return type(self)(self.message, source=source, column=column, width=width)


class ParseError(MatgradError):
    """Text that is not in the language: syntax, unknown names or functions.

    >>> import matgrad as mg
    >>> mg.parse("frobnicate(x)")
    Traceback (most recent call last):
        ...
    matgrad.errors.ParseError: unknown function 'frobnicate'
      frobnicate(x)
      ^^^^^^^^^^
    """


class ShapeError(MatgradError):
    """Shapes that do not fit, or that cannot be inferred.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.matrix("X", m, n) @ mg.vector("y", m)
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: X @ y: X is m×n, y is m×1; inner dimensions n and m differ
    """


class DomainError(MatgradError):
    """A request the mathematics does not allow (e.g. the gradient of a non-scalar).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> mg.grad(X @ w, w)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    matgrad.errors.DomainError: the gradient needs a scalar expression, but this one is m×1; ...
    """


class LimitError(MatgradError):
    """Input beyond a documented limit (length, depth, time).

    >>> import matgrad as mg
    >>> mg.parse("x" * 100_001)
    Traceback (most recent call last):
        ...
    matgrad.errors.LimitError: the expression is 100001 characters long; the limit is 100000
    """
