"""Printers: plain text (Unicode, or ASCII in the input language) and LaTeX, and MathML
made from the LaTeX (`mathml`) for the web page and the notebook's HTML.

Printers are visitors over expressions; precedence and parentheses live in `base`.
"""
