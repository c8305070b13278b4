r"""Notebook display: expressions, reports, derivations, tensors and verdicts as HTML with
MathML, so that a notebook shows mathematics, and its HTML export reads offline, with no
MathJax and no network.

Jupyter asks an object for every representation it has and the front end shows the one
it ranks highest. Each object here offers

* text/html, built in this module: MathML made from the LaTeX printers' output (through
  `printing.mathml`, which rebuilds it through a whitelist) laid out in small tables,
  with one ``<style>`` scoped by the class ``matgrad``. No script, no remote resource, no
  fixed colour or background: text takes the colour of its surroundings, so light and
  dark themes both read. JupyterLab, Notebook, VS Code and nbconvert's HTML export rank
  text/html above the others, so this is what they show;
* text/latex (`_repr_latex_`), for nbconvert's LaTeX and PDF export and for front ends
  that prefer LaTeX; a report, a derivation and a verdict also keep their text/markdown;
* text/plain, the Unicode text that ``print`` gives (`_repr_pretty_`), rather than a
  dataclass's field dump.

Every piece of text is escaped; names and claims come from users. Prose that mixes words
and formulas (rule notes, verdicts) is written as HTML text with inline MathML for the
formulas, so that long lines wrap.

>>> import matgrad as mg
>>> expr_html(mg.vector("x", 3).T @ mg.vector("x", 3))  # doctest: +ELLIPSIS
'<div class="matgrad matgrad-expr tex2jax_ignore"><style>...</style><math display="block">...'
"""
from __future__ import annotations

import html
import re
from dataclasses import replace

import numpy as np

from .printing.mathml import split_aligned, text_segments, to_mathml

# One stylesheet for every object, scoped by the class it sets. MathJax in the live front
# ends is told to leave the content alone (tex2jax_ignore), since the mathematics is
# MathML already. Failures and passes take the theme's colours where there are any.
STYLE = """<style>
.matgrad{color:inherit;background:none;line-height:1.5;margin:.25em 0;overflow-x:auto}
.matgrad math{font-size:1.1em}
.matgrad math[display="block"]{margin:.25em 0;width:fit-content}
div.matgrad p{margin:.3em 0;text-align:left}
.matgrad .mg-table{border-collapse:collapse;border:0;margin:.2em 0;font-size:inherit;
  color:inherit;table-layout:auto;width:auto}
.matgrad .mg-table tbody tr{background:none}
.matgrad .mg-table td,.matgrad .mg-table th{padding:.15em .5em;border:0;text-align:left;
  vertical-align:baseline;color:inherit;white-space:normal;line-height:1.5}
.matgrad .mg-table th{font-weight:600}
.matgrad .mg-table td.lhs{text-align:right;padding-right:.2em;white-space:nowrap}
.matgrad .mg-table td.rhs{padding-left:0}
.matgrad .mg-table th.kind{font-weight:normal;opacity:.75;text-align:right;white-space:nowrap}
.matgrad .mg-table tr.group th{padding-top:.5em;font-weight:normal;font-style:italic;opacity:.8}
.matgrad .mg-table td.note,.matgrad .mg-table td.rule,.matgrad .note{opacity:.8}
.matgrad .mg-table tr.fails td{border-left:3px solid currentColor}
.matgrad .status{opacity:.85}
.matgrad .fails,.matgrad .bad{color:var(--jp-error-color1,#d9534f)}
.matgrad .good{color:var(--jp-success-color1,#3a9a4a)}
.matgrad .verdict{font-weight:600}
.matgrad .indent{margin-left:2em}
div.matgrad p.indent{margin-left:2em}
.matgrad .counterexample{display:flex;flex-wrap:wrap;gap:.3em 1.5em;align-items:center;
  margin:.3em 0 .3em 2em}
.matgrad .value{display:inline-flex;align-items:center;gap:.4em}
.matgrad .bracket{position:relative;display:inline-block;padding:0 .35em;vertical-align:middle}
.matgrad .bracket::before,.matgrad .bracket::after{content:"";position:absolute;top:0;bottom:0;
  width:.3em;border:1px solid currentColor}
.matgrad .bracket::before{left:0;border-right:0}
.matgrad .bracket::after{right:0;border-left:0}
.matgrad .mg-table.array{margin:0}
.matgrad .mg-table.array td{padding:0 .35em;text-align:right;line-height:1.3;
  font-variant-numeric:tabular-nums}
</style>"""

