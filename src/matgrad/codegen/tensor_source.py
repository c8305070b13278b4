"""Generated code for derivatives that exist only in index notation (three or more axes).

A tensor is a sum of terms, each a coefficient times matrix expressions read at indices
and Kronecker deltas (`matgrad.tensor.terms`). The code computes every distinct factor
once with the ordinary pipeline (lower, schedule, print), then one einsum per term:

* a delta against a summed index renames that index (Σ_b δ_ab g_b = g_a), so it costs
  nothing;
* a delta between two free indices makes the term live on a diagonal of the result: the
  term is computed once per class of indices the deltas join (a, not a and b) and added
  into the diagonal of a zero array by integer indexing, so no identity matrix is built;
* an axis that no factor of a term mentions is a broadcast (`value[:, None]`).

With no diagonal anywhere, the result is the plain sum of the terms' einsums.

>>> import matgrad as mg
>>> m, n = mg.dims("m n")
>>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
>>> print(generate_tensor(mg.jacobian(X @ w, X)).source.split("xp = ")[1])
array_api_compat.array_namespace(X, w)
    dtype, device = X.dtype, array_api_compat.device(X)
    m, n = X.shape
    i_m = xp.arange(m, device=device)
    J = xp.zeros((m, m, n), dtype=dtype, device=device)
    J[i_m, i_m, :] += w[:, 0]
    return J, {}
<BLANKLINE>
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..dims import Dim, DimProduct, named
from ..errors import LimitError, MatgradError
from ..expr import Expr, variables, walk
from ..tensor.printing import index_text
from ..tensor.terms import Delta, Factor, Tensor, Term
from .lower import Lowering
from .printer import ATOM, MUL
from .schedule import identifier, is_number, schedule
from .source import Generated, printer_class, read_sizes, short_doc_text

MAX_LINE = 72  # a longer sum is written one term a line
_LETTERS = "ijklmnopqrstuvwxyzabcdefghIJKLMNOPQRSTUVWXYZABCDEFGH"


def is_tensor(obj) -> bool:
    """Whether obj is a derivative that has no matrix form (only its index form)."""
    from ..jacobian import Derivative
    return isinstance(obj, Derivative) and obj.expr is None


# ---- one term, planned ------------------------------------------------------------------


@dataclass
class TermPlan:
    """A term of the tensor as code will compute it.

    `classes[q]` is the q-th class of free indices that deltas join, in the order of the
    tensor's axes; `axis_class[a]` the class of axis a. `operands` are (factor, letters)
    for the einsum, `output` the classes its result has (in order), `scalars` the 1×1
    factors and `sizes` the sizes of summed indices that no factor mentions (each sums a
    constant: a factor size)."""

    coef: object
    axis_class: list
    classes: list
    operands: list = field(default_factory=list)
    letters: dict = field(default_factory=dict)  # class root or summed index -> letter
    output: list = field(default_factory=list)
    scalars: list = field(default_factory=list)
    sizes: list = field(default_factory=list)

    @property
    def diagonal(self) -> bool:
        return len(self.classes) < len(self.axis_class)


def plan_term(term: Term, free: tuple) -> TermPlan:
    """Join the indices each delta equates, and read off the einsum of the term.

    >>> import matgrad as mg
    >>> from matgrad.tensor.terms import fresh
    >>> n = mg.dims("n")[0]
    >>> w = mg.vector("w", n)
    >>> i, k, a = fresh(n), fresh(n), fresh(n)
    >>> p = plan_term(Term(1, (Delta(i, a), Factor(w, a, None), Delta(a, k))), (i, k))
    >>> p.axis_class, p.diagonal, [s for _, s in p.operands]
    ([0, 0], True, ['i'])
    """
    parent: dict = {}

    def root(i):
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for f in term.factors:
        if isinstance(f, Delta):
            a, b = root(f.a), root(f.b)
            if a != b:
                # a free index represents its class, so the class is found from the axes
                if b in free and a not in free:
                    a, b = b, a
                parent[b] = a
    roots = []  # one per class of free indices, in axis order
    axis_class = []
    for i in free:
        r = root(i)
        if r not in roots:
            roots.append(r)
        axis_class.append(roots.index(r))
    p = TermPlan(term.coef, axis_class, roots)
    free_roots = set(roots)
    for r in roots:
        p.letters[r] = _LETTERS[len(p.letters)]
    summed: list = []
    for f in term.factors:
        for i in f.indices:
            r = root(i)
            if r not in free_roots and r not in summed:
                summed.append(r)
    mentioned: set = set()
    for f in term.factors:
        if isinstance(f, Delta):
            continue
        if f.rows is None and f.cols is None:
            p.scalars.append(f.expr)
            continue
        spec = ""
        for i in f.indices:
            r = root(i)
            if r not in p.letters:
                if len(p.letters) >= len(_LETTERS):
                    raise LimitError("a term has too many indices to compile")
                p.letters[r] = _LETTERS[len(p.letters)]
            spec += p.letters[r]
            mentioned.add(r)
        p.operands.append((f, spec))
    p.sizes = [r.size for r in summed if r not in mentioned]
    p.output = [q for q, r in enumerate(roots) if r in mentioned]
    return p


# ---- printing ---------------------------------------------------------------------------


class TensorCode:
    """Backend spellings of the few operations the tensor code adds to a printer's."""

    def __init__(self, printer, backend: str):
        self.printer, self.backend = printer, backend
        self.ns = printer.ns

    def einsum(self, spec: str, operands: list) -> str:
        ns = "np" if self.backend == "numpy" else self.ns
        extra = ", optimize=True" if self.backend == "numpy" else ""
        return f'{ns}.einsum("{spec}", {", ".join(operands)}{extra})'

    def zeros(self, shape_text: str) -> str:
        return f"{self.ns}.zeros({shape_text}, {', '.join(self.printer.creation_kw())})"

    def arange(self, size_text: str) -> str:
        if self.backend == "jax":
            return f"jnp.arange({size_text})"
        return f"{self.ns}.arange({size_text}, device={self.printer.device()})"

    def add(self, target: str, index: str | None, value: str) -> str:
        """target (or target[index]) += value, as a statement."""
        if self.backend == "jax":
            if index is None:
                return f"{target} = {target} + {value}"
            return f"{target} = {target}.at[{index}].add({value})"
        return f"{target}{'' if index is None else f'[{index}]'} += {value}"


