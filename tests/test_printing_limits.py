"""The printer's bounds: an expression whose written-out tree is too large is a
LimitError before any text is built, and naming its shared parts lifts the bound."""
from __future__ import annotations

import pytest

import matgrad as mg
from matgrad.printing import base
from matgrad.printing.text import to_text


def _doubling(depth: int):
    """e₀ = x, eᵢ = eᵢ₋₁ ⊙ tanh(eᵢ₋₁): a DAG of 2·depth nodes whose tree doubles per level."""
    e = mg.vector("x", mg.Dim("n"))
    for _ in range(depth):
        e = e * mg.tanh(e)
    return e


def test_a_tree_too_large_to_write_out_is_a_limit_error():
    e = _doubling(40)  # about 2⁴⁰ nodes written out
    with pytest.raises(mg.errors.LimitError, match="too long to print"):
        to_text(e)


def test_a_tree_just_within_the_bound_prints():
    e = _doubling(8)
    assert len(to_text(e)) > 2 ** 8
    assert base.Printer(None).written_size(e) <= base.MAX_PRINT_NODES


def test_named_shared_parts_count_as_one_node():
    e = _doubling(40)
    names, part = {}, e
    for i in range(40):
        names[part] = f"e{i}"
        part = part.children[0]
    assert to_text(e, names) == "e₁ ⊙ tanh(e₁)"
