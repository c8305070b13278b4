"""What the page shows as mathematics: MathML set as TeX would set it, rules and verdicts
as text with formulas in it (so that they wrap), counterexamples as numbers, and nothing
from the input ever becoming markup.
"""
from __future__ import annotations

import html
import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matgrad as mg

pytest.importorskip("latex2mathml")

from matgrad.printing import prose  # noqa: E402
from matgrad.printing.mathml import mixed_html, prose_html, to_mathml  # noqa: E402
from matgrad.web import service  # noqa: E402
from matgrad.web.markdown import to_html  # noqa: E402

LSQ, LSQ_SHAPES = "sum((X @ w - y)**2)", "X: m,n; w: n"


def words(markup: str) -> str:
    """The text of HTML outside its <math> elements."""
    outside = re.sub(r"<math\b.*?</math>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", outside))


# ---- MathML set as TeX sets it ------------------------------------------------------------


def test_the_frobenius_colon_is_a_spaced_operator():
    out = to_mathml(r"g : \mathrm{d}X w")
    assert '<mo lspace="0.2778em" rspace="0.2778em">:</mo>' in out
    assert "<mi>:</mi>" not in out
    assert '<mi mathvariant="normal">d</mi>' in out  # the differential's d is upright


def test_transpose_marks_sit_by_their_sign():
    out = to_mathml(r"{A}^{-\top} {B}^{\top}")
    assert out.count('<mi mathvariant="normal">⊤</mi>') == 2 and "<mo>⊤</mo>" not in out


def test_hats_and_slashes():
    out = to_mathml(r"\partial L/\partial \hat{y}")
    assert "<mo>ˆ</mo>" in out and "<mo>^</mo>" not in out
    assert '<mo lspace="0" rspace="0">/</mo>' in out


def test_function_names_and_primes():
    out = to_mathml(r"\operatorname{relu}'(t) = H(t) + \operatorname{sum}\left(z\right)")
    assert "<mo>relu</mo>" not in out and "<mi>relu</mi>" in out
    assert "<msup>" not in out  # the prime follows its base
    assert '<mo lspace="0" rspace="0">′</mo>' in out
    assert re.search(r"<mi>sum</mi><mrow><mo[^>]*>\(", out)  # no space before a bracket
    spaced = to_mathml(r"\mathrm{d} \operatorname{sum}(A) + \log\det A")
    assert spaced.count('<mspace width="0.1667em">') == 3  # d sum, log det, det A


def test_mixed_html_keeps_words_as_text():
    rule = r"\text{chain rule through relu};\ \mathrm{d}\hat{y} = H(z) \odot \mathrm{d}z"
    out = mixed_html(rule)
    assert out.startswith("chain rule through relu; <math")
    assert "<mtext>chain" not in out
    # one formula a side of the equation, so that a long chain wraps before its =
    assert out.count("<math") == 2 and "</math><wbr><math" in out
    assert re.search(r"</math><wbr><math[^>]*><mrow><mo>=</mo>", out)
    # text inside a \left( ... \right) pair stays inside its formula
    grouped = mixed_html(r"a + \left(3\ \text{terms as above}\right)")
    assert grouped.count("<math") == 1 and "terms\xa0as\xa0above</mtext>" in grouped
    assert mixed_html(r"\text{<b>x</b> & {y}}") == "&lt;b&gt;x&lt;/b&gt; &amp; {y}"


_TEXT = st.lists(st.sampled_from(
    list("abcXYZ019 .,;!?\\{}$&%#_^~<>|\"") + ["e\u0301", "o\u0308", "…", "∂", "⊙", "ŷ"]),
    max_size=30).map("".join)


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_text_unescape_inverts_the_escaping_of_prose(text):
    assert prose.text_unescape(prose._text_escape(text)) == unicodedata.normalize("NFC", text)


def test_asides_and_sentence_ends_in_prose():
    assert prose.prose_latex("shape m×n (z is m×1, X is m×n):") == (
        r"\text{shape }m\times n\text{ (}z\text{ is }m\times1, X\text{ is }m\times n\text{):}")
    assert prose.prose_latex("read off G:").endswith(r"G\text{:}")
    assert prose.prose_latex("A : (B + C) = A : B + A : C") == "A : (B + C) = A : B + A : C"


