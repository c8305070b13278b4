"""Notebook display: the HTML (with MathML) of expressions, reports, derivations, tensors
and verdicts is well-formed, self-contained, escapes what users write, and shows the
mathematics the library derives.

The HTML is parsed as XML (every element closed, every attribute quoted, every text
escaped), and the mathematics in it is compared with the LaTeX printers' output converted
by `to_mathml`, by the text its MathML shows.
"""
from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import matgrad as mg
from matgrad import display
from matgrad.example import program
from matgrad.printing.latex import to_latex
from matgrad.printing.mathml import split_aligned, to_mathml
from matgrad.tensor_report import latex_forms

from .strategies import expressions

HOSTILE = '<script>alert("x")</script>&amp;'
PROPERTY = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ---- helpers --------------------------------------------------------------------------------


def parse(html: str) -> ET.Element:
    """The HTML as an element tree; fails unless it is well-formed."""
    return ET.fromstring(html)


def classes(el) -> set:
    return set((el.get("class") or "").split())


def find(root, tag: str, cls: str | None = None) -> list:
    return [el for el in root.iter(tag) if cls is None or cls in classes(el)]


def text(el) -> str:
    """The characters an element shows, without spaces (MathML carries none)."""
    return re.sub(r"\s+", "", "".join(el.itertext()))


def words(root) -> str:
    """The text outside MathML (and outside the style sheet and arrays of numbers)."""
    out = []

    def visit(el):
        if el.tag in ("math", "style") or "array" in classes(el):
            return
        out.append(el.text or "")
        for child in el:
            visit(child)
            out.append(child.tail or "")
    visit(root)
    return "".join(out)


def math_text(latex: str) -> str:
    """What the MathML of some LaTeX shows."""
    return text(parse(to_mathml(latex)))


def assert_self_contained(html: str) -> ET.Element:
    """Well-formed, one root, MathML inside, no script, no remote resource, styles scoped
    and free of fixed colours (so that light and dark themes both read)."""
    root = parse(html)
    assert "matgrad" in classes(root)
    assert find(root, "math"), "no MathML"
    tags = {el.tag for el in root.iter()}
    assert not tags & {"script", "iframe", "img", "link", "object", "embed"}, tags
    for el in root.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert name.lower() not in ("src", "href", "style"), (el.tag, name)
    style = find(root, "style")
    assert len(style) == 1
    css = style[0].text
    assert "url(" not in css and "@import" not in css
    for rule in re.findall(r"([^{}]+)\{", css):
        for selector in rule.split(","):
            assert selector.strip().startswith((".matgrad", "div.matgrad")), selector
    for decl in re.findall(r"(?:^|[;{])\s*(color|background[-a-z]*)\s*:\s*([^;}]+)", css):
        prop, value = decl
        assert value.strip() in ("inherit", "none", "currentColor") or \
            value.strip().startswith("var(--jp-"), (prop, value)
    return root


def example():
    p = program()
    return p.result, p.definitions


# ---- expressions ----------------------------------------------------------------------------


def test_an_expression_shows_the_latex_printers_mathematics():
    L, _ = example()
    html = L._repr_html_()
    root = assert_self_contained(html)
    (math,) = find(root, "math")
    assert math.get("display") == "block"
    assert ET.tostring(math, encoding="unicode") == ET.tostring(
        parse(to_mathml(to_latex(L), "block")), encoding="unicode")
    assert html == display.expr_html(L)


@PROPERTY
@given(expressions())
def test_every_expression_and_its_gradients_display_as_mathml(case):
    for e in [case.expr, *mg.gradients(case.expr, case.variables)]:
        root = assert_self_contained(e._repr_html_())
        assert text(root.find("math")) == math_text(to_latex(e)), case.text


# ---- reports --------------------------------------------------------------------------------