def _operand_text(name: str, f: Factor) -> str:
    if f.rows is None:
        return f"{name}[0, :]"
    if f.cols is None:
        return f"{name}[:, 0]"
    return name


def _value_text(p: TermPlan, names: dict, code: TensorCode) -> tuple[str, int] | None:
    """(the einsum part of a term, precedence), with the term's own axes in class order;
    None where the term has no indexed factor."""
    if not p.operands:
        return None
    out = "".join(p.letters[p.classes[q]] for q in p.output)
    texts = [_operand_text(names[f.expr], f) for f, _ in p.operands]
    specs = [s for _, s in p.operands]
    if all(s == out and len(set(s)) == len(s) for s in specs):
        return " * ".join(texts), (ATOM if len(texts) == 1 else MUL)
    if len(specs) == 1 and len(out) == 2 and specs[0] == out[::-1]:
        text = texts[0]
        return (f"{text}.T" if text.isidentifier() else f"({text}).T"), ATOM
    return code.einsum(",".join(specs) + "->" + out, texts), ATOM


def _expanded(text: str, prec: int, p: TermPlan) -> tuple[str, int]:
    """The value with an axis of length 1 where a class is a broadcast."""
    n = len(p.classes)
    if not p.output:
        return text, prec
    # broadcasting adds leading axes by itself: only an inner missing axis is written
    key = [":" if q in p.output else "None" for q in range(p.output[0], n)]
    while key and key[-1] == ":":
        key.pop()
    if not key:
        return text, prec
    return f"{text if prec >= ATOM else f'({text})'}[{', '.join(key)}]", ATOM


def _term_text(p: TermPlan, printer, names: dict, value) -> tuple[str, bool]:
    """(the term without its sign, whether it is subtracted): coefficient, 1×1 factors,
    sizes of constant sums and the einsum part, multiplied."""
    coef = p.coef
    negative = coef < 0
    parts = []
    if abs(coef) != 1:
        text, prec = printer.number(abs(coef) if isinstance(coef, Fraction)
                                    else float(abs(coef)))
        parts.append(text)
    parts += [names[s] for s in p.scalars]
    parts += [printer.size(size) for size in p.sizes]
    if value is not None:
        text, prec = value
        parts.append(text if prec >= MUL else f"({text})")
    return " * ".join(parts) or "1", negative


