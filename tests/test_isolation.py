"""Work in worker processes: results and MatgradErrors come back as they would from a
direct call; a runaway is stopped at its time limit and frees its CPU; running out of
memory is a LimitError; the pool replaces what it stopped."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import matgrad as mg
from matgrad import isolation

L = mg.parse("sum((X @ w - y)**2)", "X: m,n; w: n; y: m")


def test_results_are_those_of_a_direct_call():
    assert isolation.call(mg.grad, L, "w", timeout=60) is mg.grad(L, "w")
    checked = isolation.call(mg.check, L, "w", "2 * X.T @ (X @ w - y)", timeout=60)
    assert checked.verdict == mg.check(L, "w", "2 * X.T @ (X @ w - y)").verdict == "correct"


def test_matgrad_errors_come_back_with_their_kind_and_column():
    with pytest.raises(mg.ParseError) as err:
        isolation.call(mg.parse, "sum(x", {"x": "n"}, timeout=60)
    assert "^" in str(err.value)


def test_other_exceptions_are_matgrad_errors_naming_them():
    with pytest.raises(mg.MatgradError, match="internal error: ValueError"):
        isolation.call(int, "not a number", timeout=60)


def test_work_that_cannot_travel_is_refused_clearly():
    with pytest.raises(mg.MatgradError, match="cannot send this work"):
        isolation.call(lambda: 1, timeout=60)


def test_a_runaway_is_stopped_at_its_limit_and_its_process_ends():
    pool = isolation.Pool(1)
    try:
        (worker,) = list(pool._all)
        start = time.perf_counter()
        with pytest.raises(mg.LimitError, match="longer than 0.5 s"):
            pool.call(time.sleep, 30, timeout=0.5)
        assert time.perf_counter() - start < 5
        assert not worker.process.is_alive()  # stopped, not left running
        assert pool.call(mg.grad, L, "w", timeout=60) is mg.grad(L, "w")  # replaced
    finally:
        pool.close()


def test_running_out_of_memory_is_a_limit_error():
    with pytest.raises(mg.LimitError, match="memory"):
        isolation.call(np.ones, 2**28, memory=2**30, timeout=60)  # 2 GiB in 1 GiB
    assert isolation.call(np.ones, 3, memory=2**30, timeout=60).tolist() == [1.0] * 3


def test_runaways_do_not_starve_the_other_workers():
    pool = isolation.Pool(3)
    try:
        stopped = []

        def runaway():
            try:
                pool.call(time.sleep, 30, timeout=2)
            except mg.LimitError:
                stopped.append(True)

        threads = [threading.Thread(target=runaway) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        start = time.perf_counter()
        for _ in range(5):
            assert pool.call(mg.grad, L, "X", timeout=60) is mg.grad(L, "X")
        assert time.perf_counter() - start < 2  # served while the runaways run
        for t in threads:
            t.join()
        assert stopped == [True, True]
    finally:
        pool.close()
    with pytest.raises(mg.LimitError, match="closed"):
        pool.call(mg.grad, L, "w")