def test_a_report_shows_loss_intermediates_gradients_and_shapes():
    L, defs = example()
    r = mg.report(L, ["w", "b", "X"], definitions=defs)
    root = assert_self_contained(r._repr_html_())
    rows = [tr for tr in find(root, "tr") if "group" not in classes(tr)]
    assert len(rows) == 1 + len(r.intermediates) + len(r.gradients)
    assert [text(th) for th in find(root, "th")] == ["where", "gradients"]
    cells = split_aligned(r.to_latex())
    for tr, (lhs, rhs), (_, _, shape) in zip(rows, cells, r.lines()):
        left, right, note = tr.findall("td")
        assert text(left) == math_text(lhs)
        assert text(right) == math_text(rhs)
        assert text(note) == re.sub(r"\s+", "", shape)
    # the gradients are the library's, in terms of the named intermediates
    for tr, g in zip(rows[-3:], r.gradients):
        assert text(tr.findall("td")[1]) == math_text("= " + to_latex(g, r.names))
    assert not find(root, "p", "status")


def _inverse_chain(depth):
    (n,) = mg.dims("n")
    A = mg.matrix("A", n, n)
    E = A
    for _ in range(depth):
        E = mg.inv(E + A)
    return mg.trace(E), A


def test_a_report_of_a_deep_result_grows_linearly_and_aligns_its_short_rows():
    """The inverse chain's gradient: its shared subexpressions are named, so the report
    has a few short rows a level; only rows up to ALIGN_WIDTH wide are padded to line up
    their shapes, so the text grows with the depth (not its square)."""
    from matgrad.report import ALIGN_WIDTH, display_width
    lengths = []
    for depth in (40, 80, 160):
        r = mg.report(*_inverse_chain(depth))
        text = r.to_text()
        lengths.append(len(text))
        lines = [line for line in text.splitlines() if " = " in line]
        short = [line for line in lines if display_width(line.split(" = ", 1)[1]
                                                          .rsplit("   (", 1)[0]) <= ALIGN_WIDTH]
        assert len({display_width(line.rsplit("   (", 1)[0]) for line in short}) == 1
        assert any(len(line) > ALIGN_WIDTH + 20 for line in lines)  # the loss is long
        assert all(not line.rsplit("   (", 1)[0].endswith(" ") for line in lines
                   if line not in short)
    assert lengths[2] / lengths[1] < 2.3 and lengths[1] / lengths[0] < 2.3, lengths


def test_a_checked_report_says_so():
    L, defs = example()
    r = mg.report(L, ["w", "X"], definitions=defs)
    r.run_check()
    root = assert_self_contained(r._repr_html_())
    (status,) = find(root, "p", "status")
    assert "".join(status.itertext()) == str(r.check)
    assert "good" in classes(status)


# ---- derivations ----------------------------------------------------------------------------


def step_rows(root) -> list:
    return find(root, "tr", "step")


@pytest.mark.parametrize("x", ["w", "b", "X"])
def test_a_derivation_is_a_table_of_steps_with_their_rules(x):
    L, defs = example()
    d = mg.derive(L, x, definitions=defs)
    root = assert_self_contained(d._repr_html_())
    rows = step_rows(root)
    assert len(rows) == len(d.steps)
    latex = split_aligned(d.to_latex())[len(d.atoms):]
    for tr, cells in zip(rows, latex):
        lhs, rhs, rule = tr.findall("td")
        assert text(lhs) == (math_text(cells[0]) if cells[0] else "")
        assert text(rhs) == math_text(cells[1])
        assert find(rule, "math"), "a rule is shown as mathematics"
        assert "fails" not in classes(tr)
    # the last line reads ∂L/∂x = the gradient, as the derivation writes it
    assert text(rows[-1].findall("td")[1]) == math_text(
        "= " + split_aligned(d.to_latex())[-1][1].removeprefix("=").strip())
    # checked before it is shown, and the status line says so
    (status,) = find(root, "p", "status")
    assert d.line_errors is not None and d.failing == []
    assert "".join(status.itertext()) == d.to_text().splitlines()[-1].strip()
    assert "good" in classes(status)


