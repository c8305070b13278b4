"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Written out by hand: it is the API's contract, and the tests check that every route
the app serves is described here and every described route is served.

>>> sorted(path for path, ops in SCHEMA["paths"].items() if "post" in ops)
['/api/check', '/api/code', '/api/derive', '/api/parse', '/api/steps']
"""
from __future__ import annotations

from .service import BACKENDS, MAX_SIZE, VERDICTS


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
        "/": _get("The page (HTML). Query parameters expr, shapes and wrt fill the form "
                  "and show the result at once.", "", "text/html"),
        "/static/{name}": _get("The page's script (page.js) and style sheet (page.css).",
                               "", "text/plain"),
        "/api/openapi.json": _get("This description.", ""),
        "/api/example": _get("The built-in example's input.", "Query"),
        "/api/features": _get("Which panels this installation can fill.", "Features"),
        "/api/parse": _post("Variables and their shapes, inferred where not declared.",
                            _request(["expr"], expr=_EXPR, shapes=_SHAPES), "Parsed"),
        "/api/derive": _post("Gradients with named intermediates, as text, LaTeX and "
                             "MathML, checked by finite differences.",
                             _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                      sizes=_SIZES),
                             "Derived"),
        "/api/steps": _post("The derivation of each gradient, step by step, every "
                            "line checked numerically.",
                            _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                     sizes=_SIZES),
                            "Steps", unavailable=True),
        "/api/code": _post("Source code computing the loss and its gradients.",
                           _request(["expr"], expr=_EXPR, shapes=_SHAPES, wrt=_WRT,
                                    backend={"enum": list(BACKENDS), "default": "numpy"}),
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
                "verification": {"type": "object", "properties": {
                    "ok": {"type": ["boolean", "null"]},
                    "max_error": {"type": ["number", "null"]},
                    "text": {"type": "string"}}}}}]},
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
            "backend": {"enum": list(BACKENDS)},
            "wrt": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "string"}}},
        "Verdict": {"type": "object", "properties": {
            "variable": {"type": "string"}, "claim": {"type": "string"},
            "verdict": {"enum": list(VERDICTS), "description": "`undetermined` where no "
                        "random point was found at which the loss and its gradient are "
                        "defined; the message says why"},
            "message": {"type": "string"}}},
        "Error": {"type": "object", "required": ["kind", "message"], "properties": {
            "kind": {"type": "string", "description": "ParseError, ShapeError, DomainError, "
                     "LimitError, RequestError, Unavailable, Busy or InternalError"},
            "field": _NULLABLE_STR, "message": {"type": "string"},
            "text": {"type": "string", "description": "the message with a caret under the "
                     "column"},
            "source": _NULLABLE_STR, "column": _NULLABLE_INT, "width": {"type": "integer"},
            "line": _NULLABLE_STR, "line_column": _NULLABLE_INT,
            "feature": {"type": "string"}}},
    }},
}
