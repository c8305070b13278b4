"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Written out by hand: it is the API's contract, and the tests check that every route
the app serves is described here and every described route is served.

>>> sorted(path for path, ops in SCHEMA["paths"].items() if "post" in ops)  # doctest: +ELLIPSIS
['/api/check', '/api/code', '/api/derive', '/api/hessian', '/api/jacobian', '/api/parse', ...]
"""
from __future__ import annotations

from ..tensor_report import FORMS
from .limits import Limits
from .service import BACKENDS, KINDS, LAYOUTS, MAX_SIZE, VERDICTS


def _text(description: str, max_length: int | None = None) -> dict:
    out = {"type": "string", "description": description}
    if max_length:
        out["maxLength"] = max_length
    return out


_EXPR = _text("The expression in matgrad's language; assignments `z = ...;` name "
              "intermediates, e.g. `z = X @ w + b; L = sum(relu(z)**2) / m`.", 4000)
_SHAPES = _text("Shape declarations as on the command line, e.g. `X: m,n; w: n; b: scalar`."
                " Undeclared shapes are inferred.", 2000)
_WRT = _text("Variables to differentiate by, comma-separated (default: all).")
_SIZES = _text("Sizes of dimensions for the numeric check, e.g. `m=7, n=5` (each at most "
               f"{MAX_SIZE}). Dimensions not given get distinct sizes at which the "
               "expression is defined.", 2000)


_ORDER = {"type": ["string", "integer"], "description": "The order of the derivative: "
          f"1 (a Jacobian's default) to {Limits().max_order}; a Hessian's is at least 2 "
          "(its default). Higher orders are tensors in index notation."}
_LAYOUT = {"enum": list(LAYOUTS) + [""], "default": "numerator", "description": "The layout "
           "of a first derivative's matrix form: numerator puts the function's axes along "
           "the rows (∂F/∂x is m×n for F of length m, x of length n); denominator is its "
           "transpose."}
_KIND = {"enum": list(KINDS) + [""], "default": "gradient", "description": "gradient: the "
         "value and its gradients; jacobian, hessian: one function per variable returning "
         "the derivative."}


def _request(required: list[str], **props) -> dict:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": props}


def _post(summary: str, request: dict, result: str, unavailable: bool = False) -> dict:
    responses = {
        "200": {"description": "The result.", "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{result}"}}}},
        "400": _error("Bad input: the error names the field and the column at fault; "
                      "limits on length, depth and time are errors of kind LimitError."),
        "413": _error("The request body is larger than the server accepts."),
        "503": _error("Too many derivations are in flight; try again."),
    }
    if unavailable:
        responses["501"] = _error("This installation of matgrad lacks the feature "
                                  "(kind Unavailable).")
    return {"post": {"summary": summary, "requestBody": {"required": True, "content": {
        "application/json": {"schema": request}}}, "responses": responses}}


def _get(summary: str, result: str, media: str = "application/json") -> dict:
    schema = {"$ref": f"#/components/schemas/{result}"} if result else {"type": "string"}
    return {"get": {"summary": summary, "responses": {"200": {
        "description": summary, "content": {media: {"schema": schema}}}}}}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": {"type": "object", "properties": {
            "error": {"$ref": "#/components/schemas/Error"}}}}}}


_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}

SCHEMA = {
    "openapi": "3.1.0",
    "info": {"title": "matgrad", "version": "1",
             "description": "Gradients of matrix expressions in matrix notation, with the "
                            "steps, generated code and numeric checks. The page at / uses "
                            "exactly this API."},
    "paths": {
        "/": _get("The page (HTML). Query parameters kind (gradient, jacobian, hessian), "
                  "expr, shapes, wrt, sizes, order and layout fill the form and show the "
                  "result at once.", "", "text/html"),
        "/static/{name}": _get("The page's scripts (page.js, theme.js) and style sheet "
                               "(page.css).", "", "text/plain"),
        "/api/openapi.json": _get("This description.", ""),
        "/api/example": _get("The built-in example's input.", "Query"),
        "/api/features": _get("Which panels this installation can fill.", "Features"),
        "/api/gallery": _get("The gallery of examples the page offers, one click each.",
                             "Gallery"),
        "/api/parse": _post("Variables and their shapes, inferred where not declared.",
                            _request(["expr"], expr=_EXPR, shapes=_SHAPES), "Parsed"),
        "/api/derive": _post("Gradients with named intermediates, as text, LaTeX and "
                             "MathML, checked by finite differences.",
                             _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                      sizes=_SIZES),
                             "Derived"),
        "/api/jacobian": _post("The Jacobian with respect to each variable, in matrix form "
                               "where it has at most two axes, in index notation always, "
                               "and in Kronecker (vec) form where one exists; verified "
                               "numerically.",
                               _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                        sizes=_SIZES, order=_ORDER, layout=_LAYOUT),
                               "Derivatives"),
        "/api/hessian": _post("The Hessian of a scalar with respect to each variable (a "
                              "symmetric matrix for a vector, a fourth-order tensor for a "
                              "matrix), in the same forms; verified numerically. A vector "
                              "or matrix is refused with suggest: jacobian.",
                              _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                       sizes=_SIZES, order=_ORDER),
                              "Derivatives"),
        "/api/steps": _post("The derivation of each gradient, step by step, every "
                            "line checked numerically.",
                            _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                     sizes=_SIZES),
                            "Steps", unavailable=True),
        "/api/code": _post("Source code computing the loss and its gradients, or the "
                           "Jacobian or Hessian.",
                           _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                    backend={"enum": list(BACKENDS), "default": "numpy"},
                                    kind=_KIND, order=_ORDER, layout=_LAYOUT),
                           "Code", unavailable=True),
        "/api/check": _post("A verdict on someone's own gradient.",
                            _request(["expr", "variable", "claim"], expr=_EXPR,
                                     shapes=_SHAPES,
                                     variable=_text("The variable the claim is the "
                                                    "gradient for."),
                                     claim=_text("The claimed gradient, in the language, "
                                                 "e.g. `2 * X.T @ (X @ w - y)`.", 4000),
                                     sizes=_SIZES),
                            "Verdict", unavailable=True),
    },
    "components": {"schemas": {
        "Query": {"type": "object", "properties": {
            "expr": {"type": "string"}, "shapes": {"type": "string"},
            "wrt": {"type": "string"}}},
        "Gallery": {"type": "object", "properties": {"entries": {"type": "array", "items": {
            "type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "note": {"type": "string"}, "kind": {"enum": list(KINDS)},
                "expr": {"type": "string"}, "shapes": {"type": "string"},
                "wrt": {"type": "string"}, "order": {"type": "string"},
                "layout": {"type": "string"}}}}}},
        "Form": {"type": "object", "properties": {
            "form": {"enum": list(FORMS), "description": "definition: what the function's "
                     "name stands for; matrix: the matrix form; index: index notation; "
                     "vec: the Kronecker form"},
            "title": {"type": "string"},
            "left_text": {"type": "string"}, "right_text": {"type": "string"},
            "right_code": {"type": ["string", "null"], "description": "the right side in the "
                           "input language, which parses back (matrix and definition "
                           "forms)"},
            "left_latex": {"type": "string"}, "right_latex": {"type": "string"},
            "left_mathml": {"type": "string"}, "right_mathml": {"type": "string"}}},
        "Derivative": {"type": "object", "properties": {
            "variable": {"type": "string"},
            "kind": {"enum": ["jacobian", "hessian", "derivative"]},
            "order": {"type": "integer"}, "label_text": {"type": "string"},
            "label_latex": {"type": "string"}, "label_mathml": {"type": "string"},
            "shape": {"type": "string", "description": "the sizes of the tensor's axes, "
                      "e.g. m×m×n (axes of size 1 have no index)"},
            "axes": {"type": "array", "items": {"type": "string"}},
            "tensor_order": {"type": "integer"},
            "matrix": {"type": "boolean", "description": "whether it has a matrix form"},
            "layout": {"enum": list(LAYOUTS)},
            "summary": {"type": "string"},
            "forms": {"type": "array", "items": {"$ref": "#/components/schemas/Form"}},
            "text": {"type": "string"},
            "verification": {"$ref": "#/components/schemas/Verification"},
            "explanation_html": {"type": ["array", "null"], "items": {"type": "string"},
                                 "description": "for a tensor-valued Jacobian: what it is "
                                 "and how the chain rule contracts it, line by line"}}},
        "Derivatives": {"allOf": [{"$ref": "#/components/schemas/Parsed"}, {
            "type": "object", "properties": {
                "kind": {"enum": list(KINDS[1:])}, "expr": {"type": "string"},
                "wrt": {"type": "array", "items": {"type": "string"}},
                "order": {"type": "integer"}, "layout": {"enum": list(LAYOUTS)},
                "derivatives": {"type": "array",
                                "items": {"$ref": "#/components/schemas/Derivative"}},
                "latex": {"type": "string"}, "text": {"type": "string"},
                "verification": {"$ref": "#/components/schemas/Verification"}}}]},
        "Verification": {"type": "object", "properties": {
            "ok": {"type": ["boolean", "null"]},
            "max_error": {"type": ["number", "null"]},
            "text": {"type": "string"}}},
        "Array": {"type": "object", "properties": {
            "name": {"type": "string"}, "shape": {"type": "string"},
            "rows": {"type": "array", "items": {"type": "array",
                                                 "items": {"type": "string"}}}}},
        "Features": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {
                "available": {"type": "boolean"}, "message": _NULLABLE_STR,
                "backends": {"type": "array", "items": {"type": "string"}}}}},
        "Variable": {"type": "object", "properties": {
            "name": {"type": "string"},
            "shape": {"type": "string", "description": "`scalar`, `n` or `m×n`"}}},
        "Parsed": {"type": "object", "properties": {
            "shapes": {"type": "string", "description": "Declarations for every variable, "
                       "declared or inferred."},
            "inferred": {"type": "array", "items": {"type": "string"}},
            "inferred_shapes": {"type": "string", "description": "Declarations for the "
                                "inferred variables only."},
            "variables": {"type": "array", "items": {"$ref": "#/components/schemas/Variable"}}}},
        "Row": {"type": "object", "properties": {
            "kind": {"enum": ["loss", "intermediate", "gradient"]},
            "name": {"type": "string", "description": "the loss, the intermediate, or the "
                     "variable a gradient is taken with respect to"},
            "left_text": {"type": "string"}, "right_text": {"type": "string"},
            "right_code": {"type": "string", "description": "the right side in the input "
                           "language (intermediates by name), which parses back"},
            "shape": {"type": "string"},
            "left_latex": _NULLABLE_STR, "right_latex": _NULLABLE_STR,
            "left_mathml": _NULLABLE_STR, "right_mathml": _NULLABLE_STR}},
        "Derived": {"allOf": [{"$ref": "#/components/schemas/Parsed"}, {
            "type": "object", "properties": {
                "expr": {"type": "string"},
                "wrt": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
                "latex": {"type": "string"}, "text": {"type": "string"},
                "verification": {"$ref": "#/components/schemas/Verification"}}}]},
        "Steps": {"type": "object", "properties": {
            "wrt": {"type": "array", "items": {"type": "string"}},
            "derivations": {"type": "array", "items": {"type": "object", "properties": {
                "variable": {"type": "string"}, "markdown": {"type": "string"},
                "latex": {"type": "string"}, "html": {"type": "string"},
                "count": {"type": "integer"},
                "checked": {"type": "boolean", "description": "whether every line was "
                            "checked numerically"},
                "failing": {"type": "array", "items": {"type": "integer"},
                            "description": "indices of the lines that do not hold (a bug "
                            "in matgrad: it must never happen)"},
                "unchecked": {"type": ["string", "null"], "description": "why the "
                              "lines could not be checked"}}}}}},
        "Code": {"type": "object", "properties": {
            "backend": {"enum": list(BACKENDS)}, "kind": {"enum": list(KINDS)},
            "wrt": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "string"}}},
        "Verdict": {"type": "object", "properties": {
            "variable": {"type": "string"}, "claim": {"type": "string"},
            "verdict": {"enum": list(VERDICTS), "description": "`undetermined` where no "
                        "random point was found at which the loss and its gradient are "
                        "defined; the message says why"},
            "message": {"type": "string"},
            "html": {"type": "string", "description": "the message as HTML: words as text, "
                     "formulas as MathML, without the verdict word and the counterexample"},
            "counterexample": {"type": ["object", "null"], "properties": {
                "sizes": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "value": {"type": "integer"}}}},
                "point": {"type": "array", "items": {"$ref": "#/components/schemas/Array"}},
                "direction": {"$ref": "#/components/schemas/Array"},
                "claimed": {"type": "string"}, "true": {"type": "string"},
                "finite_difference": {"type": "string"},
                "values": {"type": "object", "description": "the three directional "
                           "derivatives as numbers (null where not finite)"}}}}},
        "Error": {"type": "object", "required": ["kind", "message"], "properties": {
            "kind": {"type": "string", "description": "ParseError, ShapeError, DomainError, "
                     "LimitError, RequestError, Unavailable, Busy or InternalError"},
            "field": _NULLABLE_STR, "message": {"type": "string"},
            "text": {"type": "string", "description": "the message with a caret under the "
                     "column"},
            "source": _NULLABLE_STR, "column": _NULLABLE_INT, "width": {"type": "integer"},
            "line": _NULLABLE_STR, "line_column": _NULLABLE_INT,
            "suggest": {"type": ["string", "null"], "description": "the kind of derivative "
                        "that applies instead (jacobian, for a vector or matrix where a "
                        "gradient or Hessian needs a scalar)"},
            "feature": {"type": "string"}}},
    }},
}
