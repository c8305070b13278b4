"""The input language of matrixcalculus.org, chosen with syntax="matrixcalculus".

    0.5*x'*A*x,   norm2(X*w - y)^2,   tr(X*A*X'),   sum(log(exp(-y.*(X*w)) + vector(1)))

`*` is the matrix product (and the product by a scalar), `'` the transpose, `.* ./ .^`
the elementwise operations, `^` the power of a scalar or the matrix power of a square
matrix. The grammar is `matrixcalculus.lark`; what it reads is built as the other
notations are. Names that are not declared follow the site's letter convention: a name
beginning with a to g is a scalar, with h to z a vector, with a capital a matrix, and the
sizes no use fixes become new dimensions. Never chosen by syntax="auto", since `*` means
the elementwise product in every other notation.

>>> import matgrad as mg
>>> mg.parse("x'*A*x", syntax="matrixcalculus")
xᵀ A x
"""
from __future__ import annotations

from ..parser import Program
from .build import literal
from .reading import Reader, around, at, run
from .tree import Node

# a written function -> the language's function (norm1, norm2, vector, matrix are read
# into other nodes below)
FUNCTIONS = {
    "tr": "trace", "det": "det", "logdet": "logdet", "inv": "inv", "exp": "exp",
    "log": "log", "sin": "sin", "cos": "cos", "tanh": "tanh", "sqrt": "sqrt", "abs": "abs",
    "sign": "sign", "sum": "sum", "norm1": None, "norm2": None, "vector": None,
    "matrix": None,
}


def letter_kind(name: str) -> str:
    """The site's convention for a name nobody declared.

    >>> [letter_kind(n) for n in ("alpha", "x", "Xw")]
    ['scalar', 'vector', 'matrix']
    """
    first = name[0]
    if first.isupper():
        return "matrix"
    return "scalar" if "a" <= first <= "g" else "vector"


class MatrixCalculusReader(Reader):
    def name(self, c):
        tok = c[0]
        if str(tok) == "eye":  # the identity of inferred size
            return Node("eye", (), None, tok.start_pos, tok.end_pos)
        return Node("name", (), str(tok), tok.start_pos, tok.end_pos)

    def times(self, c):
        # the matrix product where the inner sizes agree, else the product by a scalar
        return around("juxt", c, (c[0], c[2]))

    def power(self, c):
        x, _caret, p = c
        node = self.exponent(x, p, p, hadamard=False)
        node.extra["matrix"] = True
        return node

    def hpower(self, c):
        x, _caret, p = c
        return self.exponent(x, p, p, hadamard=True)

    def call(self, c):
        tok, _lp, args, rp = c
        word = str(tok)
        start, end = tok.start_pos, at(rp)[1]
        if word not in FUNCTIONS:
            raise self.error(f"unknown function {word!r}; the functions are "
                             f"{', '.join(FUNCTIONS)} (and * is the product: {word}*(…))",
                             tok)
        if len(args) != 1:
            raise self.error(f"{word}() takes one argument, got {len(args)}", tok)
        arg = args[0]
        if word == "norm2":  # of a vector its 2-norm, of a matrix the Frobenius norm
            return Node("norm", (arg,), None, start, end)
        if word == "norm1":  # the sum of the absolute values (of a matrix's entries too)
            return Node("call", (Node("abs", (arg,), None, start, end),), "sum", start, end)
        if word in ("vector", "matrix"):
            ones = Node("ones", (), None, start, end, {"matrix": word == "matrix"})
            if literal(arg) == 1:
                return ones
            return Node("mul", (arg, ones), None, start, end)
        return Node("call", (arg,), FUNCTIONS[word], start, end)


def parse_program(text: str, declared: dict, dim_names: set) -> Program:
    """matrixcalculus.org's input into a Program (shapes already read, as by the parser)."""
    return run("matrixcalculus.lark", text, MatrixCalculusReader(text), declared, dim_names,
               "matrixcalculus", kinds=letter_kind)