def _index_text(p: TermPlan, arange, free: tuple) -> str:
    """The integer index of the diagonal a term lives on: the same arange for every axis
    of a class of joined indices. Axes after the last joined one are plain slices; the
    index arrays before them broadcast against each other in class order (they are
    adjacent, so the indexed view has their broadcast axes first, then the sliced ones,
    which is the order of the term's value)."""
    joined = [q for q in range(len(p.classes)) if p.axis_class.count(q) > 1]
    last = max(a for a, q in enumerate(p.axis_class) if q in joined)
    lead = len(set(p.axis_class[:last + 1]))
    parts = []
    for axis, q in enumerate(p.axis_class):
        if axis > last:
            parts.append(":")
            continue
        name = arange(free[axis].size)
        parts.append(name if lead == 1 else
                     name + "[" + ", ".join(":" if k == q else "None" for k in range(lead)) + "]")
    return ", ".join(parts)


def generate_tensor(J, backend: str = "numpy", *, name: str | None = None,
                    sizes: dict | None = None, loss_name: str | None = None) -> Generated:
    """The source of `name(*arguments) -> (full array, {})` for a derivative J that has
    only an index form. The arguments are the variables of the function differentiated
    (then any other variable J needs); the array has one axis per index of J, as
    `matgrad.evaluate(J, values)` gives it."""
    for given in (J.name, loss_name):  # written into the docstring, which runs: names only
        if given is not None and not (isinstance(given, str) and given.isidentifier()):
            raise MatgradError(f"the name {given!r} is not an identifier")
    cls = printer_class(backend)
    t: Tensor = J.tensor
    exprs: list = []
    for term in t.terms:
        for f in term.factors:
            if isinstance(f, Factor) and f.expr not in exprs:
                exprs.append(f.expr)
    args = list(variables(J.of))
    for v in list(J.wrts) + [u for e in exprs for u in variables(e)]:
        if v not in args:
            args.append(v)
    # the factors, computed once by the ordinary pipeline; 1×1 factors built from
    # dimensions and constants stay Python numbers, written inline
    memo: dict = {}
    numbers = [e for e in exprs if is_number(e, memo)]
    arrays = [e for e in exprs if e not in numbers]
    lowering = Lowering(cls.native(), sizes)
    lowered, _ = lowering(arrays + numbers)
    low_arrays, low_numbers = lowered[:len(arrays)], lowered[len(arrays):]
    dims: list = []
    for d in [d for out in lowered for node in walk(out)
              for s in node.shape + tuple(q for q in node.params if isinstance(q, (Dim, DimProduct)))
              for d in named(s)] + [d for s in t.shape for d in named(s)]:
        if d not in dims:
            dims.append(d)
    plan = schedule(low_arrays, [f"f{k + 1}" for k in range(len(low_arrays))], args,
                    needs_named_operand=cls.needs_named_operand, dims=dims,
                    reserved=cls.reserved())
    printer = cls(plan)
    code = TensorCode(printer, backend)
    taken = set(plan.names.values()) | set(plan.dim_names.values()) | set(plan.output_names)
    result = identifier(loss_name or _default_name(J), taken)
    outputs = set(low_arrays)
    body = [f"{target} = {printer.statement(node, output=node in outputs)}"
            for target, node in plan.statements]
    names = {e: plan.returns[k] for k, e in enumerate(arrays)}
    names.update({e: printer.wrap(lo, MUL + 1) for e, lo in zip(numbers, low_numbers)})
    ranges, sums = _accumulate(t, [plan_term(term, t.free) for term in t.terms], names,
                               printer, code, result, taken)

    size_lines, size_params = read_sizes(args, plan, [d for d in dims if d in printer.used_dims])
    arg_names = [plan.names[v] for v in args]
    ref = next((plan.names[v] for v in args if v.shape != (1, 1)),
               arg_names[0] if arg_names else None)
    header = printer.namespace_lines(arg_names) if arg_names else printer.default_namespace()
    header += printer.reference_lines(ref)
    fname = identifier(name or f"{result}_value", set(arg_names))
    keywords = [plan.dim_names[d] for d in size_params]
    signature = ", ".join(arg_names + (["*"] + keywords if keywords else []))
    axes = " x ".join(str(s) for s in t.shape) or "a 0-d array"
    doc = [f"The {_order_words(len(t.free))} {result} = {J.label(unicode=False)}:",
           f"    {short_doc_text(index_text(t, unicode=False))}",
           "", "Arguments (a vector is an n x 1 column, a scalar a 0-d array):"]
    doc += [f"    {plan.names[v]}: {_shape(v.shape)}" for v in args]
    doc += [f"    {plan.dim_names[d]}: the size {d} (an int)" for d in size_params]
    doc += ["", f"Returns ({result}, {{}}): {result} has shape {axes}."]
    lines = [f"def {fname}({signature}):", '    """' + doc[0]]
    lines += [("    " + d).rstrip() for d in doc[1:]]
    lines += ['    """']
    lines += ["    " + s for s in header + size_lines + body + ranges + sums]
    lines += [f"    return {result}, {{}}"]
    imports = list(cls.imports) + (["import numpy as np"] if backend == "numpy" else [])
    parts = ["\n".join(imports) + "\n"]
    parts += [printer.helper_source(h) for h in printer.used_helpers]
    parts += ["\n".join(lines) + "\n"]
    return Generated("\n\n".join(parts), fname, list(args),
                     size_parameters=[(d, plan.dim_names[d]) for d in size_params],
                     grad_names=[], sizes_matter=lowering.ordered_chains > 0,
                     value_shape=None)


