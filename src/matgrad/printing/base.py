"""The printer skeleton shared by the text and LaTeX printers.

A printer visits a node and returns (text, precedence). Precedence and parentheses are
decided here, in one place; subclasses only supply the tokens of their notation.
Intermediates given in `names` print as their name.
"""
from __future__ import annotations

from fractions import Fraction

from ..dims import SCALAR
from .. import registry
from ..errors import LimitError
from ..expr import Expr, walk
from ..recursion import room

# Precedence, loosest to tightest.
SUM, PRODUCT, MATMUL, UNARY, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6

MAX_PRINT_DEPTH = 20000
# the most nodes an expression may have written out as a tree (its shared parts once per
# use, named ones as their names): a small DAG can print at any length
MAX_PRINT_NODES = 2_000_000
# operands that print as a scalar where a sibling shows the shape (x + 1, a X): with no
# such sibling, they keep their shape (a · 1ₘ − 1ₘ), or it would be lost
_STRETCHED = ("broadcast", "ones", "zeros")


class Printer:
    """Visitor: `_print_<op>` methods return (text, precedence)."""

    # the levels, for the spellings that declarations give (registry.Operation.text)
    SUM, PRODUCT, MATMUL, UNARY, POSTFIX, ATOM = SUM, PRODUCT, MATMUL, UNARY, POSTFIX, ATOM
    matmul_prec = MATMUL  # the ASCII language puts @ on the level of * (Python's rule)
    compact_constants = True  # print ones(m) as 1 where broadcasting makes it so

    def __init__(self, names: dict | None = None):
        self.names = names or {}
        self.memo: dict = {}

    def __call__(self, e: Expr) -> str:
        if e.depth > MAX_PRINT_DEPTH:
            raise LimitError(f"expression too deep to print ({e.depth} levels)")
        if self.written_size(e) > MAX_PRINT_NODES:
            raise LimitError(f"expression too long to print: written out, its shared parts "
                             f"once per use, it has more than {MAX_PRINT_NODES:,} nodes")
        with room(6 * e.depth + 500):  # visit, _print_op, call, genexpr per level
            return self.visit(e, root=True)[0]

    def written_size(self, e: Expr, limit: int = MAX_PRINT_NODES) -> int:
        """The nodes of e written out as a tree, a named part one node; limit + 1 for
        any tree larger than limit (the count stays small however large the tree)."""
        cap = limit + 1
        size: dict = {}  # named parts are neither entered nor listed: 1 each
        total = 1
        for c in e.children:
            if c not in size and c not in self.names:
                for node in walk(c, skip=self.names):
                    if node not in size:
                        size[node] = min(1 + sum(size.get(k, 1) for k in node.children), cap)
            total = min(total + size.get(c, 1), cap)
        return total

    def visit(self, e: Expr, root: bool = False) -> tuple[str, int]:
        if not root and e in self.names:
            return self.name(self.names[e]), ATOM
        key = (e, root)
        hit = self.memo.get(key)
        if hit is None:
            method = getattr(self, "_print_" + e.op, None)
            if method is not None:
                hit = method(e)
            else:
                declared = registry.get(e.op)
                if declared is None:
                    raise LimitError(f"no printer for the operation {e.op!r}")
                hit = self.declared(e, declared)
            self.memo[key] = hit
        return hit

    def wrap(self, e: Expr, min_prec: int) -> str:
        """e's text, parenthesised if it binds looser than min_prec."""
        text, prec = self.visit(e)
        return self.paren(text) if prec < min_prec else text

    def declared(self, e: Expr, op) -> tuple[str, int]:  # pragma: no cover - abstract
        """A declared operation's spelling in this notation."""
        raise NotImplementedError

    def keyword_text(self, e: Expr, op) -> str:
        """", axis=0" for each keyword whose value is not its default."""
        return "".join(f", {k.name}={v}" for k, v in zip(op.keywords, e.params)
                       if v != k.default)

    # ---- tokens a notation must supply ----------------------------------------------
    def paren(self, text: str) -> str:
        return f"({text})"

    def name(self, name: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- chains: sums, Hadamard and matrix products ------------------------------------
    def _flatten(self, e: Expr, op: str) -> list:
        """The operands of the chain of `op` nodes at e (a sum, a Hadamard or a matrix
        product), left to right, each with its sign: (sign, operand) pairs. A named
        intermediate below e is an operand, not opened; in a sum, a negated term after
        the first is a term subtracted (a − b, not a + (−b))."""
        out, stack = [], [(e, 1)]
        while stack:
            node, sign = stack.pop()
            opens = node is e or node not in self.names
            if node.op == op and opens:
                stack.append((node.children[1], sign))
                stack.append((node.children[0], sign))
            elif op == "add" and node.op == "neg" and out and opens:
                out.append((-sign, node.children[0]))
            else:
                out.append((sign, node))
        return out

    def _factors(self, e: Expr, op: str = "mul") -> list:
        """The factors of a product chain (Hadamard, or `op` = "matmul"), left to right."""
        return [node for _, node in self._flatten(e, op)]

    # ---- sums ---------------------------------------------------------------------
    def _print_add(self, e: Expr):
        terms = self._flatten(e, "add")
        implicit = any(t.op not in _STRETCHED for _, t in terms)
        parts = []
        for i, (sign, t) in enumerate(terms):
            text = self.operand(t, SUM + (1 if i and sign < 0 else 0), implicit)
            if i == 0:
                parts.append(text if sign > 0 else self.minus() + text)
            else:
                parts.append((self.plus() if sign > 0 else self.minus_infix()) + text)
        return "".join(parts), SUM

    def operand(self, t: Expr, min_prec: int, implicit_broadcast: bool) -> str:
        """An operand of an elementwise operation; broadcasts there are implicit."""
        if implicit_broadcast and t.op == "broadcast" and t not in self.names:
            return self.wrap(t.children[0], min_prec)
        if implicit_broadcast and t.op in ("ones", "zeros") and self.compact_constants:
            # 1 − x: the 1 broadcasts (the ASCII language keeps ones(m) for round trips)
            return "1" if t.op == "ones" else "0"
        return self.wrap(t, min_prec)

    def _print_neg(self, e: Expr):
        return self.minus() + self.wrap(e.children[0], PRODUCT + 1 if self.strict_neg
                                         else PRODUCT), PRODUCT

    strict_neg = False

    # ---- products -------------------------------------------------------------------
    def _print_mul(self, e: Expr):
        factors = self._factors(e)
        implicit = e.shape == SCALAR or any(f.op not in _STRETCHED for f in factors)
        text = ""
        prev = None
        for i, f in enumerate(factors):
            piece = self.operand(f, PRODUCT if i == 0 else PRODUCT + 1, implicit)
            if i:
                scalarish = (prev.shape == SCALAR or prev.op == "broadcast"
                             and prev.children[0].shape == SCALAR or f.shape == SCALAR
                             or e.shape == SCALAR)
                text += self.times(scalarish)
            text += piece
            prev = f
        return text, PRODUCT

    def _print_div(self, e: Expr):
        a, b = e.children
        implicit = e.shape == SCALAR or a.op not in _STRETCHED or b.op not in _STRETCHED
        return self.divide(self.operand(a, PRODUCT, implicit),
                           self.operand(b, PRODUCT + 1, implicit), a, b), PRODUCT

    def matmul_chain(self, e: Expr, join):
        """A chain of matrix products, `join(factors)` writing the factors side by side;
        a sign or scalar factors of its first factor are written before the chain, where
        that means the same and saves parentheses: (−yᵀ) log(z) as −yᵀ log(z), (λ · wᵀ) w
        as λ · wᵀ w."""
        factors = self._factors(e, "matmul")
        return self._lead(factors, join) or (join(factors), MATMUL)

    def _lead(self, factors: list, join):
        first = factors[0]
        if first in self.names:
            return None
        if first.op == "neg":
            rest = [first.children[0]] + factors[1:]
            text, prec = self._lead(rest, join) or (join(rest), MATMUL)
            return self.minus() + (self.paren(text) if prec < PRODUCT else text), PRODUCT
        if first.op != "mul":
            return None
        *lead, last = self._factors(first)
        if not lead or last.shape == SCALAR or last.op in _STRETCHED or not all(
                f.shape == SCALAR or f.op == "broadcast" and f.children[0].shape == SCALAR
                for f in lead):
            return None
        text = self.times(True).join(self.operand(f, PRODUCT if i == 0 else PRODUCT + 1, True)
                                     for i, f in enumerate(lead))
        return text + self.times(True) + join([last] + factors[1:]), PRODUCT

    # ---- numbers --------------------------------------------------------------------
    def number(self, v) -> tuple[str, int]:
        if isinstance(v, Fraction):
            if v.denominator == 1:
                text = str(v.numerator)
            else:
                return self.fraction(v), PRODUCT
        else:
            text = repr(float(v))
        if text.startswith("-"):
            return self.minus() + text[1:], PRODUCT
        return text, ATOM

    def _print_const(self, e: Expr):
        return self.number(e.params[0])

    def _print_dim(self, e: Expr):
        return self.name(e.params[0].name), ATOM

    def _print_var(self, e: Expr):
        return self.name(e.params[0]), ATOM

    def _print_dvar(self, e: Expr):
        return self.differential(e.params[0]), ATOM

    def differential(self, index) -> str:
        return f"d{index}"

