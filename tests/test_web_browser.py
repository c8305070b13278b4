"""The page end to end, in a real headless Chromium (Debian's, driven by Playwright).

Under CI these tests must run; elsewhere they skip, saying why, when Chromium or
Playwright is missing. The server is `matgrad serve --port 0` in a subprocess. What the
page shows is compared with what the library or the API computes for the same input,
never with answers written here. Screenshots of each layout go to build/screenshots/.
"""
from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import matgrad as mg
from matgrad.dims import fmt_size
from matgrad.example import SHAPES, SOURCE, WRT
from matgrad.web.gallery import GALLERY

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
LSQ = "sum((X @ w - y)**2)"
LSQ_SHAPES = "X: m,n; w: n"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
PHONE, DESKTOP = (360, 390), 1280

pytestmark = pytest.mark.browser


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run under CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    _unavailable("Playwright for Python is not installed (pip install -e \".[browser]\" "
                 "and apt-get install chromium)")
if not os.access(CHROMIUM, os.X_OK):
    _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, and "
                 f"pip install -e \".[browser]\")")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser, server):
    """A function opening a page in a fresh context (viewport width, colour scheme); at
    the end, no script error and no request left the machine."""
    pages = []

    def make(width: int = DESKTOP, scheme: str = "light", clipboard: bool = False):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme,
            permissions=["clipboard-read", "clipboard-write"] if clipboard else [])
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        pg.requests, pg.errors = [], []  # every URL asked for; every script error
        pg.on("request", lambda req: pg.requests.append(req.url))
        pg.on("pageerror", lambda err: pg.errors.append(str(err)))
        pages.append(pg)
        return pg

    yield make
    origin = server.rstrip("/")
    for pg in pages:
        pg.context.close()
        assert not pg.errors, pg.errors
        outside = [u for u in pg.requests
                   if not u.startswith(origin) and not u.startswith("data:")]
        assert not outside, f"the page fetched from elsewhere: {outside}"


@pytest.fixture
def page(new_page):
    return new_page(clipboard=True)


def open_page(page, server, **query):
    page.goto(server + ("?" + urlencode(query) if query else ""))
    page.wait_for_selector("body[data-ready=true]", state="attached")


def settled(page):
    """Wait until no derivation is in flight."""
    page.wait_for_selector("#output[aria-busy=false]", state="attached")


def derive(page, expr, shapes, wrt=""):
    page.fill("#expr", expr)
    page.fill("#shapes", shapes)
    page.fill("#wrt", wrt)
    page.click("#derive")
    page.wait_for_selector("#result-panel:not([hidden]) #result tr.row-gradient")


def api(server, path, body):
    """The API's answer, fetched here as any client would."""
    request = urllib.request.Request(server + path.lstrip("/"), data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())


def screenshot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page):
    width, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= client, f"the page scrolls sideways: {width} > {client}"
    return width


def rgb(color: str) -> tuple:
    return tuple(int(c) for c in re.findall(r"\d+", color)[:3])


