"""What the benchmarks share: medians of repeated runs after warm-up, and the command
of those that write a docs page."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def median_time(fn, runs: int, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def write_page(text: str, path: Path) -> None:
    """Write a benchmark's docs page, saying where on stderr."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"written to {path.relative_to(path.parent.parent)}", file=sys.stderr)


def page_main(doc: str, out: Path, make, argv=None, quick: bool = False) -> int:
    """The command of a benchmark that writes a docs page: its description is the first
    line of `doc`; `--no-write` only prints the page; with `quick`, `--quick` asks for
    fewer runs, and `make(quick)` makes the page, else `make()` does."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    if quick:
        ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {out.name}")
    args = ap.parse_args(argv)
    text = make(args.quick) if quick else make()
    print(text)
    if not args.no_write:
        write_page(text, out)
    return 0
