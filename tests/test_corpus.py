"""The corpus of realistic losses (tests/corpus.py): every text parses with its shapes
to a scalar, and every gradient it asks for matches central finite differences."""
from __future__ import annotations

import pytest

import matgrad as mg
from matgrad.parser import parse_program

from .corpus import CORPUS, SECTIONS

# Cases whose verification is known to fail, with the reason. strict=True: when one
# starts to pass, the mark has to go.
XFAIL: dict = {}


def _params(with_xfail: bool):
    out = []
    for case in CORPUS:
        marks = ()
        if with_xfail and case.name in XFAIL:
            marks = (pytest.mark.xfail(strict=True, raises=mg.DomainError,
                                       reason=XFAIL[case.name]),)
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def test_the_corpus_is_well_formed():
    names = [case.name for case in CORPUS]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CORPUS) >= 100
    assert all(len(section) >= 4 for section in SECTIONS.values())
    assert set(XFAIL) <= set(names)
    for case in CORPUS:
        assert case.wrt_names, case.name
        assert len(case.wrt_names) == len(set(case.wrt_names)), case.name


@pytest.mark.parametrize("case", _params(with_xfail=False))
def test_the_source_parses_to_a_scalar(case):
    program = parse_program(case.source, case.shapes)
    assert program.result.shape == (1, 1), program.result.shape
    missing = [name for name in case.wrt_names if name not in program.variables]
    assert not missing, f"not variables of the loss: {missing}"


@pytest.mark.parametrize("case", _params(with_xfail=True))
def test_the_gradients_verify(case):
    program = parse_program(case.source, case.shapes)
    wrt = [program.variables[name] for name in case.wrt_names]
    report = mg.verify(program.result, wrt)
    assert sorted(report.errors) == sorted(case.wrt_names), report.errors
    assert report.ok, (str(report), report.errors)


def _derivations(case):
    program = parse_program(case.source, case.shapes)
    return [mg.derive(program.result, program.variables[name],
                      definitions=program.definitions,
                      loss_name=program.result_name or "L") for name in case.wrt_names]


@pytest.mark.parametrize("case", _params(with_xfail=True))
def test_every_line_of_every_derivation_holds(case):
    """Each derivation the case asks for: no line false, no verification error."""
    for d in _derivations(case):
        errors = d.verify()
        bad = [(i, d.steps[i].rule, e) for i, e in enumerate(errors) if not e <= 1e-5]
        assert not bad, (d.x.name, bad, d.to_text())


def test_the_latex_of_every_derivation_compiles():
    """The corpus's derivations, as LaTeX and as the Markdown cells' LaTeX, typeset
    with a real engine (one run for all)."""
    from .latex_engine import compile_fragments, require_engine
    require_engine()
    fragments, labels = [], []
    for case in CORPUS:
        if case.name in XFAIL:
            continue
        for d in _derivations(case):
            fragments.append(d.to_latex())
            labels.append(f"{case.name} by {d.x.name}")
    results = compile_fragments(fragments)
    bad = [(label, err) for label, err in zip(labels, results) if err is not None]
    assert not bad, bad[:5]
