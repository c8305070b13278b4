"""Assembling generated source: imports, helpers, the function, its docstring.

`generate` takes outputs already derived (the value and each gradient), lowers them,
schedules them and prints one plain Python function that a person can read and paste
into a project. Variables are the function's arguments, in order of first appearance;
dimension sizes are read from the arguments' shapes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..dims import SCALAR, Dim, DimProduct, named
from ..errors import MatgradError
from ..expr import Expr, walk
from ..structure import of as structure_of
from ..structure import phrase as structure_phrase
from . import backends
from .lower import Lowering
from .schedule import identifier, schedule

MAX_DOC_TEXT = 400


def printer_class(name: str):
    """The printer for a backend name, or a MatgradError listing the backends."""
    return backends.find(name).printer


@dataclass
class Generated:
    """A generated function: its source and what calling it needs."""

    source: str
    name: str
    arguments: list  # variable nodes, in signature order
    size_parameters: list = field(default_factory=list)  # (Dim, keyword), sizes passed in
    grad_names: list = field(default_factory=list)  # variable names, in output order
    sizes_matter: bool = False  # whether a product chain was ordered by size estimates
    value_shape: tuple | None = (1, 1)  # None: a tensor, returned as computed
    buffer_parameters: dict = field(default_factory=dict)  # gradient name -> keyword


def _shape_text(shape) -> str:
    if shape == SCALAR:
        return "scalar"
    return f"{shape[0]} x {shape[1]}"


def short_doc_text(text: str) -> str:
    return text if len(text) <= MAX_DOC_TEXT else text[: MAX_DOC_TEXT - 3] + "..."


def _doc_formula(value: Expr, loss_name: str, definitions: dict) -> list:
    """The docstring's statement of what is computed, with the person's own names."""
    from ..printing.text import to_text
    names = {e: n for n, e in definitions.items() if e is not value}
    head = f"{loss_name} = {short_doc_text(to_text(value, names, unicode=False))}"
    where = [f"    {n} = {short_doc_text(to_text(e, names, unicode=False))}"
             for n, e in definitions.items() if e is not value]
    return [head + (", where" if where else ".")] + where


def read_sizes(arguments: list, plan, used: list) -> tuple[list, list]:
    """(lines reading the sizes the body uses from the first argument that has each,
    the dimensions no argument has: keyword parameters of the function)."""
    lines, pending = [], list(used)
    for v in arguments:
        axes = [(axis, d) for axis, d in enumerate(v.shape) if d in pending]
        if not axes:
            continue
        arg = plan.names[v]
        if len(axes) == 2 and axes[0][1] != axes[1][1]:
            lines.append(f"{plan.dim_names[axes[0][1]]}, {plan.dim_names[axes[1][1]]} = "
                         f"{arg}.shape")
        else:
            axis, d = axes[0]
            lines.append(f"{plan.dim_names[d]} = {arg}.shape[{axis}]")
        for _, d in axes:
            if d in pending:
                pending.remove(d)
    return lines, pending


def generate(value: Expr, grads: list, arguments: list, backend: str = "numpy", *,
             loss_name: str = "L", name: str | None = None, hints: dict | None = None,
             definitions: dict | None = None, sizes: dict | None = None,
             into=()) -> Generated:
    """The source of `name(*arguments) -> (value, {variable name: gradient})`.

    `grads` is a list of (variable, gradient expression); `hints` names intermediates
    (node -> name); `definitions` are the person's own names, shown in the docstring;
    `sizes` estimates dimension sizes for ordering products. `into` names gradients to
    write into arrays the caller passes as keyword arguments `out_<name>` (NumPy only:
    the array API has no `out=`), so that a large gradient reuses the caller's memory.
    """
    cls = printer_class(backend)
    into = list(into)
    grad_shape = {v.params[0]: v.shape for v, _ in grads}
    if into and (not backends.find(backend).out_arrays
                 or not set(into) <= {v.params[0] for v, _ in grads}):
        raise MatgradError("only gradients computed by a numpy-backend function can be "
                           "written into arrays")
    outputs = [value] + [g for _, g in grads]
    lowering = Lowering(cls.native(), sizes)
    lowered, mapping = lowering(outputs)
    hint_names = {mapping[k]: v for k, v in (hints or {}).items() if k in mapping}
    if not isinstance(loss_name, str) or not loss_name.isidentifier():
        # written into the generated docstring, which runs: a name and nothing more
        raise MatgradError(f"the loss name {loss_name!r} is not an identifier")
    loss_id = identifier(loss_name, set())
    out_names = [loss_id] + [f"d{loss_id}_d{v.params[0]}" for v, _ in grads]
    dims = []
    for out in lowered:
        for node in walk(out):
            for s in node.shape + tuple(p for p in node.params if isinstance(p, (Dim, DimProduct))):
                for d in named(s):
                    if d not in dims:
                        dims.append(d)
    plan = schedule(lowered, out_names, arguments, hints=hint_names,
                    needs_named_operand=cls.needs_named_operand, dims=dims,
                    reserved=cls.reserved())
    printer = cls(plan)
    outputs_set = set(lowered)
    # gradients written in place: the caller's arrays, by the name each output is held in
    taken = set(plan.names.values()) | set(plan.dim_names.values()) | set(plan.output_names)
    buffer_of, targets = {}, {}
    for (v, _), returned in zip(grads, plan.returns[1:]):
        if v.params[0] in into:
            buffer_of[v.params[0]] = identifier(f"out_{v.params[0]}", taken)
            targets.setdefault(returned, []).append(buffer_of[v.params[0]])
    body = []
    for target, node in plan.statements:
        bufs = targets.pop(target, [])
        text = printer.statement_into(node, bufs[0]) if bufs else None
        if text is None:
            text = printer.statement(node, output=node in outputs_set)
            if bufs:  # no in-place form: compute, then copy into the array
                body.append(f"{bufs[0]}[...] = {text}")
                text = bufs[0]
        body.append(f"{target} = {text}")
        body += [f"{b}[...] = {target}" for b in bufs[1:]]
    for returned, bufs in targets.items():  # an argument that is itself a gradient
        body += [f"{b}[...] = {returned}" for b in bufs]

    size_lines, size_params = read_sizes(arguments, plan,
                                         [d for d in dims if d in printer.used_dims])

    arg_names = [plan.names[v] for v in arguments]
    ref = next((plan.names[v] for v in arguments if v.shape != SCALAR),
               arg_names[0] if arg_names else None)
    header = printer.namespace_lines(arg_names) if arg_names else printer.default_namespace()
    header += printer.reference_lines(ref)

    fname = identifier(name or (f"{loss_id}_and_gradients" if grads else f"{loss_id}_value"),
                       set(arg_names))
    keywords = [plan.dim_names[d] for d in size_params] + list(buffer_of.values())
    signature = ", ".join(arg_names + (["*"] + keywords if keywords else []))
    formula = _doc_formula(value, loss_id, definitions or {})
    doc = [f"{'The value and gradients of' if grads else 'The value of'} {formula[0]}"]
    doc += formula[1:]
    doc += ["", "Arguments (a vector is an n x 1 column, a scalar a 0-d array):"]
    doc += [f"    {plan.names[v]}: {_shape_text(v.shape)}" + (
        f", {structure_phrase(structure_of(v))}" if structure_of(v) else "")
        for v in arguments]
    doc += [f"    {plan.dim_names[d]}: the size {d} (an int)" for d in size_params]
    doc += [f"    {b}: a NumPy array of {_shape_text(grad_shape[n])} that receives d{loss_id}/d{n}"
            for n, b in buffer_of.items()]
    doc += ["", f"Returns ({loss_id}, grads):", f"    {loss_id}: {_shape_text(value.shape)}"]
    doc += [f'    grads["{v.params[0]}"]: d{loss_id}/d{v.params[0]}, {_shape_text(v.shape)}'
            for v, _ in grads]
    returned = ", ".join(f'"{v.params[0]}": {buffer_of.get(v.params[0], r)}'
                         for (v, _), r in zip(grads, plan.returns[1:]))

    lines = [f"def {fname}({signature}):", '    """' + doc[0]]
    lines += [("    " + d).rstrip() for d in doc[1:]]
    lines += ['    """']
    lines += ["    " + s for s in header + size_lines + body]
    lines += [f"    return {plan.returns[0]}, {{{returned}}}"]
    imports = list(cls.imports) + (["import numpy as np"] if into else [])
    parts = ["\n".join(imports) + "\n"]
    parts += [printer.helper_source(h) for h in printer.used_helpers]
    parts += ["\n".join(lines) + "\n"]
    return Generated("\n\n".join(parts), fname, list(arguments),
                     size_parameters=[(d, plan.dim_names[d]) for d in size_params],
                     grad_names=[v.params[0] for v, _ in grads],
                     sizes_matter=lowering.ordered_chains > 0, value_shape=value.shape,
                     buffer_parameters=buffer_of)
