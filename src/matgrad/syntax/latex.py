r"""LaTeX: what matgrad's LaTeX printer writes, and what people write in papers.

    \frac{1}{m}\|\mathrm{relu}(Xw+b) - y\|^2,   {X}^{\top} X,   x^T A x,   A^{-1} b,
    \operatorname{tr}\left(A^{-\top} B\right),   \log\det A,   \langle A, B \rangle

The grammar is `latex.lark`. A run of letters is one letter per factor (Xw is X w), as
in TeX, unless it is a declared name or a function; \mathrm{...} and \operatorname{...}
make one name (\mathrm{v\_m} is v_m), \hat{y} is yhat, W_{1} is W1, \lambda is lam;
\mathbf and \boldsymbol leave a name as it is, and \mathbf{1}_{n} is the ones vector.
Spacing commands (\, \; \quad ~) are juxtaposition. A command outside the notation is an
error that names it.
"""
from __future__ import annotations

from ..elementwise import table
from ..parser import Program
from .names import LATEX_ACCENTS, LATEX_GREEK
from .reading import Reader, around, at, run
from .tree import NORM_SUBSCRIPTS, Node

# commands that name a function (\exp, \log, \det, \max, ...): the table's LaTeX column
# and the usual operators
FUNCTION_COMMANDS = frozenset(
    row.latex[1:] for row in table().values()
    if row.latex[1:].isalpha() and row.latex[1:] not in LATEX_GREEK) | {"det", "max", "min", "tr"}
SUPPORTED = (r"\frac \tfrac \dfrac \sqrt \left \right \big… \| \lVert \rVert \top \cdot "
             r"\odot \circ \times \oslash \langle \rangle \operatorname \mathrm \text "
             r"\mathbf \boldsymbol \hat \bar \tilde \exp \log \det \max \min \tanh (the "
             r"elementwise functions) \, \; \quad and the Greek letters")


