"""Builds the OpenAPI 3.1 documents the services publish from the very
schemas that validate their requests.

Every operation lists its responses by status: the success and, per HTTP
status, the problem codes it can answer with (each with an example), so a
client generator or an API fuzzer knows every answer a call may get. Path
parameters are declared from the path templates; a module that adds paths
only writes the operations."""

from __future__ import annotations

import re
from typing import Any

from .problems import PROBLEM_STATUS
from .schemas import PROBLEM, Schema

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# The answer of every service's GET …/openapi.json: what a client needs to read it.
OPENAPI_DOCUMENT: Schema = {
    "type": "object", "required": ["openapi", "info", "paths"],
    "properties": {"openapi": {"type": "string", "pattern": "^3\\.1\\."},
                   "info": {"type": "object", "required": ["title", "version"],
                            "properties": {"title": {"type": "string"},
                                           "version": {"type": "string"}}},
                   "paths": {"type": "object"}, "components": {"type": "object"}}}

# What a path parameter is, by its name; a name not listed is a plain string.
PATH_PARAMETERS: dict[str, Schema] = {
    "code": {"type": "string", "description": "6-digit local government code (JIS X 0402)",
             "examples": ["131016"]},
    "fiscal_year": {"type": "integer", "description": "年度 (the year it starts)",
                    "examples": [2026]},
}
_TEMPLATE = re.compile(r"\{([^{}]+)\}")

# Problems any operation of a kind of API may answer with, besides its own.
MUTUAL_TLS_PROBLEMS = ("client-not-allowed",)
BODY_PROBLEMS = ("invalid-request", "request-too-large")
PATH_PROBLEMS = ("not-found", "invalid-request")  # unknown, or malformed (a bad {code})


def problem_example(code: str) -> dict[str, Any]:
    from http import HTTPStatus

    status = PROBLEM_STATUS[code]
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "code": code}


def problem_responses(codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """One response per HTTP status, naming its problem codes, one example each."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(PROBLEM_STATUS[code], []).append(code)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        names = by_status[status]
        examples = {code: {"value": problem_example(code)} for code in names}
        if "invalid-request" in names:
            examples["invalid-request"]["value"]["errors"] = [
                {"field": "copies", "message": "11 is greater than the maximum of 10"}]
        responses[str(status)] = {
            "description": "problem document (RFC 9457); `code`: " + ", ".join(names),
            "content": {"application/problem+json": {"schema": PROBLEM_REF,
                                                     "examples": examples}},
        }
    return responses


def operation(summary: str, *, body: Schema | None = None, body_required: bool = True,
              body_example: Any = None, ok: int = 200, response: Schema | None = None,
              example: Any = None, content_type: str = "application/json",
              problems: tuple[str, ...] = (), security: str = "mutualTLS",
              tags: tuple[str, ...] = (), description: str | None = None,
              operation_id: str | None = None,
              links: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One operation. ``links`` (OpenAPI links on the success response) say
    which later operation takes which value of the answer, e.g. the
    ``session_id`` of a new session."""
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if operation_id:
        op["operationId"] = operation_id
    if description:
        op["description"] = description
    if tags:
        op["tags"] = list(tags)
    if body is not None:
        media: dict[str, Any] = {"schema": body}
        if body_example is not None:
            media["example"] = body_example
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": media}}
    ok_response: dict[str, Any] = {"description": "success"}
    if ok != 204:
        media = {"schema": response or {"type": "object"}}
        if example is not None:
            media["example"] = example
        ok_response["content"] = {content_type: media}
    if links:
        ok_response["links"] = links
    op["responses"][str(ok)] = ok_response
    codes = list(problems)
    if body is not None:
        codes += BODY_PROBLEMS
    if security == "mutualTLS":
        codes += MUTUAL_TLS_PROBLEMS
    op["x-problem-codes"] = list(dict.fromkeys(codes))
    op["security"] = [{security: []}] if security else []
    return op


BEARER = {"type": "http", "scheme": "bearer",
          "description": "the clerk's token, in var/municipal/<code>/admin-token"}


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """A link to ``operation_id`` with its parameters taken from this answer's
    body (``session_id="session_id"`` → ``$response.body#/session_id``)."""
    return {"operationId": operation_id,
            "parameters": {name: f"$response.body#/{pointer}"
                           for name, pointer in parameters.items()}}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True,
             "schema": PATH_PARAMETERS.get(name, {"type": "string", "minLength": 1})}
            for name in _TEMPLATE.findall(path)]


def _complete(path: str, item: dict[str, Any], common: tuple[str, ...]) -> dict[str, Any]:
    """Declare the path parameters and turn each operation's problem codes
    (its own, the document's common ones, not-found for a templated path)
    into responses."""
    item = dict(item)
    parameters = _path_parameters(path)
    for method, op in list(item.items()):
        op = dict(op)
        if parameters:  # on each operation, so a path item holds only its methods
            declared = {p["name"] for p in op.get("parameters", ())}
            op["parameters"] = [*(p for p in parameters if p["name"] not in declared),
                                *op.get("parameters", ())]
        codes = list(op.get("x-problem-codes", ()))
        codes += common
        if parameters:
            codes += PATH_PROBLEMS
        codes = list(dict.fromkeys(codes))
        op["x-problem-codes"] = codes
        op["responses"] = {**op["responses"], **problem_responses(codes)}
        item[method] = op
    return item


def document(title: str, description: str, paths: dict[str, dict[str, Any]],
             security_schemes: dict[str, Any] | None = None,
             common_problems: tuple[str, ...] = ("internal-error",),
             tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The whole document; ``common_problems`` go on every operation (the
    codes a middleware may answer with anywhere)."""
    schemes = security_schemes or {"mutualTLS": {
        "type": "mutualTLS", "description": "client certificate from the TLS CA; subject as in "
                                            "docs/api.md"}}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "paths": {path: _complete(path, item, common_problems) for path, item in paths.items()},
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": schemes,
        },
    }
    if tags:
        doc["tags"] = tags
    return doc
