"""How names look: Greek letters, hats and bars, subscripts."""
from __future__ import annotations

import re

GREEK = {
    "alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
    "delta": ("δ", r"\delta"), "epsilon": ("ε", r"\epsilon"), "zeta": ("ζ", r"\zeta"),
    "eta": ("η", r"\eta"), "theta": ("θ", r"\theta"), "kappa": ("κ", r"\kappa"),
    "lam": ("λ", r"\lambda"), "lambda_": ("λ", r"\lambda"), "mu": ("μ", r"\mu"),
    "nu": ("ν", r"\nu"), "xi": ("ξ", r"\xi"), "rho": ("ρ", r"\rho"),
    "sigma": ("σ", r"\sigma"), "tau": ("τ", r"\tau"), "phi": ("φ", r"\phi"),
    "chi": ("χ", r"\chi"), "psi": ("ψ", r"\psi"), "omega": ("ω", r"\omega"),
    "Gamma": ("Γ", r"\Gamma"), "Delta": ("Δ", r"\Delta"), "Theta": ("Θ", r"\Theta"),
    "Lambda": ("Λ", r"\Lambda"), "Sigma": ("Σ", r"\Sigma"), "Phi": ("Φ", r"\Phi"),
    "Psi": ("Ψ", r"\Psi"), "Omega": ("Ω", r"\Omega"),
}
_SUB = str.maketrans("0123456789aehijklmnoprstuvx+-=()",
                     "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋₌₍₎")
_SUP = str.maketrans("0123456789-+=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁼⁽⁾ⁿ")
_NAME = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<deco>hat|bar|tilde)?_?(?P<sub>\d+)?$")


def subscript(text: str) -> str | None:
    """Unicode subscript of text, or None if some character has none."""
    out = text.translate(_SUB)
    return None if any(ch.isascii() and ch not in " " for ch in out) else out


def superscript(text: str) -> str | None:
    out = text.translate(_SUP)
    return None if any(ch.isascii() for ch in out) else out


def unicode_name(name: str) -> str:
    """yhat → ŷ, W1 → W₁, alpha → α; other names unchanged."""
    m = _NAME.match(name)
    if not m:
        return name
    base, deco, sub = m.group("base"), m.group("deco"), m.group("sub")
    if base in GREEK:
        base = GREEK[base][0]
    elif deco and len(base) > 1:
        return name
    if deco == "hat":
        base += "\u0302"
    elif deco == "bar":
        base += "\u0304"
    elif deco == "tilde":
        base += "\u0303"
    if sub:
        base += subscript(sub) or f"_{sub}"
    return base


def latex_name(name: str) -> str:
    """yhat → \\hat{y}, W1 → W_{1}, alpha → \\alpha, long names in \\mathrm."""
    m = _NAME.match(name)
    if not m:
        return r"\mathrm{" + name.replace("_", r"\_") + "}"
    base, deco, sub = m.group("base"), m.group("deco"), m.group("sub")
    if base in GREEK:
        base = GREEK[base][1]
    elif len(base) > 1:
        base = r"\mathrm{" + base + "}"
    if deco:
        base = "\\" + deco + "{" + base + "}"
    if sub:
        base += "_{" + sub + "}"
    return base
