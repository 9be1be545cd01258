"""Builds the OpenAPI 3.1 documents the services publish from the very
schemas that validate their requests."""

from __future__ import annotations

from typing import Any

from .schemas import PROBLEM, Schema


def operation(summary: str, *, body: Schema | None = None, ok: int = 200,
              response: Schema | None = None, content_type: str = "application/json",
              problems: tuple[str, ...] = (), security: str = "mutualTLS") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    ok_response: dict[str, Any] = {"description": "success"}
    if ok != 204:
        ok_response["content"] = {content_type: {"schema": response or {"type": "object"}}}
    op["responses"][str(ok)] = ok_response
    op["responses"]["default"] = {
        "description": "problem document (RFC 9457); `code` is stable"
                       + (": " + ", ".join(problems) if problems else ""),
        "content": {"application/problem+json": {"schema": {"$ref":
                                                            "#/components/schemas/Problem"}}},
    }
    op["security"] = [{security: []}] if security else []
    return op


BEARER = {"type": "http", "scheme": "bearer",
          "description": "the clerk's token, in var/municipal/<code>/admin-token"}


def document(title: str, description: str, paths: dict[str, dict[str, Any]],
             security_schemes: dict[str, Any] | None = None) -> dict[str, Any]:
    schemes = security_schemes or {"mutualTLS": {
        "type": "mutualTLS", "description": "client certificate from the TLS CA; subject as in "
                                            "API.md"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": schemes,
        },
    }