def luminance(color: str) -> float:
    r, g, b = (c / 255 for c in rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# ---- gradients, steps, code, check (the page's first purpose) ---------------------------------


def test_example_gradients_render_as_mathml(page, server):
    open_page(page, server)
    page.locator("#expr").press_sequentially(SOURCE)  # typed, key by key
    page.fill("#shapes", SHAPES)
    page.fill("#wrt", ",".join(WRT))
    page.click("#derive")
    rows = page.locator("#result tr.row-gradient")
    rows.first.wait_for()
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-name") for i in range(3)] == list(WRT)
    for i in range(3):
        assert rows.nth(i).locator("th math").count() == 1
        assert rows.nth(i).locator("td.rhs math").count() == 1
    # MathML is laid out natively: the fraction ∂L/∂w has its numerator above.
    num = rows.first.locator("th math mfrac > :first-child").bounding_box()
    den = rows.first.locator("th math mfrac > :last-child").bounding_box()
    assert num["y"] + num["height"] <= den["y"] + 1, (num, den)
    assert "verified numerically" in page.text_content("#verification")
    assert page.get_attribute("#verification", "class") == "ok"
    # The URL now carries the input, so the result can be shared.
    query = urlsplit(page.url).query
    assert "expr=" in query and "shapes=" in query and "wrt=" in query
    assert "kind=" not in query  # a gradient is the default


def test_url_parameters_show_the_result_at_once(page, server):
    open_page(page, server, expr=LSQ, shapes=LSQ_SHAPES, wrt="w,X")
    rows = page.locator("#result tr.row-gradient")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-name") for i in range(rows.count())] == ["w", "X"]
    assert page.input_value("#expr") == LSQ
    # the shapes box now holds every declaration, the inferred one included
    assert page.input_value("#shapes") == "X: m,n; w: n; y: m"
    assert "y: m" in page.text_content("#inferred")


def test_inferred_shapes_are_shown_while_typing(page, server):
    open_page(page, server)
    page.fill("#shapes", LSQ_SHAPES)
    page.locator("#expr").press_sequentially(LSQ)
    expect(page.locator("#inferred")).to_contain_text("y: m")


def test_steps_panel(page, server):
    open_page(page, server)
    derive(page, SOURCE, SHAPES, ",".join(WRT))
    page.click("#steps-panel summary")
    sections = page.locator("#steps .derivation")
    sections.first.wait_for()
    assert sections.count() == 3
    for i in range(3):
        assert sections.nth(i).locator("math").count() > 0
    assert page.locator("#steps .unavailable").count() == 0
    # each rule is a sentence with formulas in it: words are text, formulas MathML
    rule = sections.first.locator("tbody tr").first.locator("td").nth(1)
    assert rule.locator("math").count() >= 1
    words = rule.evaluate("td => [...td.childNodes].filter(n => n.nodeType === 3)"
                          ".map(n => n.textContent).join('')")
    assert "differential of a squared norm" in words
    assert not re.search(r"\^|'\(", page.evaluate(
        "[...document.querySelectorAll('#steps td')].map(td => [...td.childNodes]"
        ".filter(n => n.nodeType === 3).map(n => n.textContent).join('')).join(' ')"))


def test_code_panel_and_copy(page, server):
    open_page(page, server)
    derive(page, LSQ, LSQ_SHAPES)
    page.wait_for_selector("#code[data-backend=numpy]")
    code = page.text_content("#code")
    assert "def " in code
    page.click("#copy")
    expect(page.locator("#copy-status")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == code
    page.click(".tabs [data-backend=torch]")
    page.wait_for_selector("#code[data-backend=torch], #code-message:not([hidden])")
    if page.get_attribute("#code", "data-backend") == "torch":
        assert "torch" in page.text_content("#code")


def test_wrong_claim_gets_a_verdict(page, server):
    open_page(page, server)
    derive(page, LSQ, LSQ_SHAPES, "X,w")
    page.select_option("#check-var", "X")
    page.fill("#claim", "(X @ w - y) @ w.T")  # the factor 2 is missing
    page.click("#check")
    verdict = page.locator("#verdict .verdict")
    verdict.wait_for()
    assert verdict.get_attribute("data-verdict") == "wrong-value"
    assert page.text_content("#verdict .explanation")
    # the explanation is mathematics; the counterexample, aligned tables of numbers
    assert page.locator("#verdict .explanation math").count() >= 4
    tables = page.locator("#verdict .counterexample table.matrix")
    lib = mg.check(LSQ, "X", "(X @ w - y) @ w.T", shapes="X: m,n; w: n; y: m")
    assert tables.count() == len(lib.counterexample.point) + 1  # the point, then dX
    heights = page.evaluate("[...document.querySelectorAll('#verdict table.matrix td')]"
                            ".map(td => td.getBoundingClientRect().height)")
    assert max(heights) < 1.5 * min(heights), "a number wraps inside its cell"
    first = page.locator("#verdict table.matrix").first.locator("td").first.text_content()
    X = lib.counterexample.point["X"]
    assert float(first.replace("−", "-")) == pytest.approx(float(X[0][0]), abs=5e-4)
    page.fill("#claim", "2 * (X @ w - y) @ w.T")
    page.click("#check")
    page.wait_for_selector("#verdict .verdict[data-verdict=correct]")


def test_malformed_expression_shows_the_column(page, server):
    open_page(page, server)
    page.fill("#expr", "sum((X @ w)**2 + foo(X))")
    page.fill("#shapes", LSQ_SHAPES)
    page.click("#derive")
    page.wait_for_selector("#expr-error:not([hidden])")
    assert "unknown function 'foo'" in page.text_content("#expr-error .message")
    assert page.text_content("#expr-error mark") == "foo"
    assert page.get_attribute("#expr", "aria-invalid") == "true"
    assert page.is_hidden("#result-panel")
    # a bad shape declaration is shown beside the shapes box
    page.fill("#expr", LSQ)
    page.fill("#shapes", "X: m,n; w n")
    page.click("#derive")
    page.wait_for_selector("#shapes-error:not([hidden])")
    assert page.text_content("#shapes-error mark") == "w n"
    assert page.is_hidden("#expr-error")


# ---- Jacobians and Hessians --------------------------------------------------------------------


def test_a_hessian_from_the_url_renders_with_its_shape(page, server):
    open_page(page, server, kind="hessian", expr="logdet(S)", shapes="S: n,n")
    section = page.locator("#derivatives .derivative")
    section.first.wait_for()
    assert page.is_checked("#kind-hessian")
    d = mg.hessian(mg.parse("logdet(S)", shapes="S: n,n"), "S")
    shape = "×".join(fmt_size(a) for a in d.axes)
    assert section.get_attribute("data-shape") == shape
    assert section.locator(".badge.shape").text_content() == shape
    assert f"order {len(d.axes)}" in section.locator(".badge.what").text_content()
    forms = section.locator("tr.form")
    assert [forms.nth(i).get_attribute("data-form") for i in range(forms.count())] == \
        ["index", "vec"]
    assert forms.first.locator("td.rhs math").count() == 1
    assert "verified numerically" in section.locator(".check").text_content()
    assert "ok" in section.locator(".check").get_attribute("class")
    assert parse_qs(urlsplit(page.url).query)["kind"] == ["hessian"]
    # steps and checking an answer are for gradients
    assert page.is_hidden("#steps-panel") and page.is_hidden("#check-panel")
    page.wait_for_selector("#code[data-backend=numpy]")
    assert "def hessian_S(" in page.text_content("#code")


def test_switching_the_kind_derives_it(page, server):
    open_page(page, server, expr=LSQ, shapes=LSQ_SHAPES, wrt="w")
    page.wait_for_selector("#result tr.row-gradient")
    page.click("label[for=kind-hessian]")
    section = page.locator("#derivatives .derivative[data-variable=w]")
    section.wait_for()
    settled(page)
    H = mg.hessian(mg.parse(LSQ, shapes=LSQ_SHAPES), "w")
    matrix = section.locator("tr.form-matrix td.rhs .math").get_attribute("title")
    assert matrix == H.expr.to_text()
    assert page.is_visible("#order") and page.is_hidden("#layout")
    page.click("label[for=kind-gradient]")
    page.wait_for_selector("#result tr.row-gradient")
    assert page.is_hidden("#tensor-options")


def test_a_vector_offers_its_jacobian(page, server):
    open_page(page, server)
    page.fill("#expr", "X @ w")
    page.fill("#shapes", LSQ_SHAPES)
    page.click("#derive")
    page.wait_for_selector("#expr-error:not([hidden])")
    assert "use jacobian" not in page.text_content("#expr-error")
    page.click("#switch-kind")
    section = page.locator("#derivatives .derivative[data-variable=X]")
    section.wait_for()
    assert page.is_checked("#kind-jacobian")
    J = mg.jacobian(mg.parse("X @ w", shapes=LSQ_SHAPES), "X")
    assert section.get_attribute("data-shape") == "×".join(fmt_size(a) for a in J.axes)
    assert parse_qs(urlsplit(page.url).query)["kind"] == ["jacobian"]
    assert page.is_hidden("#expr-error")


def test_gallery_entries_derive_with_one_click(page, server):
    open_page(page, server)
    buttons = page.locator("#gallery-list button")
    assert buttons.count() == len(GALLERY)
    for entry in GALLERY:
        page.click(f"#gallery-list button[data-id='{entry['id']}']")
        settled(page)
        assert page.is_hidden("#expr-error"), page.text_content("#expr-error")
        assert page.input_value("#expr") == entry["expr"]
        assert page.is_checked(f"#kind-{entry['kind']}")
        names = [n for n in entry["wrt"].split(",") if n]
        if entry["kind"] == "gradient":
            rows = page.locator("#result tr.row-gradient")
            assert [rows.nth(i).get_attribute("data-name") for i in range(rows.count())] == names
            assert page.get_attribute("#verification", "class") == "ok", entry["id"]
        else:
            sections = page.locator("#derivatives .derivative")
            assert sections.count() == len(names)
            checks = page.locator("#derivatives .derivative > .check")
            assert all("ok" in checks.nth(i).get_attribute("class")
                       for i in range(checks.count())), entry["id"]


def test_copy_as_latex_and_as_code(page, server):
    for query, path in (({"expr": LSQ, "shapes": LSQ_SHAPES}, "api/derive"),
                        ({"kind": "jacobian", "expr": "z = X @ w", "shapes": LSQ_SHAPES,
                          "wrt": "X"}, "api/jacobian")):
        open_page(page, server, **query)
        page.wait_for_selector("#result-panel:not([hidden])")
        body = {k: v for k, v in query.items() if k != "kind"}
        body["shapes"] = page.input_value("#shapes")
        page.click("#copy-latex")
        expect(page.locator("#copy-result-status")).to_contain_text("Copied the LaTeX")
        assert page.evaluate("navigator.clipboard.readText()") == api(server, path,
                                                                      body)["latex"]
        page.click("#copy-code")
        expect(page.locator("#copy-result-status")).to_contain_text("Copied the code")
        code = {**body, "backend": "numpy"}
        if "kind" in query:
            code["kind"] = query["kind"]
        assert page.evaluate("navigator.clipboard.readText()") == api(server, "api/code",
                                                                      code)["source"]


# ---- keyboard, help, loading ---------------------------------------------------------------------


def test_keyboard_shortcuts_and_help(page, server):
    open_page(page, server)
    assert page.is_visible(".actions .hint")
    page.fill("#expr", LSQ)
    page.fill("#shapes", LSQ_SHAPES)
    page.locator("#shapes").press("Control+Enter")
    page.wait_for_selector("#result tr.row-gradient")
    # ? shows the help outside a text box, Escape closes it
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    assert "Enter" in page.text_content("#help")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.locator("#wrt").press("?")  # in a text box, ? is a character
    assert page.input_value("#wrt") == "?" and page.is_hidden("#help")
    page.click("#help-button")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    # Ctrl+Enter in the answer box checks the answer
    page.fill("#wrt", "")
    page.fill("#claim", "2 * (X @ w - y) @ w.T")
    page.select_option("#check-var", "X")
    page.locator("#claim").press("Control+Enter")
    page.wait_for_selector("#verdict .verdict[data-verdict=correct]")


def test_the_old_result_is_marked_stale_while_deriving(page, server):
    open_page(page, server, expr=LSQ, shapes=LSQ_SHAPES)
    page.wait_for_selector("#result tr.row-gradient")
    held = []
    page.route("**/api/derive", lambda route: held.append(route))
    page.fill("#expr", "sum((X @ w - y)**4)")
    page.click("#derive")
    expect(page.locator("#output")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#status")).to_contain_text("Deriving")
    assert page.locator("#status .spinner").count() == 1
    assert page.is_disabled("#derive")
    assert page.is_visible("#result-panel")  # still there, but faded
    expect(page.locator("#result-panel")).to_have_css("opacity", "0.45")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    settled(page)
    assert page.text_content("#status") == "" and page.is_enabled("#derive")
    page.unroute("**/api/derive")
    got = page.locator("#result tr.row-gradient td.rhs .math").first.get_attribute("title")
    want = api(server, "api/derive", {"expr": "sum((X @ w - y)**4)",
                                      "shapes": page.input_value("#shapes")})
    assert got == next(r for r in want["rows"] if r["kind"] == "gradient")["right_text"]


# ---- colour schemes and layouts ------------------------------------------------------------------


def test_dark_mode_follows_the_system_and_the_toggle(new_page, server):
    light, dark = new_page(scheme="light"), new_page(scheme="dark")
    open_page(light, server)
    open_page(dark, server)

    def background(pg):
        return pg.evaluate("getComputedStyle(document.body).backgroundColor")

    def text(pg):
        return pg.evaluate("getComputedStyle(document.body).color")
    assert luminance(background(light)) > 0.8 and luminance(text(light)) < 0.3
    assert luminance(background(dark)) < 0.15 and luminance(text(dark)) > 0.7
    assert dark.get_attribute("#theme-toggle", "aria-pressed") == "true"
    # the toggle overrides the system's choice, and is remembered
    light.click("#theme-toggle")
    assert light.get_attribute("html", "data-theme") == "dark"
    assert light.get_attribute("#theme-toggle", "aria-pressed") == "true"
    assert luminance(background(light)) < 0.15
    light.reload()
    light.wait_for_selector("body[data-ready=true]", state="attached")
    assert light.get_attribute("html", "data-theme") == "dark"
    assert luminance(background(light)) < 0.15
    light.click("#theme-toggle")
    light.reload()
    light.wait_for_selector("body[data-ready=true]", state="attached")
    assert luminance(background(light)) > 0.8
    assert light.evaluate("localStorage.getItem('matgrad-theme')") == "light"
    # panels, inputs and code take the scheme's colours too
    for selector in ("#expr", "footer"):
        assert luminance(dark.evaluate(
            f"getComputedStyle(document.querySelector('{selector}')).color")) > 0.5


WIDE = "sum(exp(" + " + ".join(f"X @ w{i}" for i in range(8)) + "))"
VIEWS = {
    # name: (URL query, what to do once it shows)
    "gradient": ({"expr": LSQ, "shapes": LSQ_SHAPES, "wrt": "X"}, "steps+claim"),
    "example": ({"expr": SOURCE, "shapes": SHAPES, "wrt": ",".join(WRT)}, "steps"),
    "hessian": ({"kind": "hessian", "expr": "logdet(S)", "shapes": "S: n,n"}, ""),
    "tensor": ({"kind": "jacobian", "expr": "z = X @ w", "shapes": LSQ_SHAPES, "wrt": "X"},
               "explain"),
    "wide": ({"expr": WIDE, "shapes": "X: m,n; " + "; ".join(f"w{i}: n" for i in range(8)),
              "wrt": "X"}, "steps"),
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [*PHONE, DESKTOP])
def test_layout_from_phone_to_desktop(new_page, server, width, scheme):
    """No sideways scrolling at any width, in either scheme, with every panel open; the
    answer box keeps a usable width; wide mathematics scrolls inside its own box."""
    pg = new_page(width=width, scheme=scheme)
    for name, (query, actions) in VIEWS.items():
        open_page(pg, server, **query)
        pg.wait_for_selector("#result-panel:not([hidden])")
        if "steps" in actions:
            pg.click("#steps-panel summary")
            pg.wait_for_selector("#steps .derivation")
        if "explain" in actions:
            pg.click(".explanation summary")
        if "claim" in actions:
            panel = pg.locator("#check-panel").bounding_box()
            claim = pg.locator("#claim").bounding_box()
            if width in PHONE:  # full width on a phone
                assert claim["width"] >= 0.8 * (panel["width"] - 2 * 12), (claim, panel)
            else:
                assert claim["width"] >= 300, claim
            pg.fill("#claim", "(X @ w - y) @ w.T")
            pg.click("#check")
            pg.wait_for_selector("#verdict .counterexample")
            no_sideways_scroll(pg)
            pg.fill("#claim", "2 * X.T @ (X @ w - y)")  # a wrong shape shows the steps
            pg.click("#check")
            pg.wait_for_selector("#verdict .route table")
        no_sideways_scroll(pg)
        if name == "wide" and width in PHONE:
            assert pg.evaluate("[...document.querySelectorAll('#result .scroll-x')]"
                               ".some(b => b.scrollWidth > b.clientWidth)"), \
                "the wide formula should scroll inside its box"
        screenshot(pg, f"{name}-{width}-{scheme}")
