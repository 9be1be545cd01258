"""``python -m center verify FILE``: the offline check, with a saved trust list only.

What it proves without the network: the QR code was signed by the center with a key
of the trust list, while that key was valid, and (for the certificate's PDF) that the
front page is the page that was signed. What only the online check
(``POST /v1/verify``) adds: whether the certificate was printed or is void, and the
front recovered from the scrambled image, which needs the center's secret.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from konbini.clock import isoformat
from konbini.wire import CertificateType

from . import inquiry

PROVES = ("the QR code was signed by the certificate exchange center (証明書交付センター) "
          "with the trust-list key named by its kid, and dated within that key's validity")
PROVES_PDF = "page 1 of this PDF is exactly the front page the center signed (claim fpd)"
ONLINE_ONLY = ("whether the certificate was printed or is void (printing failed); the front "
               "recovered from the scrambled image (needs the center's secret); that the "
               "center still has a record of it — ask the inquiry site: POST /v1/verify")


def development_key(trust_list: dict[str, Any], kid: str | None) -> bool | None:
    """Whether the trust list marks key ``kid`` as a development key (what it signs is a
    sample, 見本); None when it does not say (a list saved before the flag existed)."""
    for entry in trust_list.get("keys", []):
        if isinstance(entry, dict) and entry.get("kid") == kid:
            flag = entry.get("development")
            return flag if isinstance(flag, bool) else None
    return None


SAMPLE_LINE = ("SAMPLE (見本): signed with a development key of the trust list; "
               "not a certificate. " + inquiry.DEVELOPMENT_KEY_MESSAGE)
UNSTATED_LINE = ("this trust list does not say whether the key is a development key: "
                 "save it again from the center")


def offline_report(data: bytes, trust_list: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``(exit code, report)``: 0 valid, 1 not valid, 2 unreadable or refused file."""
    try:
        reading = inquiry.read_upload(data)
    except inquiry.UploadRefused as refused:
        return 2, {"result": "refused", "code": refused.code, "detail": refused.detail}
    if reading.token is None:
        return 2, {"result": "unreadable", "detail": "no QR code holding a signed token",
                   "source": reading.source}
    check = inquiry.check_token(reading.token, inquiry.trusted_keys(trust_list))
    report: dict[str, Any] = {"source": reading.source, "signature": check.outcome,
                              "kid": check.kid, "detail": check.detail}
    if not check.valid or check.claims is None:
        report["result"] = "not-valid"
        return 1, report
    claims = check.claims
    # A sample's signature is as valid as a certificate's: the result and exit code say
    # what was proved, ``development_key`` whether it is a certificate at all.
    report["development_key"] = development_key(trust_list, check.kid)
    front = inquiry.front_check(reading, claims)
    try:
        label = CertificateType(claims["typ"]).label
    except ValueError:
        label = None
    report.update({
        "certificate": {"certificate_id": claims["cid"], "certificate_number": claims["num"],
                        "type": claims["typ"], "type_label": label,
                        "municipality_code": claims["mun"],
                        "issued_at": isoformat(inquiry.issued_at(claims))},
        "front": front,
        "proves": [PROVES] + ([PROVES_PDF] if front == "matches" else []),
        "online_only": ONLINE_ONLY,
    })
    if front == "edited":
        report["result"] = "front-edited"
        return 1, report
    report["result"] = "signature-valid"
    return 0, report


def run(file: Path, trust_list_path: Path, as_json: bool) -> int:
    try:
        trust_list = json.loads(trust_list_path.read_text(encoding="utf-8"))
        inquiry.trusted_keys(trust_list)
    except (OSError, ValueError) as exc:
        print(f"cannot read the trust list {trust_list_path}: {exc}\n"
              "save it once, while online: curl -o trust-list.json "
              "http://127.0.0.1:8080/v1/trust-list", file=sys.stderr)
        return 2
    try:
        data = file.read_bytes()
    except OSError as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return 2
    code, report = offline_report(data, trust_list)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return code
    print(f"{file}: {report['result']}")
    if report.get("development_key") is True:
        print(f"  {SAMPLE_LINE}")
    elif "development_key" in report and report["development_key"] is None:
        print(f"  {UNSTATED_LINE}")
    elif report.get("development_key") is False:
        print("  key: production key (not a sample)")
    for name in ("source", "signature", "kid", "front"):
        if report.get(name) is not None:
            print(f"  {name}: {report[name]}")
    if "certificate" in report:
        for name, value in report["certificate"].items():
            print(f"  {name}: {value}")
    for line in report.get("proves", []):
        print(f"  proves: {line}")
    if "online_only" in report:
        print(f"  only the online check adds: {report['online_only']}")
    if report.get("detail") and report["result"] != "signature-valid":
        print(f"  detail: {report['detail']}")
    return code