def test_prose_html():
    out = prose_html("m×n, the shape of X")
    assert words(out).strip() == ", the shape of" and out.count("<math") == 2
    # a number in scientific notation is one number, in text or in a formula
    assert words(prose_html("(largest difference 1.5e-09)")) == "(largest difference 1.5e-09)"
    assert prose.prose_latex("e = 1.5e-09") == r"e = 1.5\times 10^{-9}"


# ---- the steps' rules ---------------------------------------------------------------------


def test_rules_are_mathematics_in_sentences():
    out = service.steps("sum(relu(X @ w)**3) + sum(inv(A)**2)", "X: m,n; w: n; A: n,n",
                        wrt="w,A")
    for d in out["derivations"]:
        rules = re.findall(r"<tr><td>.*?</td><td>(.*?)</td></tr>", d["html"], flags=re.S)
        assert rules, d["html"][:300]
        for rule in rules:
            text = words(rule)
            # no formula left in plain ASCII: powers, primes, inverses are MathML
            assert not re.search(r"\^|'\(|\w\(\w|A\^|-1\)", text), text
        assert "<mtext>chain rule" not in d["html"]  # prose is text, so it wraps
        assert "<mi>:</mi>" not in d["html"]


def test_markdown_inline_math_with_words():
    out = to_html(r"| $\mathrm{d}L = g : \mathrm{d}z$ | $\text{move } A \text{ over}$ |")
    assert "move <math" in out and "</math> over" in out


# ---- check my answer ----------------------------------------------------------------------


def test_a_wrong_value_is_explained_with_a_counterexample_as_numbers():
    claim = "(X @ w - y) @ w.T"  # the factor 2 is missing
    out = service.check(LSQ, LSQ_SHAPES, "X", claim)
    assert out["verdict"] == "wrong-value"
    result = mg.check(LSQ, "X", claim, shapes=out.get("shapes") or "X: m,n; w: n; y: m")
    ce, lib = out["counterexample"], result.counterexample
    assert [a["name"] for a in ce["point"]] == list(lib.point)
    for a in ce["point"] + [ce["direction"]]:
        value = lib.direction if a["name"] == "dX" else lib.point[a["name"]]
        got = np.array([[float(x.replace("−", "-")) for x in row] for row in a["rows"]])
        want = np.asarray(value, dtype=float).reshape(got.shape)
        assert np.allclose(got, want, atol=5e-4), a["name"]
        assert len({len(x) for row in a["rows"] for x in row if not x.startswith("−")}) <= 2
        assert a["label_mathml"].startswith("<math")
    assert ce["values"]["true"] == pytest.approx(lib.true)
    assert ce["values"]["claimed"] == pytest.approx(lib.claimed)
    # the explanation: mathematics, without the lines the tables replace
    assert "Counterexample" not in out["html"] and "along" not in words(out["html"])
    assert out["html"].count("<math") >= 4 and "<mi>:</mi>" not in out["html"]
    assert "1/2" not in words(out["html"])  # the factor is a formula, not text
    assert not out["html"].startswith("<p>wrong value")  # the page shows the verdict


def test_a_wrong_shape_shows_the_route_as_steps():
    out = service.check(LSQ, LSQ_SHAPES, "X", "2 * X.T @ (X @ w - y)")
    assert out["verdict"] == "wrong-shape" and out["counterexample"] is None
    assert '<div class="route markdown">' in out["html"] and "<table>" in out["html"]
    assert "differential of a squared norm" in words(out["html"])
    # the text derivation is not repeated beside the table
    assert "dL = 2 · z : dz" not in words(out["html"])
    mismatch = service.check(LSQ, LSQ_SHAPES, "X", "X @ X")
    assert "<code>X @ X</code>" in mismatch["html"]


@pytest.mark.parametrize("claim,verdict", [
    ("2 * (X @ w - y) @ w.T", "correct"), ("2 * w @ (X @ w - y).T", "transposed"),
    ("(X @ w - y) @ w.T", "wrong-value"), ("2 * X.T @ (X @ w - y)", "wrong-shape")])
def test_every_verdict_renders(claim, verdict):
    out = service.check(LSQ, LSQ_SHAPES, "X", claim)
    assert out["verdict"] == verdict
    assert "<math" in out["html"] and "<script" not in out["html"]
    said = words(out["html"])
    assert "equals" in said if verdict == "correct" else "The correct answer" in said