def test_a_rule_is_words_and_mathematics_not_a_token_a_line():
    L, defs = example()
    d = mg.derive(L, "w", definitions=defs)
    rows = step_rows(parse(d._repr_html_()))
    rule = rows[0].findall("td")[2]
    words = "".join(t for t in [rule.text or ""] + [m.tail or "" for m in rule])
    assert "differential of a squared norm" in words
    # each formula of a rule is one MathML element, not one per symbol
    for tr in rows:
        for math in tr.findall("td")[2].iter("math"):
            assert len(text(math)) >= 1
    assert max(len(tr.findall("td")[2].findall("math")) for tr in rows) <= 4


def test_a_failing_line_is_marked():
    L, defs = example()
    d = mg.derive(L, "w", definitions=defs)
    i = next(i for i, s in enumerate(d.steps) if s.kind == "differential" and i > 1)
    g, dz = d.steps[i].terms[0]
    d.steps[i].terms[0] = [mg.const(1.001) * g, dz]
    d.checked()
    root = assert_self_contained(d._repr_html_())
    rows = step_rows(root)
    assert [n for n, tr in enumerate(rows) if "fails" in classes(tr)] == d.failing == [i]
    (status,) = find(root, "p", "status")
    assert "bad" in classes(status) and "DOES NOT HOLD" in "".join(status.itertext())


def test_a_derivation_that_could_not_be_checked_says_why():
    A = mg.matrix("A", 3, 3)
    d = mg.derive(mg.logdet(A - A), A)  # singular everywhere: no point to check at
    root = assert_self_contained(d._repr_html_())
    (status,) = find(root, "p", "status")
    assert d.unchecked and d.unchecked in "".join(status.itertext())


def test_a_long_derivation_says_how_many_steps_it_leaves_out(monkeypatch):
    from matgrad import steps
    L, defs = example()
    d = mg.derive(L, "w", definitions=defs)
    assert len(d.steps) > 4
    monkeypatch.setattr(steps, "SHOWN_STEPS", 4)
    root = parse(d._repr_html_())
    assert len(step_rows(root)) == 4
    (omitted,) = find(root, "tr", "omitted")
    assert f"{len(d.steps) - 4} steps left out" in "".join(omitted.itertext())


# ---- tensors --------------------------------------------------------------------------------


def tensors():
    L, _ = example()
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    return [mg.jacobian(X @ w, X, name="z"), mg.jacobian(X @ w, X),
            mg.jacobian(mg.softmax(w), w), mg.hessian(L, w), mg.hessian(L, X),
            mg.derivative(mg.sum(mg.exp(X @ w)), w, 3)]


@pytest.mark.parametrize("d", tensors(), ids=lambda d: d.label(unicode=False))
def test_a_tensor_states_its_name_and_shape_and_its_forms(d):
    root = assert_self_contained(d._repr_html_())
    (heading,) = find(root, "p", "heading")
    shown = text(heading)
    # superscripts (∂²L/∂w²) are MathML scripts: compare their characters
    assert unicodedata.normalize("NFKC", re.sub(r"\s+", "", d.label())) in shown
    assert d.shape_text() in shown
    assert ("tensor of order" in "".join(heading.itertext())) == (d.expr is None)
    rows = find(root, "tr")
    forms = {form: (lhs, rhs) for form, lhs, rhs in latex_forms(d)}
    kinds = [tr.get("class") for tr in rows]
    assert set(kinds) - {"definition"} == set(forms) - {"definition"}
    assert "index" in kinds
    for tr in rows:
        if tr.get("class") == "definition":
            continue
        _, rhs = forms[tr.get("class")]
        assert text(tr.findall("td")[1]) == math_text("= " + rhs)