def _accumulate(t: Tensor, plans: list, names: dict, printer, code: TensorCode,
                result: str, taken: set) -> tuple[list, list]:
    """(lines defining the aranges that index diagonals, statements summing the terms
    into `result`)."""
    terms = []
    for p in plans:
        value = _value_text(p, names, code)
        if value is not None:
            value = _expanded(*value, p)
        text, negative = _term_text(p, printer, names, value)
        # an array with every axis of the result: it can start the sum
        full = not p.diagonal and (value is not None or bool(p.scalars)) and \
            len(p.output) == len(p.classes)
        terms.append((p, text, negative, full))
    if all(not p.diagonal for p, *_ in terms) and any(full for *_, full in terms):
        ordered = sorted(terms, key=lambda x: not x[3])  # a full term first
        return [], [f"{result} = {_sum_text([(text, neg) for _, text, neg, _ in ordered])}"]
    shape = ", ".join(printer.size(d) for d in t.shape) + ("," if len(t.shape) == 1 else "")
    lines = [f"{result} = {code.zeros(f'({shape})')}"]
    ranges: dict = {}
    range_lines: list = []

    def arange(d):
        if d not in ranges:
            ranges[d] = identifier(f"i_{printer.size(d)}", taken)
            range_lines.append(f"{ranges[d]} = {code.arange(printer.size(d))}")
        return ranges[d]

    # terms on the same diagonal (or on none) are summed first, then added in once
    groups: dict = {}
    for p, text, negative, _ in terms:
        key = _index_text(p, arange, t.free) if p.diagonal else None
        groups.setdefault(key, []).append((text, negative))
    for key, parts in groups.items():
        lines.append(code.add(result, key, _sum_text(parts)))
    return range_lines, lines


def _sum_text(parts: list) -> str:
    """t1 + t2 - t3 from (text, negative) pairs; one term a line where the sum is long."""
    pieces = [("-" if parts[0][1] else "") + parts[0][0]]
    pieces += [f"{'-' if neg else '+'} {text}" for text, neg in parts[1:]]
    if len(pieces) == 1:
        return pieces[0]
    joined = " ".join(pieces)
    if len(joined) <= MAX_LINE:
        return joined
    return "(" + "\n        ".join(pieces) + ")"


def _default_name(J) -> str:
    if J.name:
        return J.name
    return {"jacobian": "J", "hessian": "H"}.get(J.kind, "D")


def _order_words(n: int) -> str:
    return {0: "scalar", 1: "vector", 2: "matrix"}.get(n, f"{n}-axis tensor")


def _shape(shape) -> str:
    return "scalar" if shape == (1, 1) else f"{shape[0]} x {shape[1]}"


def check_tensor_request(wrt, into) -> None:
    """A tensor is compiled for its value alone."""
    if wrt is not None and (isinstance(wrt, (str, Expr)) or len(list(wrt)) > 0):
        raise MatgradError("a derivative with more than two axes is compiled for its value "
                           "alone; leave out wrt (or pass wrt=[])")
    if into:
        raise MatgradError("a tensor-valued derivative cannot be written into out= arrays")
