"""Every line of every derivation holds: a property over random expressions.

The expressions come from the project's strategies (the whole language, several terms,
variables repeated across terms), deep enough that stations, named cotangents and
collected terms all occur. Each line is checked numerically by `Derivation.verify` and,
independently, by the test's own evaluation (`independent_errors`), at the strategies'
sizes (distinct, so that a transpose cannot hide).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import matgrad as mg

from .strategies import derivation_errors, expressions
from .test_steps import independent_errors

TOLERANCE = 1e-5
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@PROPERTY
@given(expressions(min_depth=4))
def test_every_line_of_every_derivation_holds(case):
    for x in case.variables:
        d = mg.derive(case.expr, x)
        errors = derivation_errors(d, TOLERANCE)
        bad = [(i, d.steps[i].rule, e) for i, e in enumerate(errors) if e > TOLERANCE]
        assert not bad, (case.text, x.name, bad, d.to_text())
        # every term of every line pairs with a differential (or with a differential
        # that has just vanished, dS = 0); each name is defined once
        for step in d.steps[:-1]:
            for _, D in step.terms:
                assert any(n.op == "dvar" for n in mg.expr.walk(D)) or D.op in (
                    "zeros", "const"), (case.text, step.rule)
        names = [a.name for a in d.atoms]
        assert len(names) == len(set(names))
        assert d.steps[-1].kind == "gradient"


@PROPERTY
@given(expressions(min_depth=6))
def test_lines_hold_by_an_independent_evaluation(case):
    x = case.variables[0]
    d = mg.derive(case.expr, x)
    errors = None
    for h in (1e-6, 1e-4):
        e = independent_errors(d, points=2, h=h)
        errors = e if errors is None else [min(a, b) for a, b in zip(errors, e)]
    assert max(errors) <= 1e-4, (case.text, x.name, d.to_text())
