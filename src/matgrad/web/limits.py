"""The bounds one web request must stay within, so that no request can hang or exhaust
the server: sizes of the inputs, nesting depth of the expression, order of a
derivative, time and memory of a derivation, and how many derivations may be in flight
at once.

>>> Limits().max_expr_length
4000
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024     # a JSON request body
    max_expr_length: int = 4000         # characters of the expression
    max_shapes_length: int = 2000       # characters of the shape declarations
    max_claim_length: int = 4000        # characters of a claimed gradient
    max_wrt_names: int = 32             # variables to differentiate by
    max_depth: int = 200                # nesting depth of the parsed expression
    max_order: int = 4                  # order of a Jacobian or Hessian (its axes grow)
    timeout_s: float = 10.0             # one derivation, queueing included (then stopped)
    workers: int = 4                    # worker processes that derive
    memory_bytes: int = 2 * 2**30       # address space of one worker process
    in_process: bool = False            # derive in threads here instead (never stopped:
    #                                     for tests that patch the library, and debugging)
    max_pending: int = 32               # distinct derivations in flight (then: busy)
    cache_size: int = 256               # results kept (derivation is deterministic)
