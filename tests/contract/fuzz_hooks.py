"""Schemathesis hooks (loaded in its process through ``SCHEMATHESIS_HOOKS``)
that take the fuzzing past the first refusal: generated ids are unknown, so
every call would stop at session-not-found, order-not-found or
chain-mismatch.

Before each call (but authenticate, which the stateful phase takes through
the links from a new session), three cases out of four get real values instead of the
generated ones: ``{session_id}`` a session the fuzz terminal opened and
authenticated with the fuzz resident's card, ``{order_id}``/
``{certificate_id}`` an order placed in such a session (a new one once a
result or report settled it), ``{chain}``/``{fingerprint}`` the fuzz chain and
one of its terminals, ``{code}`` of a read 検証市's own; an order body that
names a type of the menu gets the menu's fee as ``expected_fee_yen``. The
fourth case keeps what was generated, so the unknown-id answers stay fuzzed too.

What the hooks need comes from the JSON file named by ``KONBINI_FUZZ_STATE``
(written by the test)."""

from __future__ import annotations

import base64
import copy
import json
import os
import time
from collections import Counter
from typing import Any

import requests
import schemathesis

from kiosk_sim.wallet import Wallet

STATE: dict[str, Any] = json.loads(open(os.environ["KONBINI_FUZZ_STATE"],  # noqa: SIM115
                                        encoding="utf-8").read())
SESSION_AGE = 60.0  # renewed well before the center lets it expire
_calls: Counter[str] = Counter()
_live: dict[str, Any] = {}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _center(method: str, path: str, body: Any = None) -> Any:
    for _ in range(20):  # the terminal's budget is shared with the fuzzing: wait, as a kiosk would
        response = requests.request(method, STATE["center_url"] + path, json=body, timeout=30,
                                    cert=(STATE["cert"], STATE["key"]), verify=STATE["ca"])
        if response.status_code != 429:
            break
        time.sleep(max(0.05, float(response.json().get("retry_after_seconds", 1))))
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


def _new_session() -> dict[str, Any]:
    """A session of the fuzz terminal, authenticated with the fuzz resident's card."""
    session = _center("POST", "/v1/sessions", {"credential": "card"})
    challenge = base64.urlsafe_b64decode(session["challenge"] + "=" * (-len(session["challenge"])
                                                                        % 4))
    card = Wallet(STATE["wallet"]).get(STATE["card"])
    _center("POST", f"/v1/sessions/{session['session_id']}/authenticate", {
        "certificate": _b64url(card.certificate_der()),
        "signature": _b64url(card.sign_challenge(challenge, "1234"))})
    menu = _center("GET", f"/v1/sessions/{session['session_id']}/menu")
    return {"id": session["session_id"], "at": time.monotonic(),
            "fees": {item["type"]: item["fee_yen"] for item in menu["items"]}}


def _session() -> dict[str, Any]:
    live = _live.get("session")
    if live is None or time.monotonic() - live["at"] > SESSION_AGE:
        live = _live["session"] = _new_session()
    return live


def _order() -> dict[str, Any]:
    """An unsettled order of one 住民票 in a live session."""
    if "order" not in _live:
        session = _session()
        _live["order"] = _center("POST", f"/v1/sessions/{session['id']}/orders", {
            "type": "juminhyo", "copies": 1, "options": {"members": "household"},
            "expected_fee_yen": session["fees"]["juminhyo"]})
    return _live["order"]


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    if case.path_parameters is None:
        return
    # Copies: a generated case may share its dicts with others (the coverage phase), and
    # a substitution must not leak into a call the hooks do not mean it for.
    parameters = case.path_parameters = dict(case.path_parameters)
    if (case.path == "/v1/municipalities/{code}" and case.method != "GET"
            and parameters.get("code") == STATE["code"]):
        # Schemathesis reuses values it saw in answers: never withdraw or re-register
        # 検証市 itself (the other contract tests need it); another code is refused.
        parameters["code"] = STATE["foreign_code"]
    key = f"{case.method} {case.path}"
    _calls[key] += 1
    if _calls[key] % 4 == 0:  # keep the generated values
        return
    if isinstance(case.body, dict):
        case.body = copy.deepcopy(case.body)
    if "session_id" in parameters and not case.path.endswith("/authenticate"):
        session = _session()
        parameters["session_id"] = session["id"]
        body = case.body
        if (case.path.endswith("/orders") and isinstance(body, dict)
                and isinstance(body.get("type"), str) and body["type"] in session["fees"]):
            body["expected_fee_yen"] = session["fees"][body["type"]]
    if "order_id" in parameters:
        order = _order()
        parameters["order_id"] = order["order_id"]
        real = order["certificates"][0]["certificate_id"]
        if "certificate_id" in parameters:
            parameters["certificate_id"] = real
        body = case.body  # the copies a result or a report names: the order's own
        if isinstance(body, dict):
            for field in ("printed", "certificate_ids"):
                if isinstance(body.get(field), list) and body[field]:
                    body[field][0] = real
    if "code" in parameters and case.method == "GET":
        # the municipality's own code, so its reads (registration, fees, statements as
        # JSON, PDF or CSV, statistics, incidents) answer; never a change to 検証市's
        # registration, which the other contract tests rely on
        parameters["code"] = STATE["code"]
    if "chain" in parameters:
        parameters["chain"] = STATE["chain"]
        if "fingerprint" in parameters:
            parameters["fingerprint"] = STATE["fingerprint"]
        body = case.body
        if case.method == "POST" and case.path.endswith("/terminals") and isinstance(body, dict):
            body["certificate"] = STATE["terminal_pem"]


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """A session that ended, or an order that was settled, is replaced."""
    if os.environ.get("KONBINI_FUZZ_LOG"):  # to see how deep the calls got: status, code
        with open(os.environ["KONBINI_FUZZ_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{case.method} {case.path} {response.status_code} "
                      f"{response.content[:80]!r}\n")
    if response.status_code >= 400:
        try:
            code = json.loads(response.content).get("code")
        except (ValueError, AttributeError):
            code = None
        ours = {value for live in _live.values() for value in (live.get("id"),
                                                               live.get("order_id"))}
        if code in ("session-expired", "session-not-found", "download-expired") and (
                ours & set((case.path_parameters or {}).values())):
            _live.pop("session" if code.startswith("session") else "order", None)
        return
    if case.method == "DELETE" and case.path == "/v1/sessions/{session_id}":
        _live.pop("session", None)
    if case.path in ("/v1/orders/{order_id}/result", "/v1/orders/{order_id}/report"):
        _live.pop("order", None)
