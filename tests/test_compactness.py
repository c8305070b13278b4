"""Results as compact as the textbook's: the cases of benchmarks/bench_compactness.py,
each gradient checked equal in value to the textbook's form, and the length ratios
within the targets (median ≤ 1.0, 90th percentile ≤ 1.3, worst ≤ 2.0)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_compactness.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_compactness", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(bench):
    return [bench.measure(case) for case in bench.CASES]  # each checks the values agree


def test_the_cases_cover_the_identities_and_the_losses(bench):
    assert len(bench.CASES) >= 60
    assert len({(c.expr, c.shapes, c.wrt) for c in bench.CASES}) == len(bench.CASES)


def test_the_ratios_meet_the_targets(bench, rows):
    summary = bench.summary(rows)
    worst = max(rows, key=lambda r: r["ratio"])
    for key, limit in bench.TARGETS.items():
        assert summary[key] <= limit, (key, summary, worst["ours"], worst["textbook"])


def test_no_result_has_more_terms_than_the_textbook(rows):
    assert not [(r["ours"], r["textbook"]) for r in rows if r["terms"][0] > r["terms"][1]]