def test_a_jacobian_of_a_vector_by_a_matrix_is_a_third_order_tensor():
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    d = mg.jacobian(X @ w, X, name="z")
    root = parse(d._repr_html_())
    assert text(find(root, "p", "heading")[0]).startswith("∂z/∂X")
    assert "m×m×n" in text(root)
    index = next(tr for tr in find(root, "tr") if tr.get("class") == "index")
    assert text(index.findall("td")[1]) == math_text("= " + d.index_notation(latex=True)
                                                     .split(" = ", 1)[1])
    where = next(tr for tr in find(root, "tr") if tr.get("class") == "definition")
    assert text(where) == "where" + math_text("z") + math_text("= " + to_latex(X @ w))


def test_a_long_function_is_named_and_defined():
    L, _ = example()
    d = mg.hessian(L, program().variables["w"])
    root = parse(d._repr_html_())
    assert text(find(root, "p", "heading")[0]).startswith("∂2L/∂w2")
    where = next(tr for tr in find(root, "tr") if tr.get("class") == "definition")
    assert text(where.findall("td")[1]) == math_text("= " + to_latex(L))


# ---- verdicts -------------------------------------------------------------------------------


CLAIMS = [  # (variable, claim, verdict)
    ("w", "X.T @ (2/m * heaviside(z) * (yhat - y))", "correct"),
    ("w", "2/m * X.T @ (yhat - y)", "wrong-value"),
    ("w", "2/m * X @ (yhat - y)", "wrong-shape"),
    ("X", "2/m * w @ (heaviside(z) * (yhat - y)).T", "transposed"),
]


@pytest.mark.parametrize("x, claim, verdict", CLAIMS)
def test_a_verdict_shows_its_word_and_its_explanation_as_mathematics(x, claim, verdict):
    L, defs = example()
    c = mg.check(L, x, claim=claim, definitions=defs)
    assert c.verdict == verdict
    root = assert_self_contained(c._repr_html_())
    (shown,) = find(root, "p", "verdict")
    assert verdict.replace("-", " ") in "".join(shown.itertext())
    assert ("good" in classes(shown)) == c.ok
    # the formulas are MathML: no symbol of mathematics is left in the words
    assert find(root, "math")
    assert not re.search(r"[∂ᵀ⊙·−=]", words(root)), words(root)
    # and the words are the message's
    assert "the right shape" in words(root) or verdict != "wrong-value"
    assert "transpose" in words(root) or verdict != "transposed"
    assert "does not type-check" in words(root) or verdict != "wrong-shape"


def test_a_quoted_derivation_is_a_table():
    L, defs = example()
    c = mg.check(L, "w", claim="2/m * X @ (yhat - y)", definitions=defs)
    quoted = [line for line in c.message.splitlines() if re.search(r" {3}\(.*\)$", line)]
    root = parse(c._repr_html_())
    assert len(step_rows(root)) == len(quoted) > 2


def test_a_counterexample_shows_its_arrays_as_tables():
    L, defs = example()
    c = mg.check(L, "w", claim="2/m * X.T @ (yhat - y)", definitions=defs)
    ce = c.counterexample
    root = assert_self_contained(c._repr_html_())
    arrays = find(root, "table", "array")
    values = [np.asarray(v) for v in ce.point.values() if np.asarray(v).size > 1]
    assert len(arrays) == len(values) + 1  # the point's arrays and the direction
    for table, a in zip(arrays, values + [np.asarray(ce.direction)]):
        a = a.reshape(a.shape[0], -1)
        rows = table.findall("./tbody/tr")
        assert len(rows) == a.shape[0]
        assert [len(tr.findall("td")) for tr in rows] == [a.shape[1]] * a.shape[0]
        got = [[float(td.text.replace("−", "-")) for td in tr.findall("td")] for tr in rows]
        assert np.allclose(got, a, rtol=5e-3, atol=1e-12)
    shown = "".join(root.itertext())
    assert f"{ce.true:.6g}".replace("-", "−") in shown.replace("-", "−")
    assert f"{ce.claimed:.6g}".replace("-", "−") in shown.replace("-", "−")
    # the message's own text of the counterexample is not repeated
    assert "[[" not in shown


