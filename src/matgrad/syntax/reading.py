"""What the two mathematical notations share: running a grammar, the errors it raises,
and the reading of its parse tree into `Node`s (operators, numbers, statements).

Each grammar is read by Lark's LALR parser (linear time, no backtracking), with the
token decisions of `lexing`; a syntax error becomes a ParseError with a caret under the
column, saying what was expected there.
"""
from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer_NonRecursive
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..elementwise import table
from ..errors import LimitError, MatgradError, ParseError
from ..parser import MAX_DEPTH, Program
from .build import build_program
from .lexing import Keep, make_lexer
from .tree import Node, depth

# what a terminal is, for "expected ..." in a syntax error
DESCRIBE = {
    "NAME": "a name", "NUMBER": "a number", "LPAR": "(", "RPAR": ")", "CALL_LPAR": "(",
    "LBRACK": "[", "RBRACK": "]", "LBRACE": "{", "RBRACE": "}", "NORM_OPEN": "‖",
    "NORM_CLOSE": "a closing ‖", "ABS_OPEN": "|", "ABS_CLOSE": "a closing |",
    "RANGLE": "⟩", "LANGLE": "⟨", "COMMA": ",", "EQ": "=", "PLUS": "+", "MINUS": "−",
    "TIMES": "·", "CROSS": "\\times", "DIVIDE": "/", "CMD": "a command", "SEMI": ";",
    "FROB": ":",
    "LETTERS": "a name", "FRAC": "\\frac", "CARET": "^",
    "STAR": "*", "DASH": "-", "ETIMES": ".*", "EDIVIDE": "./", "ECARET": ".^",
}
OPERAND_START = {"NAME", "NUMBER", "LPAR", "NORM_OPEN", "LETTERS", "CMD"}


@cache
def grammar(filename: str) -> Lark:
    """The LALR parser of a grammar file shipped with the package."""
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer=make_lexer(MAX_DEPTH), postlex=Keep(),
                maybe_placeholders=True)


def run(filename: str, text: str, reader, declared: dict, dim_names: set,
        notation: str, kinds=None) -> Program:
    """Parse text with a grammar, read its tree with `reader`, build the Program
    (`kinds`: the notation's letter convention, as for `build_program`)."""
    try:
        tree = grammar(filename).parse(text)
    except UnexpectedInput as err:
        raise syntax_error(err, text) from None
    except LimitError:
        raise
    try:
        statements = reader.transform(tree)
    except MatgradError:
        raise
    except Exception as err:  # a reader's own error, raised inside Lark's walk
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, MatgradError):
            raise inner from None
        raise
    for _target, _tnode, value in statements:
        if depth(value) > MAX_DEPTH:
            raise LimitError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                             source=text, column=value.start, width=value.width)
    return build_program(text, statements, declared, dim_names, notation, kinds)


def syntax_error(err: UnexpectedInput, text: str) -> ParseError:
    error = _syntax_error(err, text)
    error.grammar = True  # the text is not in the notation at all (see parser.parse_program)
    return error


def _syntax_error(err: UnexpectedInput, text: str) -> ParseError:
    if isinstance(err, UnexpectedCharacters):
        col = err.pos_in_stream
        return ParseError(f"syntax error: {text[col]!r} is not part of the notation here",
                          source=text, column=col)
    if isinstance(err, UnexpectedEOF):
        return ParseError("syntax error: the text ends too early" + _expected(err.expected),
                          source=text, column=max(0, len(text) - 1))
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            return ParseError("syntax error: the text ends too early"
                              + _expected(err.expected), source=text,
                              column=max(0, len(text.rstrip()) - 1))
        col = tok.start_pos if tok.start_pos is not None else 0
        what = repr(str(tok.value)) if str(tok.value).strip() else "a line break"
        return ParseError(f"syntax error: unexpected {what}" + _expected(err.expected),
                          source=text, column=col, width=max(1, len(str(tok.value))))
    return ParseError("syntax error", source=text, column=0)  # pragma: no cover


def _expected(names) -> str:
    names = set(names)
    words = []
    if names & OPERAND_START:
        words.append("an operand")
    words += sorted({DESCRIBE[n] for n in names - OPERAND_START if n in DESCRIBE})
    return f"; expected {', '.join(words[:6])}" if words else ""


def at(node_or_tok):
    """(start, end) of a Node or Token."""
    if isinstance(node_or_tok, Node):
        return node_or_tok.start, node_or_tok.end
    return node_or_tok.start_pos, node_or_tok.end_pos


def around(kind: str, children, args, value=None, **extra) -> Node:
    items = [c for c in children if c is not None]
    start = min(at(c)[0] for c in items)
    end = max(at(c)[1] for c in items)
    return Node(kind, tuple(args), value, start, end, extra)


