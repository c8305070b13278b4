"""Error classes: every bad input surfaces as a MatgradError (a ValueError).

Errors about text input carry the source and the column, and render a caret under it.
"""
from __future__ import annotations


class MatgradError(ValueError):
    """Base class of every error matgrad raises on bad input."""

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
    """Text that is not in the language: syntax, unknown names or functions."""


class ShapeError(MatgradError):
    """Shapes that do not fit, or that cannot be inferred."""


class DomainError(MatgradError):
    """A request the mathematics does not allow (e.g. the gradient of a non-scalar)."""


class LimitError(MatgradError):
    """Input beyond a documented limit (length, depth, time)."""
