"""The code printer skeleton: Python expressions with correct precedence, one per node.

A backend printer (array API, JAX, PyTorch) subclasses `CodePrinter` and supplies the
spelling of each kernel; arithmetic, precedence, parentheses, implicit broadcasting and
names live here, once. Values in generated code are 2-D arrays (a vector is an n×1
column), except scalars, which are 0-d arrays or plain Python numbers.
"""
from __future__ import annotations

from fractions import Fraction

from .. import registry
from ..dims import SCALAR, Dim, DimProduct
from ..elementwise import table
from ..errors import MatgradError
from ..expr import Expr
from ..rules import reciprocal_of_norm
from .schedule import Plan, implicit_operands, is_number

# Python's precedence, loosest to tightest.
ADD, MUL, UNARY, POW, ATOM = 1, 2, 3, 4, 5


class CodePrinter:
    """Visitor: `_print_<op>(node)` returns (text, precedence)."""

    backend = "?"
    # the backends whose spellings of declared operations this printer writes, first
    # found first (registry.Operation.code): its own, then the array API's it builds on
    family: tuple = ()
    ns = "xp"  # the name of the array namespace in generated code
    helpers: dict = {}  # helper name -> source of a module-level function
    # Python's levels, for the spellings that declarations give
    ADD, MUL, UNARY, POW, ATOM = ADD, MUL, UNARY, POW, ATOM

    @classmethod
    def native(cls) -> frozenset:
        """The declared operations this backend writes itself; the others with a
        lowering are rewritten into simpler ones first (codegen.lower)."""
        return frozenset(name for name, op in registry.operations().items()
                         if op.code_for(cls.family) is not None)

    @classmethod
    def reserved(cls) -> frozenset:
        """Names of every helper this backend's code may define."""
        own = {h.name for op in registry.operations().values() for h in op.helpers}
        return frozenset(cls.helpers) | own

    def __init__(self, plan: Plan):
        self.plan = plan
        self.used_helpers: list = []
        self.helper_sources: dict = {}  # the declared helpers used, by name
        self.needs_dtype = False
        self.needs_device = False
        self.used_dims: set = set()

    @staticmethod
    def needs_named_operand(node: Expr) -> bool:
        """Whether this printer writes node's operand twice (so it must be a name)."""
        return (node.op == "fn" and node.params[0] == "heaviside") or \
            reciprocal_of_norm(node)

    # ---- entry points -----------------------------------------------------------------
    def statement(self, node: Expr, *, output: bool = False) -> str:
        """The right-hand side defining node (never its own name)."""
        if output and is_number(node, self.plan.numbers):
            return self.as_array(self.visit(node, root=True)[0])
        return self.visit(node, root=True)[0]

    def visit(self, e: Expr, root: bool = False) -> tuple[str, int]:
        if e.op == "var":
            return self.plan.names[e], ATOM
        if not root and e in self.plan.names:
            return self.plan.names[e], ATOM
        method = getattr(self, "_print_" + e.op, None)
        if method is not None:
            return method(e)
        declared = registry.get(e.op)
        code = None if declared is None else declared.code_for(self.family)
        if code is None:
            raise MatgradError(f"the {self.backend} code printer cannot write the operation "
                               f"{e.op!r}")
        if callable(code):
            return code(self, e)
        return self.call(self.qualified(code), *(self.arg(c) for c in e.children))

    def wrap(self, e: Expr, min_prec: int) -> str:
        text, prec = self.visit(e)
        return f"({text})" if prec < min_prec else text

    def arg(self, e: Expr) -> str:
        """An argument of a function call (any precedence)."""
        return self.visit(e)[0]

    def array_arg(self, e: Expr) -> str:
        """An argument that must be an array, not a Python number."""
        text = self.arg(e)
        return self.as_array(text) if is_number(e, self.plan.numbers) else text

    def operands(self, e: Expr) -> list:
        """e's operands, with implicit broadcasts written as their inner value."""
        implicit = implicit_operands(e)
        return [c.children[0] if i in implicit else c for i, c in enumerate(e.children)]

    # ---- helpers and shapes -------------------------------------------------------------
    def helper(self, name) -> str:
        """The name of a helper the code calls (a name in `helpers`, or a declared
        operation's `registry.Helper`), written out once next to the function."""
        if isinstance(name, registry.Helper):
            self.helper_sources[name.name] = name.source
            name = name.name
        if name not in self.used_helpers:
            self.used_helpers.append(name)
        return name

    def helper_source(self, name: str) -> str:
        return self.helper_sources[name] if name in self.helper_sources else \
            self.helpers[name]

    def size(self, d) -> str:
        if isinstance(d, Dim):
            self.used_dims.add(d)
            return self.plan.dim_names[d]
        if isinstance(d, DimProduct):  # m * n, from the sizes of m and n
            return d.code(self.size)
        return str(d)

    def shape(self, shape) -> str:
        return f"({self.size(shape[0])}, {self.size(shape[1])})"

    def dtype(self) -> str:
        self.needs_dtype = True
        return "dtype"

    def device(self) -> str:
        self.needs_device = True
        return "device"

    def call(self, fname: str, *args: str) -> tuple[str, int]:
        return f"{fname}({', '.join(args)})", ATOM

    def fn(self, name: str) -> str:
        """A namespace function's qualified name."""
        return f"{self.ns}.{name}"

    qualified = fn  # the name the declarations' spellings use

    # ---- numbers and leaves -------------------------------------------------------------
    def number(self, v) -> tuple[str, int]:
        if isinstance(v, Fraction) and v.denominator != 1:
            sign = "-" if v < 0 else ""
            return f"{sign}{abs(v.numerator)} / {v.denominator}", MUL
        text = str(v.numerator) if isinstance(v, Fraction) else repr(float(v))
        return text, (UNARY if text.startswith("-") else ATOM)

    def _print_const(self, e):
        return self.number(e.params[0])

    def _print_dim(self, e):
        return self.size(e.params[0]), ATOM

    # ---- arithmetic ---------------------------------------------------------------------
    def _print_add(self, e):
        a, b = self.operands(e)
        left = self.wrap(a, ADD)
        if b.op == "neg" and b not in self.plan.names:
            return f"{left} - {self.wrap(b.children[0], MUL)}", ADD
        return f"{left} + {self.wrap(b, ADD + 1)}", ADD

    def _print_neg(self, e):
        return f"-{self.wrap(e.children[0], UNARY)}", UNARY

    def _print_mul(self, e):
        a, b = self.operands(e)
        return f"{self.wrap(a, MUL)} * {self.wrap(b, MUL + 1)}", MUL

    def _print_div(self, e):
        a, b = self.operands(e)
        if reciprocal_of_norm(e):  # 0 where the norm is 0 (its subgradient at 0): x / ∞
            b_text = self.wrap(b, MUL)
            divisor, _ = self.call(self.fn("where"), f"{b_text} == 0", self.fn("inf"), b_text)
            return f"{self.wrap(a, MUL)} / {divisor}", MUL
        return f"{self.wrap(a, MUL)} / {self.wrap(b, MUL + 1)}", MUL

    def _print_pow(self, e):
        (x,), (p,) = e.children, e.params
        if reciprocal_of_norm(e):  # 0 where the norm is 0 (its subgradient at 0): ∞⁻ᵏ
            x_text = self.wrap(x, MUL)
            base, _ = self.call(self.fn("where"), f"{x_text} == 0", self.fn("inf"), x_text)
            if p == -1:
                return f"1 / {base}", MUL
            exponent = str(p.numerator) if isinstance(p, Fraction) and p.denominator == 1 \
                else repr(float(p))
            return f"{base} ** ({exponent})", POW
        if p == Fraction(1, 2):
            return self.call(self.fn("sqrt"), self.array_arg(x))
        if p == -1:
            return f"1 / {self.wrap(x, MUL + 1)}", MUL
        if isinstance(p, Fraction) and p.denominator == 1:
            exponent = str(p.numerator)
        else:
            exponent = repr(float(p))
        if exponent.startswith("-"):
            exponent = f"({exponent})"
        if is_number(x, self.plan.numbers) and not (
                isinstance(p, Fraction) and p.denominator == 1 and abs(p) <= 64):
            # a size is a Python int: a large or fractional power of it is taken in the
            # arrays' floats (inf past their range, as evaluate gives), never as an exact
            # integer of billions of digits
            return f"{self.array_arg(x)} ** {exponent}", POW
        return f"{self.wrap(x, ATOM)} ** {exponent}", POW

    def _print_matmul(self, e):
        a, b = e.children
        text = f"{self.wrap(a, MUL)} @ {self.wrap(b, MUL + 1)}"
        if e.shape == SCALAR:  # a row times a column: a 1×1 array, made 0-d
            return self.to_scalar(text)
        return text, MUL

    def _print_transpose(self, e):
        (x,) = e.children
        if x.shape == SCALAR:
            return self.visit(x)
        return f"{self.wrap(x, ATOM)}.T", ATOM

    def _print_broadcast(self, e):
        """A broadcast written explicitly (elsewhere broadcasting is implicit)."""
        (x,) = e.children
        if x.op == "const" and x.params[0] in (0, 1):
            kind = "zeros" if x.params[0] == 0 else "ones"
            return self.call(self.fn(kind), self.shape(e.shape), *self.creation_kw())
        if x.op == "const" or is_number(x, self.plan.numbers):
            return self.call(self.fn("full"), self.shape(e.shape), self.arg(x),
                             *self.creation_kw())
        return self.call(self.fn("broadcast_to"), self.arg(x), self.shape(e.shape))

    def creation_kw(self) -> list:
        return [f"dtype={self.dtype()}", f"device={self.device()}"]

    # ---- backend hooks ------------------------------------------------------------------
    def as_array(self, text: str) -> str:
        return f"{self.fn('asarray')}({text}, dtype={self.dtype()}, device={self.device()})"

    def to_scalar(self, text: str) -> tuple[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _print_fn(self, e):
        """An elementwise function, spelt as its row in the table says for this backend."""
        name, *order = e.params
        x = e.children[0]
        spelling = table()[name].code[self.backend]
        if spelling == "printer":
            return getattr(self, "fn_" + name)(x)
        args = [*(str(k) for k in order), self.array_arg(x)]  # an order first: ψ⁽ᵏ⁾(x)
        if spelling == "helper":
            return self.call(self.helper(name), *self.helper_args(), *args)
        if "." in spelling:
            return self.call(spelling, *args)
        return self.call(self.fn(spelling), *args)