class Reader(Transformer_NonRecursive):
    """The rules both grammars share; each notation adds its names and atoms."""

    def __init__(self, text: str):
        super().__init__()
        self.source = text

    def error(self, message: str, where) -> ParseError:
        start, end = at(where)
        return ParseError(message, source=self.source, column=start, width=max(1, end - start))

    # statements
    def start(self, children):
        out = []
        for c in children:
            if c is None or isinstance(c, Token):
                continue
            if isinstance(c, tuple):
                out.append(c)
            else:
                out.append((None, None, c))
        return out

    def assign(self, children):
        target, _eq, value = children
        name = self.target(target)
        return (name.value, name, value)

    def target(self, tok) -> Node:
        if isinstance(tok, Node):
            if tok.kind != "name":
                raise self.error("only 'name = expression' assignments are allowed", tok)
            return tok
        return Node("name", (), str(tok), *at(tok))

    # operators
    def frob(self, c):
        return around("frob", c, (c[0], c[2]))

    def add(self, c):
        return around("add", c, (c[0], c[2]))

    def sub(self, c):
        return around("sub", c, (c[0], c[2]))

    def neg(self, c):
        return around("neg", c, (c[1],))

    def pos(self, c):
        return around("pos", c, (c[1],))

    def mul(self, c):
        return around("mul", c, (c[0], c[2]))

    def div(self, c):
        return around("div", c, (c[0], c[2]))

    def thin(self, c):
        return around("thin", c, (c[0], c[2]))

    def cross(self, c):
        return around("cross", c, (c[0], c[2]))

    def kron(self, c):
        return around("kron", c, (c[0], c[2]))

    def chain(self, c):
        return around("chain", c, c)

    def transpose(self, c):
        return around("transpose", c, (c[0],))

    def invt(self, c):
        return around("invT", c, (c[0],))

    def group(self, c):
        inner = [x for x in c if isinstance(x, Node)]
        return around("group", c, inner)

    def abs(self, c):
        return around("abs", c, (c[1],))

    def angle(self, c):
        return around("frob", c, (c[1], c[3]))

    def number(self, c):
        return self.num(c[0])

    def num(self, tok: Token) -> Node:
        s = str(tok)
        try:
            value = int(s) if s.isdigit() else float(s)
        except ValueError:  # past Python's 4300 digits
            value = math.inf
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error("the number is too large", tok)
        return Node("num", (), value, tok.start_pos, tok.end_pos)

    def negnum(self, c):
        n = self.num(c[1])
        return Node("num", (), -n.value, at(c[0])[0], n.end)

    def order(self, x: Node, k: int, where) -> Node:
        """ψ⁽ᵏ⁾, \\psi^{(k)}: the polygamma function of order k, before its argument."""
        if x.kind != "name" or x.value != "psi":
            psi = table()["polygamma"].head(k)
            raise self.error(f"an order in parentheses, {psi[1:]}, belongs to ψ: {psi}(x) is "
                             f"polygamma({k}, x)", where)
        return Node("order", (x,), k, x.start, at(where)[1])

    def apply(self, c):
        target, _lp, args, _rp = c
        if target.kind == "order":  # ψ⁽ᵏ⁾(x) is polygamma(k, x)
            name = Node("name", (), "polygamma", target.start, target.args[0].end,
                        {"base": "polygamma"})
            k = Node("num", (), target.value, target.args[0].end, target.end)
            c = [name, _lp, [k, *args], _rp]
            target, args = name, [k, *args]
        positional, kwargs = [], {}
        for a in args:
            if isinstance(a, tuple):
                if a[0] in kwargs:
                    raise self.error(f"the keyword {a[0]} is given twice", a[1])
                kwargs[a[0]] = a[1]
            elif kwargs:
                raise self.error("an argument without a keyword follows one with", a)
            else:
                positional.append(a)
        return Node("apply", (target, *positional), None, target.start, at(c[3])[1],
                    {"kwargs": kwargs} if kwargs else {})

    def args(self, c):
        return [x for x in c if not isinstance(x, Token)]

    def kwarg(self, c):
        key = c[0]
        if isinstance(key, Node):
            if key.kind != "name":
                raise self.error("a keyword argument is a name, as axis=0", key)
            key = key.value
        return (str(key), c[2])

    def exponent(self, x: Node, p, where, hadamard: bool, ask: bool = False) -> Node:
        """x to a numeric power p (a Fraction or float), or a symbolic power."""
        from .build import literal
        if isinstance(p, Node):
            v = literal(p)
            if v is None:
                return Node("powexpr", (x, p), None, x.start, p.end)
            p = v
        start, end = x.start, at(where)[1]
        return Node("sup", (x,), _exact(p), start, end, {"hadamard": hadamard, "ask": ask})


def _exact(p):
    if isinstance(p, float) and p.is_integer():
        return int(p)
    return p


_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")


def superscript_number(text: str) -> int:
    return int(text.translate(_SUP))


SPACE = re.compile(r"\s+")