# An array in a counterexample shows at most this many rows and columns.
SHOWN_ENTRIES = 8


# ---- the five kinds of object ---------------------------------------------------------


def expr_html(e) -> str:
    """An expression as displayed MathML."""
    from .printing.latex import to_latex
    return _wrap("expr", to_mathml(to_latex(e), "block"))


def report_html(r) -> str:
    """The loss, the named intermediates and the gradients, one a row with its shape;
    then the numeric check, if it was run."""
    rows = [(_sides(*cells), line[2]) for cells, line in
            zip(_aligned_rows(r.to_latex()), r.lines())]
    n = len(r.intermediates)
    body = [_row(*rows[0])]
    if n:
        body.append(_group("where", 3))
        body.extend(_row(*row) for row in rows[1:1 + n])
    body.append(_group("gradients", 3))
    body.extend(_row(*row) for row in rows[1 + n:])
    out = f'<table class="mg-table report"><tbody>{"".join(body)}</tbody></table>'
    if r.check is not None:
        out += _status(str(r.check), "good" if r.check.ok else "bad")
    return _wrap("report", out)


def derivation_html(d) -> str:
    """The named intermediates, then a table of steps, each with the rule that justifies
    it, then whether every line was checked numerically (checked first, as in
    `Derivation._repr_markdown_`)."""
    from .printing.symbols import latex_name
    from .steps import LATEX_ELLIPSIS, LATEX_FAILED_MARK
    if d.line_errors is None and not d.unchecked:
        d.checked()
    title = (rf"\frac{{\partial {latex_name(d.loss_name)}}}"
             rf"{{\partial {latex_name(d.x.params[0])}}}")
    out = [f'<p class="title">derivation of {_display(title)}</p>']
    # as in the text: a cotangent (with a note) is defined by the step that names it
    where = [to_mathml(" ".join(row)) for a, row in zip(d.atoms, _aligned_rows(d.to_latex()))
             if not a.note]
    if where:
        out.append(f'<p class="where">where {", ".join(where)}</p>')
    rows = []
    for lhs, rhs, rule in d._latex_rows():
        if rhs == LATEX_ELLIPSIS:  # the steps left out of a long derivation
            kind, right = "omitted", rhs
        else:
            kind = "step fails" if rule.startswith(LATEX_FAILED_MARK) else "step"
            right = "= " + rhs
        rows.append(f'<tr class="{kind}">{_sides(lhs, right)}'
                    f'<td class="rule">{_mixed(rule)}</td></tr>')
    out.append('<table class="mg-table steps"><thead><tr><th colspan="2">step</th><th>rule</th>'
               f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    status = d._status_line().strip()
    if status:
        kind = "bad" if d.failing else ("good" if d.line_errors is not None else "")
        out.append(_status(status, kind))
    return _wrap("derivation", "".join(out))


def derivative_html(d) -> str:
    """A Jacobian, Hessian or higher derivative: its name and shape, then its matrix form,
    index notation and Kronecker form, each where there is one, and what its name
    stands for."""
    from .tensor_report import latex_forms
    label = d.label()
    what = d.describe().splitlines()[0][len(label):].strip()  # "(n×n matrix, symmetric)"
    # A long function is called by a short name (L, F), defined on a row of its own.
    shown = d
    if not d.name and d._of_name(True) != d._of_text(True):
        shown = replace(d, name=d._of_name(True))
    forms = latex_forms(shown)
    forms = [f for f in forms if f[0] != "definition"] + \
        [f for f in forms if f[0] == "definition"]
    body = "".join(f'<tr class="{form}"><th class="kind">{_FORM_NAMES[form]}</th>'
                   f'{_sides(lhs, "= " + rhs)}</tr>' for form, lhs, rhs in forms)
    out = (f'<p class="heading">{_prose(label)} <span class="note">{_prose(what)}</span>'
           f'</p><table class="mg-table derivative"><tbody>{body}</tbody></table>')
    return _wrap("derivative", out)


_FORM_NAMES = {"definition": "where", "matrix": "matrix form", "index": "index notation",
               "vec": "vec form"}


def check_html(c) -> str:
    """A verdict on a claimed gradient: the verdict, then the explanation line by line,
    words as text and formulas as MathML; the steps of a derivation quoted in it as a
    table, and a counterexample's arrays as small tables."""
    word = c.verdict.replace("-", " ")
    mark = {"correct": "✓", "undetermined": "?"}.get(c.verdict, "✗")
    kind = {"correct": "good", "undetermined": ""}.get(c.verdict, "bad")
    lines = c.message.splitlines()
    if lines and lines[0].startswith(word + ":"):
        lines[0] = lines[0][len(word) + 1:].strip()
    ce_lines, ce_html = _counterexample(c)
    out = [f'<p class="verdict {kind}">{mark} {html.escape(word)}</p>']
    steps: list = []  # consecutive lines of a quoted derivation, "lhs = rhs   (rule)"
    i = 0
    while i < len(lines):
        line = lines[i]
        step = _TEXT_STEP.match(line)
        if step:
            steps.append(step)
            i += 1
            continue
        if steps:
            out.append(_text_steps(steps))
            steps = []
        if ce_lines and lines[i:i + len(ce_lines)] == ce_lines:
            out.append(ce_html)
            i += len(ce_lines)
            continue
        cls = ' class="indent"' if line.startswith(" ") else ""
        out.append(f"<p{cls}>{_prose(line.strip())}</p>")
        i += 1
    if steps:
        out.append(_text_steps(steps))
    return _wrap("check", "".join(out))


# A step of a derivation as its text form prints it: an equation, three or more spaces,
# and the rule in parentheses.
_TEXT_STEP = re.compile(r"^ +(?:(?P<lhs>\S.*?) )?= (?P<rhs>\S.*?) {3,}\((?P<rule>.*)\)$")


def _text_steps(steps: list) -> str:
    rows = "".join(
        f'<tr class="step">{_sides(_prose_math(m["lhs"] or ""), "= " + _prose_math(m["rhs"]))}'
        f'<td class="rule">{_prose(m["rule"])}</td></tr>' for m in steps)
    return f'<table class="mg-table steps indent"><tbody>{rows}</tbody></table>'


def _prose_math(text: str) -> str:
    from .printing.prose import prose_latex
    return prose_latex(text) if text else ""


# ---- pieces ------------------------------------------------------------------------------


def _wrap(kind: str, body: str) -> str:
    return f'<div class="matgrad matgrad-{kind} tex2jax_ignore">{STYLE}{body}</div>'


def _aligned_rows(latex: str) -> list:
    """The rows of an alignment environment, each a list of cells."""
    return split_aligned(latex) or []


def _split_row(row: str) -> list:
    """The cells of one row of an alignment ('lhs &= rhs')."""
    return _aligned_rows(r"\begin{aligned}" + row + r"\end{aligned}")[0]


def _sides(left: str, *right: str) -> str:
    """The cells of an equation: its left side, and the rest ('= ...') beside it."""
    rest = " ".join(right)
    return (f'<td class="lhs">{_display(left) if left.strip() else ""}</td>'
            f'<td class="rhs">{_display(rest) if rest.strip() else ""}</td>')


def _display(latex: str) -> str:
    """Inline MathML set in display style (full-size fractions, limits below sums)."""
    out = to_mathml(r"\displaystyle " + latex)
    return out if out.startswith("<math") else to_mathml(latex)


def _row(sides: str, note: str) -> str:
    return f'<tr>{sides}<td class="note">{_prose(note)}</td></tr>'


def _group(title: str, span: int) -> str:
    return f'<tr class="group"><th colspan="{span}">{html.escape(title)}</th></tr>'


def _status(text: str, kind: str) -> str:
    cls = f"status {kind}".strip()
    return f'<p class="{cls}">{html.escape(text)}</p>'


def _prose(text: str) -> str:
    """Text with Unicode mathematics (a rule note, a line of a verdict) as HTML."""
    from .printing.prose import prose_latex
    return _mixed(prose_latex(text))


def _mixed(latex: str) -> str:
    r"""LaTeX whose top-level ``\text{...}`` groups become HTML text and whose formulas
    become inline MathML, so that a browser can wrap the line between them.

    >>> _mixed(r"\text{so }x^{2}\text{ is <b>}")  # doctest: +ELLIPSIS
    'so <math display="inline">...<mi>x</mi>...</math> is &lt;b&gt;'
    """
    from .printing.prose import text_unescape
    out = []
    for is_text, piece in text_segments(latex):
        if is_text:
            out.append(html.escape(text_unescape(piece), quote=False))
        elif piece.replace("\\ ", " ").strip():
            out.append(to_mathml(piece))
        elif piece:
            out.append(" ")
    return "".join(out)


def _counterexample(c) -> tuple[list, str]:
    """(the lines of the message that state the counterexample, its HTML): the sizes, the
    point and the direction as tables, then the two directional derivatives."""
    ce = c.counterexample
    if ce is None:
        return [], ""
    for x in ce.point:
        described = ("Counterexample: " + ce.describe(x) + ".").splitlines()
        if all(line in c.message.splitlines() for line in described):
            break
    else:
        return [], ""
    sizes = ", ".join(f"{d} = {v}" for d, v in ce.sizes.items())
    items = [f'<span class="value">{_prose(sizes)}</span>'] if sizes else []
    items += [_value(name, a) for name, a in ce.point.items()]
    along = _value(f"d{x}", ce.direction)
    rest = "".join(f'<p class="indent">{_prose(line.strip())}</p>' for line in described[2:])
    out = (f'<p>Counterexample: at</p><div class="counterexample">{"".join(items)}</div>'
           f'<p class="indent">along</p><div class="counterexample">{along}</div>{rest}')
    return described, out


def _value(name: str, a) -> str:
    """name = the array, as a small table (a number as itself)."""
    a = np.asarray(a, dtype=float)
    label = _prose(f"{name} =")
    if a.size == 1:
        return f'<span class="value">{label} {_prose(_number(a.reshape(-1)[0]))}</span>'
    return f'<span class="value">{label} {_array_table(a)}</span>'


def _array_table(a: np.ndarray) -> str:
    """A matrix (a vector as a column) as a bracketed table, at most SHOWN_ENTRIES rows
    and columns (the middle ones elided)."""
    a = a.reshape(a.shape[0], -1) if a.ndim != 1 else a.reshape(-1, 1)
    rows = _shown(a.shape[0])
    cols = _shown(a.shape[1])
    body = []
    for i in rows:
        if i is None:
            body.append("<tr>" + "".join("<td>⋮</td>" for _ in cols) + "</tr>")
            continue
        cells = ("<td>⋯</td>" if j is None else f"<td>{html.escape(_number(a[i, j]))}</td>"
                 for j in cols)
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<span class="bracket"><table class="mg-table array"><tbody>{"".join(body)}</tbody>'
            '</table></span>')


def _shown(n: int) -> list:
    """Indices to show of n (None where the middle is left out)."""
    if n <= SHOWN_ENTRIES:
        return list(range(n))
    half = SHOWN_ENTRIES // 2
    return list(range(half)) + [None] + list(range(n - half + 1, n))


def _number(v: float) -> str:
    return f"{float(v):.3g}".replace("-", "−")
