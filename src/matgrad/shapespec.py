"""Shape declarations: "X: m,n; w: n; b: scalar; S: n,n symmetric; L: n,n lower".

A declaration is "scalar" (or empty), "n" (a column vector), "1,n" (a row vector),
"m,n" (a matrix), optionally followed by a structure of a square matrix: "symmetric",
"spd" (symmetric positive definite), "lower", "upper" (triangular) or "diagonal"
(see `matgrad.structure`). A declaration reads as (rows, cols, structure), with the
structure "" for none.

>>> parse_one("n,n lower")
(n, n, 'lower')
>>> parse_one("m,n spd", "K")
Traceback (most recent call last):
    ...
matgrad.errors.ShapeError: K is declared symmetric positive definite but is not square (m×n)
"""
from __future__ import annotations

import re

from .dims import as_size, fmt_shape, normal_name
from .errors import ShapeError
from .structure import NAMES, phrase
from .structure import parse as parse_structure

_SEP = re.compile(r"\s*(?:,|×|\bx\b|\s)\s*")


def parse_one(spec, name: str = "?", source: str | None = None, column: int = 0):
    """(rows, cols, structure) from one declaration (a string or a tuple)."""
    if isinstance(spec, (tuple, list)):
        if len(spec) == 0:
            return 1, 1, ""
        if len(spec) == 1:
            return as_size(spec[0]), 1, ""
        if len(spec) == 2:
            return as_size(spec[0]), as_size(spec[1]), ""
        raise ShapeError(f"the shape of {name} has {len(spec)} axes; at most 2 are allowed")
    if not isinstance(spec, str):
        raise ShapeError(f"the shape of {name} must be a string such as 'm,n', not {spec!r}")
    text = spec.strip()
    structure = ""
    last = text.rsplit(None, 1)[-1] if text else ""
    if last.lower() in NAMES:
        structure = last.lower()
        text = text[: -len(last)].strip()
    if text in ("", "scalar", "1"):
        sizes = []
    else:
        sizes = [p for p in _SEP.split(text) if p]
    if len(sizes) > 2:
        raise ShapeError(f"the shape of {name} has {len(sizes)} axes; at most 2 are "
                         "allowed", source=source, column=column if source else None,
                         width=len(spec))
    out = []
    for part in sizes:
        try:
            out.append(as_size(int(part)) if part.isdigit() else as_size(part))
        except ShapeError as err:
            raise ShapeError(f"in the shape of {name}: {err.message}", source=source,
                             column=column if source else None, width=len(spec)) from None
    rows, cols = (out + [1, 1])[:2] if out else (1, 1)
    if structure and rows != cols:
        raise ShapeError(f"{name} is declared {phrase(structure)} but is not square "
                         f"({fmt_shape((rows, cols))})", source=source,
                         column=column if source else None, width=len(spec))
    return rows, cols, structure


def parse_shapes(shapes) -> dict:
    """{name: (rows, cols, structure)} from a dict or a "X: m,n; w: n" string."""
    if shapes is None:
        return {}
    if isinstance(shapes, dict):
        out = {}
        for name, spec in shapes.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ShapeError(f"{name!r} is not a variable name")
            key = normal_name(name)
            if key in out:
                raise ShapeError(f"{name} is declared twice: {_same(name, out[key][3])}")
            out[key] = parse_one(spec, name) + (name,)
        return {k: v[:3] for k, v in out.items()}
    if not isinstance(shapes, str):
        raise ShapeError("shapes must be a dict or a string such as 'X: m,n; w: n'")
    out = {}
    pos = 0
    for chunk in re.split(r"([;\n])", shapes):
        if chunk in (";", "\n"):
            pos += 1
            continue
        start = pos
        pos += len(chunk)
        if not chunk.strip():
            continue
        if ":" not in chunk:
            lead = len(chunk) - len(chunk.lstrip())
            raise ShapeError("a shape declaration needs the form 'name: shape'",
                             source=shapes, column=start + lead, width=len(chunk.strip()))
        name, spec = chunk.split(":", 1)
        lead = len(name) - len(name.lstrip())
        name = name.strip()
        if not name.isidentifier():
            raise ShapeError(f"{name!r} is not a variable name", source=shapes,
                             column=start + lead, width=max(1, len(name)))
        key = normal_name(name)
        if key in out:
            raise ShapeError(f"{name} is declared twice" + (
                f": {_same(name, out[key][3])}" if out[key][3] != name else ""),
                source=shapes, column=start + lead, width=len(name))
        spec_col = start + len(chunk.split(":", 1)[0]) + 1
        spec_col += len(spec) - len(spec.lstrip())
        out[key] = parse_one(spec.strip(), name, shapes, spec_col) + (name,)
    return {k: v[:3] for k, v in out.items()}


def _same(name: str, other: str) -> str:
    odd = name if normal_name(name) != name else other
    return f"{other} and {name} are the same name (Python reads {odd} as {normal_name(odd)})"


def format_shapes(shapes: dict) -> str:
    """The declaration string for {name: (rows, cols, structure)} (a structure of True
    is "symmetric", a false one none)."""
    parts = []
    for name, (r, c, structure) in shapes.items():
        if (r, c) == (1, 1):
            spec = "scalar"
        elif c == 1:
            spec = f"{r}"
        else:
            spec = f"{r},{c}"
        structure = parse_structure(structure, name)
        parts.append(f"{name}: {spec} {structure}".rstrip())
    return "; ".join(parts)