class LatexReader(Reader):
    def letters(self, c):
        tok = c[0]
        return Node("name", (), str(tok), tok.start_pos, tok.end_pos,
                    {"letters": True, "base": str(tok)})

    def command(self, c):
        tok = c[0]
        word = str(tok)[1:]
        if word in LATEX_GREEK:
            name = LATEX_GREEK[word]
            return Node("name", (), name, tok.start_pos, tok.end_pos, {"base": name})
        if word in FUNCTION_COMMANDS:
            return Node("name", (), word, tok.start_pos, tok.end_pos, {"base": word})
        if word == "infty":  # read only as a subscript, \|x\|_{\infty}
            return Node("infty", (), "∞", tok.start_pos, tok.end_pos)
        raise self.error(f"the command \\{word} is not part of the notation; supported: "
                         f"{SUPPORTED}", tok)

    def textname(self, c):
        cmd, _lb, text, rb = c
        word = "".join("_" if t.type == "ESC_US" else str(t) for t in text.children)
        if not word.isidentifier():
            raise self.error(f"cannot read {word!r} as a name", cmd)
        return Node("name", (), word, at(cmd)[0], at(rb)[1], {"base": word})

    def font(self, c):
        cmd, _lb, inner, rb = c
        start, end = at(cmd)[0], at(rb)[1]
        if inner.kind == "num" and inner.value in (0, 1):
            return Node("ones" if inner.value == 1 else "zeros", (), None, start, end)
        if inner.kind == "name":
            return Node("name", (), inner.value, start, end,
                        {**inner.extra, "letters": False})
        return inner

    def accent(self, c):
        cmd, *rest = c
        inner = rest[1] if len(rest) == 3 else rest[0]
        if not isinstance(inner, Node):
            inner = self.letters([inner])
        if inner.kind != "name":
            raise self.error(f"{cmd} takes a name here, as \\hat{{y}}", cmd)
        name = inner.value + LATEX_ACCENTS[str(cmd)[1:]]
        return Node("name", (), name, at(cmd)[0], at(c[-1])[1], {"base": name})

    def frac(self, c):
        return around("div", c, (c[2], c[5]))

    def sqrt(self, c):
        return Node("call", (c[2],), "sqrt", at(c[0])[0], at(c[3])[1])

    def norm(self, c):
        return around("norm", c, (c[1],))

    # -- scripts --
    def sup_t(self, c):
        return ("T", c)

    def sup_invt(self, c):
        return ("invT", c)

    def sup_hadamard(self, c):
        return ("hadamard", c, c[1])

    def sup_expr(self, c):
        inner = c[0]
        if not isinstance(inner, Node):
            inner = self.num(inner) if inner.type == "NUMBER" else self.letters([inner])
        if inner.kind == "name" and inner.value == "T":
            return ("T", c)
        if inner.kind == "neg" and inner.args[0].kind == "name" and \
                inner.args[0].value == "T":
            return ("invT", c)
        return ("power", c, inner)

    def power(self, c):
        x, _caret, sup = c
        if not isinstance(sup, tuple):  # {…} around the superscript
            sup = sup.children[1] if hasattr(sup, "children") else sup
        kind, parts = sup[0], sup[1]
        end = max(at(p)[1] for p in _flat(parts))
        if kind == "T":
            return Node("transpose", (x,), None, x.start, end)
        if kind == "invT":
            return Node("invT", (x,), None, x.start, end)
        if kind == "power" and sup[2].kind == "group" and x.kind == "name" and \
                x.value == "psi" and isinstance(sup[2].args[0].value, int) and \
                sup[2].args[0].kind == "num":  # \psi^{(1)}: the order of polygamma
            return self.order(x, sup[2].args[0].value, parts[-1])
        node = self.exponent(x, sup[2], sup[2], hadamard=kind == "hadamard", ask=True)
        node.end = max(node.end, end)
        return node

    def subscript(self, c):
        x, _us, sub = c
        text, where = sub
        end = at(where)[1]
        if x.kind == "norm":
            which = NORM_SUBSCRIPTS.get(text)
            if which is None:
                raise self.error(r"the norms are \|x\| (2-norm of a vector, Frobenius norm "
                                 r"of a matrix), \|X\|_2 (of a matrix its spectral norm), "
                                 r"\|X\|_F, \|x\|_1, \|x\|_\infty and \|X\|_* (the "
                                 "nuclear norm)", where)
            return Node("norm", x.args, which, x.start, end)
        if x.kind in ("ones", "zeros"):
            sizes = [s.strip() for s in text.split("×")]
            if not 1 <= len(sizes) <= 2 or not all(sizes):
                raise self.error(f"cannot read the shape {text!r}", where)
            return Node(x.kind, (), (sizes[0], sizes[1] if len(sizes) == 2 else 1),
                        x.start, end)
        if x.kind == "name":
            if "×" in text:
                raise self.error(f"cannot read the subscript {text!r} of a name", where)
            glue = "" if text.isdigit() else "_"
            return Node("name", (), x.value + glue + text, x.start, end,
                        {"base": x.extra.get("base", x.value), "sub": text})
        raise self.error("a subscript belongs to a name, a norm or \\mathbf{1}", where)

    def sub_token(self, c):
        tok = c[0]
        text = str(tok)
        if tok.type == "TIMES" and text in ("*", r"\ast"):  # \|X\|_*
            text = "*"
        elif tok.type == "CMD" and text == r"\infty":  # \|x\|_\infty
            text = "∞"
        elif tok.type == "CMD":
            text = LATEX_GREEK.get(text[1:])
            if text is None:
                raise self.error(f"cannot read {tok} as a subscript", tok)
        return (text, tok)

    def sub_star(self, c):
        _lb, _star, rb = c
        return ("*", rb)

    def sub_group(self, c):
        _lb, inner, rb = c
        return (_sub_text(self, inner), rb)


def _flat(parts):
    for p in parts:
        if isinstance(p, (list, tuple)):
            yield from _flat(p)
        elif isinstance(p, Node) or hasattr(p, "start_pos"):
            yield p


def _sub_text(reader: LatexReader, node: Node) -> str:
    """A subscript as text: 1, ij, F, m×n (for \\mathbf{1}_{m \\times n})."""
    if node.kind == "num" and isinstance(node.value, int):
        return str(node.value)
    if node.kind in ("name", "infty"):
        return node.value
    if node.kind in ("mul", "cross"):
        return "×".join(_sub_text(reader, a) for a in node.args)
    if node.kind == "chain" and all(a.kind in ("name", "num") for a in node.args):
        return "".join(_sub_text(reader, a) for a in node.args)
    raise reader.error("cannot read this subscript", node)


def parse_program(text: str, declared: dict, dim_names: set) -> Program:
    """LaTeX into a Program (shapes already read, as by the parser)."""
    return run("latex.lark", text, LatexReader(text), declared, dim_names, "latex")
