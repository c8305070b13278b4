"""The token stream both notations share: bars, calls, line breaks and the depth bound.

Lark's lexer splits the text; this pass then decides what a context-free grammar cannot
see locally:

* a bar (‖ or \\|, and | for the absolute value) opens or closes: it opens at the start
  of an operand, closes a pending bar written against what it closes (‖x‖), and opens a
  second one after a space when an operand follows (‖x‖ ‖y‖ is a product of norms);
  \\left and \\right settle it outright;
* a parenthesis written against a name is a call, σ(z), and one after a space is a
  factor, σ (z): the printer writes a function's argument against its name and a
  product with a space, so what it prints reads back;
* a slash written without spaces binds its neighbours before a juxtaposition does:
  2/m h is (2/m) h, as on paper; 2 / m h, with spaces, is 2 / (m h);
* a line break ends a statement, except inside brackets or after an operator;
* brackets nest at most MAX_DEPTH deep (a LimitError past it).
"""
from __future__ import annotations

from lark import Token
from lark.lark import PostLex
from lark.lexer import BasicLexer, Lexer, LexerState
from lark.utils import TextSlice

from ..errors import LimitError

OPENERS = {"LPAR", "CALL_LPAR", "LBRACK", "LBRACE", "NORM_OPEN", "ABS_OPEN", "LANGLE"}
CLOSERS = {"RPAR", "RBRACK", "RBRACE", "NORM_CLOSE", "ABS_CLOSE", "RANGLE"}
# tokens after which an operand has ended (so a bar there may close, a name may be called)
ENDS = {"NAME", "NUMBER", "CMD", "RPAR", "RBRACK", "RBRACE", "NORM_CLOSE", "ABS_CLOSE",
        "RANGLE", "POSTFIX", "INVT", "SUPNUM", "NORMSUB", "SUBSCRIPT", "ORDER"}
CALLEES = {"NAME", "CMD", "RBRACE", "ORDER"}  # ORDER: ψ⁽¹⁾(x)
_BARS = {"BAR": "NORM", "VBAR": "ABS"}
_FORCED = {"LVERT": ("open", "BAR"), "RVERT": ("close", "BAR"), "LABS": ("open", "VBAR"),
           "RABS": ("close", "VBAR")}


def make_lexer(max_depth: int):
    """A Lark lexer class: the basic lexer, then the decisions above."""

    class DecidingLexer(Lexer):
        __future_interface__ = 0

        def __init__(self, conf):
            self.basic = BasicLexer(conf)

        def lex(self, text):
            tokens = self.basic.lex(LexerState(TextSlice.cast_from(text)), None)
            return _decide(tokens, text, max_depth)

    return DecidingLexer


class Keep(PostLex):
    """Keeps the terminals only this pass turns into the grammar's (Lark drops the
    terminals no rule names)."""

    always_accept = ("BAR", "VBAR", "NL", "LEFT", "RIGHT", "SIZE", "LVERT", "RVERT", "LABS",
                     "RABS")

    def process(self, stream):
        return stream


def _retype(tok: Token, kind: str) -> Token:
    return Token.new_borrow_pos(kind, tok.value, tok)


def _decide(tokens, text: str, max_depth: int):
    prev = None  # the last token passed on
    forced = None  # "open" or "close" after \left or \right
    glued_left = False  # a \left written against a name: its ( is a call
    stack: list = []  # the pending bars and brackets
    for tok in tokens:
        kind = tok.type
        if kind in ("LEFT", "RIGHT"):
            forced = "open" if kind == "LEFT" else "close"
            glued_left = (kind == "LEFT" and prev is not None and prev.type in CALLEES
                          and prev.end_pos == tok.start_pos)
            continue
        if kind == "SIZE":
            continue
        if kind in _FORCED:  # \\lVert, \\rvert: a bar that says which it is
            forced, kind = _FORCED[kind]
        if kind == "NL":
            if stack or prev is None or prev.type not in ENDS:
                continue
            tok = _retype(tok, "SEMI")
        elif kind in _BARS:
            bar = _BARS[kind]
            if forced is not None:
                opening = forced == "open"
            elif prev is None or prev.type not in ENDS:
                opening = True
            elif stack and stack[-1] == bar:
                after = text[tok.end_pos:tok.end_pos + 1]
                opening = prev.end_pos != tok.start_pos and (after.isalnum() or after in "(\\")
            else:
                opening = True
            tok = _retype(tok, bar + ("_OPEN" if opening else "_CLOSE"))
            if opening:
                stack.append(bar)
            elif stack and stack[-1] == bar:
                stack.pop()
        elif kind == "LPAR" and prev is not None and prev.type in CALLEES and (
                prev.end_pos == tok.start_pos if forced is None else glued_left):
            tok = _retype(tok, "CALL_LPAR")
            stack.append("(")
        elif kind == "DIVIDE" and tok.value == "/" and prev is not None and \
                prev.end_pos == tok.start_pos and text[tok.end_pos:tok.end_pos + 1] not in \
                ("", " ", "\t", "\n"):
            tok = _retype(tok, "TIGHT_DIV")
        elif kind in OPENERS:
            stack.append(kind)
        elif kind in CLOSERS and stack and stack[-1] not in _BARS.values():
            stack.pop()
        forced = None
        glued_left = False
        if len(stack) > max_depth:
            raise LimitError(f"the expression is nested more than {max_depth} levels deep",
                             source=text, column=tok.start_pos)
        prev = tok
        yield tok
