"""Tensors in index notation: derivatives with more than two axes.

The core is two-dimensional; a derivative such as ∂(X w)/∂X (three axes) or the Hessian
with respect to a matrix (four) lives here, written with named indices and Kronecker
deltas (`terms`), read off a matrix differential (`from_matrix`), printed (`printing`),
evaluated with einsum (`evaluate`), translated back to matrix notation where a matrix form
exists (`to_matrix`), and written in Kronecker/vec form where one exists (`vec`).
"""
from .evaluate import evaluate_tensor, tensor_value
from .from_matrix import indexed, linear_to_tensor
from .printing import einsum_form, index_text
from .terms import Delta, Factor, Index, Tensor, Term, collect, fresh
from .to_matrix import to_matrix
from .vec import VecForm, vec_form

__all__ = [
    "Delta", "Factor", "Index", "Tensor", "Term", "VecForm", "collect", "einsum_form",
    "evaluate_tensor", "fresh", "index_text", "indexed", "linear_to_tensor",
    "tensor_value", "to_matrix", "vec_form",
]
