"""Request bodies are checked against the JSON Schemas the OpenAPI document
publishes, so the contract and the checks cannot drift apart."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .problems import invalid_request

_UNEXPECTED = re.compile(r"'([^']+)' was unexpected")


def _field(error: ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        found = _UNEXPECTED.findall(error.message)
        if found:
            names = [f"{path}.{n}" if path else n for n in found]
            return ", ".join(names)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return f"{path}.{missing}" if path else missing
    return path or "body"


def _message(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        return "unknown field"
    if error.validator == "required":
        return "required"
    return error.message if len(error.message) < 200 else error.message[:200] + "…"


class BodySchema:
    """A compiled JSON Schema for one request body."""

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)
        self.schema = schema
        self._validator = Draft202012Validator(schema)
        # The same schema compiled to Rust answers "valid?" in microseconds; the
        # Python validator (~0.3 ms a body under load, 7 % of the center's CPU)
        # then only runs for a body that fails, and writes the errors as before.
        self._valid = jsonschema_rs.validator_for(schema).is_valid

    def errors(self, value: Any) -> list[dict[str, str]]:
        try:
            if self._valid(value):
                return []
        except (ValueError, TypeError, OverflowError):  # a lone surrogate in a key, say
            pass  # jsonschema decides, as it always did
        found = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [{"field": _field(e), "message": _message(e)} for e in found]

    def check(self, value: Any) -> dict[str, Any]:
        errors = self.errors(value)
        if errors:
            raise invalid_request(errors)
        return value


async def read_json(request: web.Request, schema: BodySchema | None = None,
                    *, optional: bool = False) -> dict[str, Any]:
    """Read, parse and validate a JSON body; 422 ``invalid-request`` otherwise.

    ``optional`` lets an empty body stand for ``{}`` (as ``POST /v1/sessions``
    allows). Bodies over the app's ``client_max_size`` are refused by aiohttp
    before we read them and come back as 413 ``request-too-large``."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            value: Any = {}
        else:
            raise invalid_request([{"field": "body", "message": "a JSON object is required"}])
    else:
        try:
            value = json.loads(raw.decode("utf-8"), parse_float=_number)
        except UnicodeDecodeError as exc:
            raise invalid_request([{"field": "body", "message": "not UTF-8"}]) from exc
        except json.JSONDecodeError as exc:
            raise invalid_request(
                [{"field": "body", "message": f"malformed JSON: {exc.msg} at {exc.pos}"}]
            ) from exc
        except RecursionError as exc:
            raise invalid_request([{"field": "body", "message": "nested too deeply"}]) from exc
    if not isinstance(value, dict):
        raise invalid_request([{"field": "body", "message": "must be a JSON object"}])
    if b"\\u" in raw:  # only an escape can smuggle in a lone surrogate
        bad = lone_surrogate(value)
        if bad is not None:
            raise invalid_request([{"field": bad or "body",
                                    "message": "not Unicode text (a lone surrogate)"}])
    return schema.check(value) if schema else value


def _number(text: str) -> int | float:
    """A JSON number with a fraction or exponent: ``1.0`` is the integer 1 (JSON Schema
    counts it an integer, so it passes ``"type": "integer"``, and code after the check
    must not get a float: ``copies: 1.0`` made the municipal server answer 500)."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= 2**53 else value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first string (or member name) holding a lone surrogate
    (``"\\udafa"`` is valid JSON but not Unicode text, and would fail later when
    written to the database or a PDF), or None."""
    if isinstance(value, str):
        return path if _has_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if _has_surrogate(key):
                return path or "body"
            found = lone_surrogate(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def require(condition: bool, field: str, message: str) -> None:
    """Raise 422 for a check JSON Schema cannot express."""
    if not condition:
        raise invalid_request([{"field": field, "message": message}])


__all__ = ["BodySchema", "lone_surrogate", "read_json", "require"]
