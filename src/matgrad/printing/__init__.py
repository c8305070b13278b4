"""Printers: plain text (Unicode, or ASCII in the input language) and LaTeX.

Printers are visitors over expressions; precedence and parentheses live in `base`.
"""