def test_a_large_counterexample_array_is_elided():
    html = display._array_table(np.arange(400.0).reshape(20, 20))
    root = parse(html)
    rows = root.findall(".//tr")
    assert len(rows) == display.SHOWN_ENTRIES
    assert "⋮" in text(root) and "⋯" in text(root)
    assert text(rows[-1].findall("td")[-1]) == "399"


# ---- what users write is escaped -------------------------------------------------------------


def hostile_objects():
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    L = mg.sum(mg.exp(X @ w))
    defs = {"Q" + HOSTILE: X @ w}
    r = mg.report(L, [w], definitions=defs, loss_name=HOSTILE)
    r.run_check()
    return [r, mg.derive(L, w, definitions=defs, loss_name=HOSTILE),
            mg.jacobian(X @ w, X, name=HOSTILE), mg.hessian(L, w, name=HOSTILE),
            mg.check(L, w, claim="X @ w", definitions=defs),
            mg.check(L, w, claim="X.T @ w", definitions={HOSTILE: X @ w})]


@pytest.mark.parametrize("obj", hostile_objects(), ids=lambda o: type(o).__name__)
def test_hostile_names_are_escaped(obj):
    html = obj._repr_html_()
    root = parse(html)
    assert "matgrad" in classes(root)
    assert not [el for el in root.iter() if el.tag in ("script", "b", "img")]
    assert "<script" not in html
    # the name is shown, as characters
    assert "<script>" in "".join(root.itertext()) or "&lt;script" in "".join(root.itertext())


def test_prose_is_unescaped_from_latex_then_escaped_for_html():
    from matgrad.printing.prose import prose_latex
    line = "the claim’s “word” — naïve… so dz = X dw"
    root = parse(f"<p>{display._prose(line)}</p>")
    words = "".join(t for t in [root.text or ""] + [el.tail or "" for el in root])
    assert "—" in words and "naïve" in words and "…" in words, prose_latex(line)
    assert "\\" not in words and find(root, "math")
    html = display._mixed(r"\text{<b> & it}")
    assert html == "&lt;b&gt; &amp; it"


# ---- what a notebook is offered -------------------------------------------------------------


def offered(obj) -> dict:
    from IPython.core.formatters import DisplayFormatter
    data, _ = DisplayFormatter().format(obj)
    return data


def test_each_object_offers_html_latex_and_its_text():
    L, defs = example()
    r = mg.report(L, ["w"], definitions=defs)
    d = mg.derive(L, "w", definitions=defs).checked()
    c = mg.check(L, "w", claim="2/m * X.T @ (yhat - y)", definitions=defs)
    J = tensors()[0]
    for obj, has_latex in [(L, True), (r, True), (d, True), (J, True), (c, False)]:
        data = offered(obj)
        assert data["text/html"] == obj._repr_html_()
        assert ("text/latex" in data) == has_latex
        # readable text, not a dataclass's fields
        assert data["text/plain"] in (str(obj), repr(obj), J.describe())
        assert not data["text/plain"].startswith(type(obj).__name__ + "(")
    assert offered(J)["text/plain"] == J.describe()
    assert offered(c)["text/plain"] == c.message


def test_a_named_intermediate_is_reused_through_its_transpose():
    """For z = X − U Vᵀ the gradient by V holds Xᵀ − V Uᵀ, which is zᵀ: the report writes
    −2 · zᵀ U (and the values agree with finite differences, k, m and n distinct)."""
    m, n, k = mg.dims("m n k")
    X, U, V = mg.matrix("X", m, n), mg.matrix("U", m, k), mg.matrix("V", n, k)
    z = X - U @ V.T
    r = mg.report(mg.norm(z) ** 2, [V, U], definitions={"z": z})
    lines = {lhs: rhs for lhs, rhs, _ in r.lines()}
    assert lines["∂L/∂V"] == "−2 · zᵀ U", lines
    assert lines["∂L/∂U"] == "−2 · z V", lines
    assert r.run_check(sizes={"m": 2, "n": 3, "k": 4}).max_error < 1e-6
