"""``python -m municipal_server admin``: the clerk's command line over the admin API.

Each command is one call to the running server's admin API (with the token
from ``var/municipal/<code>/admin-token``) and prints the JSON answer; a
refusal prints the problem document and exits 1. Issuing a card and
resetting a PIN also act on the card itself, which here is a file in the
kiosk wallet (the counter's card writer)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .profile import load_profile

DEFAULT_WALLET = Path("var/kiosk/wallet")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = sub.add_parser("admin", help="the clerk's commands (admin API)",
                           description="the counter's daily work on the resident register")
    admin.add_argument("--code", required=True, help="municipality code or profile JSON")
    admin.add_argument("--var", type=Path, default=Path("var"))
    admin.add_argument("--url", help="admin API (default: the profile's admin port)")
    cmd = admin.add_subparsers(dest="admin_command", required=True)

    cmd.add_parser("find", help="search residents by name or kana").add_argument("name")
    cmd.add_parser("show", help="one resident's record").add_argument("resident")
    cmd.add_parser("history", help="交付履歴 of one resident").add_argument("resident")

    move_in = cmd.add_parser("move-in", help="転入: a new one-person household")
    move_in.add_argument("--address", required=True)
    _person_flags(move_in)
    household = cmd.add_parser("add-household", help="a household from a JSON file")
    household.add_argument("file", type=Path)
    member = cmd.add_parser("add-member", help="出生 or joining an existing household")
    member.add_argument("household")
    _person_flags(member)

    move_out = cmd.add_parser("move-out", help="転出届 (scheduled, or --completed)")
    move_out.add_argument("resident")
    move_out.add_argument("--on", required=True, help="YYYY-MM-DD")
    move_out.add_argument("--completed", action="store_true")
    death = cmd.add_parser("death", help="死亡届; the center revokes the card")
    death.add_argument("resident")
    death.add_argument("--on", required=True)

    seal = cmd.add_parser("seal", help="印鑑登録 (with --image PNG, else the surname's seal)")
    seal.add_argument("resident")
    seal.add_argument("--image", type=Path)
    cmd.add_parser("abolish-seal", help="印鑑登録の廃止").add_argument("resident")
    support = cmd.add_parser("support-measure", help="支援措置: --set or --clear")
    support.add_argument("resident")
    group = support.add_mutually_exclusive_group(required=True)
    group.add_argument("--set", action="store_true")
    group.add_argument("--clear", action="store_true")

    card = cmd.add_parser("issue-card", help="a card whose key the center's JPKI certifies")
    card.add_argument("resident")
    card.add_argument("--credential", default="card", choices=("card", "smartphone"))
    card.add_argument("--pin", default="1234")
    card.add_argument("--wallet", type=Path, default=DEFAULT_WALLET)
    card.add_argument("--key", help="wallet key (default: card-<resident>)")
    status = cmd.add_parser("card-status", help="suspend a lost card, reinstate or revoke")
    status.add_argument("serial")
    status.add_argument("status", choices=("valid", "suspended", "revoked"))
    status.add_argument("--reason", default="")
    reset = cmd.add_parser("reset-pin", help="暗証番号の初期化 of a card in the wallet")
    reset.add_argument("key")
    reset.add_argument("--wallet", type=Path, default=DEFAULT_WALLET)
    reset.add_argument("--pin", help="a new PIN (default: keep the PIN)")

    tax = cmd.add_parser("tax", help="record a 年度's assessment from the salary")
    tax.add_argument("resident")
    tax.add_argument("--year", type=int, required=True, help="年度 (fiscal year)")
    tax.add_argument("--salary", type=int, required=True, help="給与収入 (yen)")
    tax.add_argument("--spouse", action="store_true")
    tax.add_argument("--dependents", type=int, default=0)
    koseki = cmd.add_parser("family-register", help="a 戸籍 from a JSON file")
    koseki.add_argument("file", type=Path)
    disaster = cmd.add_parser("disaster", help="record a disaster (災害)")
    disaster.add_argument("--name", required=True)
    disaster.add_argument("--on", required=True)
    damage = cmd.add_parser("damage", help="record a household's damage (被害認定)")
    damage.add_argument("disaster")
    damage.add_argument("household")
    damage.add_argument("--level", required=True)
    damage.add_argument("--flooding")
    damage.add_argument("--surveyed")

    approve = cmd.add_parser("approve-use-registration",
                             help="本籍地の利用登録を承認 (pending until then)")
    approve.add_argument("resident", help="住民票コード of the applicant")
    cmd.add_parser("use-registrations", help="use registrations waiting for approval")
    notice = cmd.add_parser("file-notification",
                            help="a 届出 filed against a 戸籍 (its certificates wait)")
    notice.add_argument("register_id")
    notice.add_argument("--kind", required=True, help="e.g. 婚姻届")
    notice.add_argument("--on", help="届出日 (default: today)")
    reflect = cmd.add_parser("reflect-notifications", help="the filed 届出 are entered")
    reflect.add_argument("register_id")
    reflect.add_argument("--on", help="記載日 (default: today)")


def _person_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="氏名, e.g. '霞 三郎'")
    parser.add_argument("--kana", required=True, help="ふりがな")
    parser.add_argument("--birth", required=True, help="YYYY-MM-DD")
    parser.add_argument("--sex", required=True, choices=("男", "女"))
    parser.add_argument("--relationship", default="世帯主", help="続柄")
    parser.add_argument("--reason", default="転入", help="異動事由, e.g. 転入, 出生")
    parser.add_argument("--on", help="住民となった年月日 (default: today)")
    parser.add_argument("--previous-address")


def _person(args: argparse.Namespace) -> dict[str, Any]:
    person = {"name": args.name, "name_kana": args.kana, "birth_date": args.birth,
              "sex": args.sex, "relationship": args.relationship,
              "moved_in_reason": args.reason}
    if args.on:
        person["moved_in_on"] = args.on
    if args.previous_address:
        person["previous_address"] = args.previous_address
    return person


class AdminClient:
    """Plain HTTP to the loopback admin API with the clerk's bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.code)
    var_dir = args.var / "municipal" / profile.code
    token_file = var_dir / "admin-token"
    if not token_file.exists():
        print(json.dumps({"ok": False, "problem": {
            "code": "unauthorized",
            "detail": f"no token at {token_file}: has this municipality's server started?"}},
            ensure_ascii=False))
        return 1
    url = args.url or f"http://127.0.0.1:{profile.admin_port or profile.port + 100}"
    client = AdminClient(url, token_file.read_text(encoding="ascii").strip())
    try:
        status, body = _dispatch(client, args)
    except (urllib.error.URLError, OSError) as exc:
        print(json.dumps({"ok": False, "problem": {
            "code": "upstream-error", "detail": f"the admin API at {url} cannot be reached: "
                                                f"{exc}"}}, ensure_ascii=False))
        return 1
    ok = status < 400
    print(json.dumps({"ok": ok, ("result" if ok else "problem"): body}, ensure_ascii=False,
                     indent=2))
    return 0 if ok else 1


def _dispatch(client: AdminClient, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    command = args.admin_command
    resident = f"/admin/v1/residents/{getattr(args, 'resident', '')}"
    if command == "find":
        from urllib.parse import quote

        return client.call("GET", f"/admin/v1/residents?name={quote(args.name)}")
    if command == "show":
        return client.call("GET", resident)
    if command == "history":
        return client.call("GET", resident + "/history")
    if command == "move-in":
        return client.call("POST", "/admin/v1/households",
                           {"address": args.address, "members": [_person(args)]})
    if command == "add-household":
        return client.call("POST", "/admin/v1/households", _json_file(args.file))
    if command == "add-member":
        return client.call("POST", f"/admin/v1/households/{args.household}/members",
                           _person(args))
    if command == "move-out":
        return client.call("POST", resident + "/move-out",
                           {"on": args.on, "completed": args.completed})
    if command == "death":
        return client.call("POST", resident + "/death", {"on": args.on})
    if command == "seal":
        body = {}
        if args.image:
            body["image_png"] = base64.b64encode(args.image.read_bytes()).decode("ascii")
        return client.call("PUT", resident + "/seal", body)
    if command == "abolish-seal":
        return client.call("DELETE", resident + "/seal")
    if command == "support-measure":
        return client.call("PUT", resident + "/support-measure", {"active": args.set})
    if command == "issue-card":
        return _issue_card(client, args, resident)
    if command == "card-status":
        body = {"status": args.status, **({"reason": args.reason} if args.reason else {})}
        return client.call("POST", f"/admin/v1/cards/{args.serial}/status", body)
    if command == "reset-pin":
        return _reset_pin(client, args)
    if command == "tax":
        return client.call("PUT", f"{resident}/tax/{args.year}", {
            "gross_salary": args.salary, "spouse": args.spouse,
            "dependents": args.dependents})
    if command == "family-register":
        return client.call("POST", "/admin/v1/family-registers", _json_file(args.file))
    if command == "disaster":
        return client.call("POST", "/admin/v1/disasters",
                           {"name": args.name, "occurred_on": args.on})
    if command == "damage":
        body = {"damage_level": args.level}
        if args.flooding:
            body["flooding"] = args.flooding
        if args.surveyed:
            body["surveyed_on"] = args.surveyed
        return client.call("PUT", f"/admin/v1/disasters/{args.disaster}/households/"
                                  f"{args.household}", body)
    if command == "approve-use-registration":
        return client.call("POST", f"/admin/v1/use-registrations/{args.resident}/approve", {})
    if command == "use-registrations":
        return client.call("GET", "/admin/v1/use-registrations")
    if command == "file-notification":
        return client.call("POST", f"/admin/v1/family-registers/{args.register_id}/"
                                   "notifications",
                           {"kind": args.kind, **({"filed_on": args.on} if args.on else {})})
    if command == "reflect-notifications":
        return client.call("POST", f"/admin/v1/family-registers/{args.register_id}/"
                                   "notifications/reflect", {"on": args.on} if args.on else {})
    raise AssertionError(command)


def _json_file(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise SystemExit(f"{path} must hold a JSON object")
    return value


def _issue_card(client: AdminClient, args: argparse.Namespace, resident: str
                ) -> tuple[int, dict[str, Any]]:
    """The card makes its key; the center's JPKI certifies it; the card keeps the
    certificate and goes into the wallet."""
    from kiosk_sim.card import VirtualCard
    from kiosk_sim.wallet import Wallet

    status, shown = client.call("GET", resident)
    if status >= 400:
        return status, shown
    card = VirtualCard.create(credential=args.credential, pin=args.pin)
    status, issued = client.call("POST", resident + "/cards", {
        "public_key": card.public_key_pem(), "credential": args.credential})
    if status >= 400:
        return status, issued
    card.install_certificate(issued["certificate"])
    key = args.key or f"card-{args.resident}"
    Wallet(args.wallet).put(key, card, label=shown["name"],
                            municipality_code=args.code, resident_code=args.resident)
    return status, {"serial": issued["serial"], "not_after": issued["not_after"],
                    "wallet": str(args.wallet), "key": key}


def _reset_pin(client: AdminClient, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    from kiosk_sim.wallet import Wallet

    wallet = Wallet(args.wallet)
    if args.key not in wallet:
        return 404, {"code": "not-found", "detail": f"no card {args.key!r} in {args.wallet}"}
    card = wallet.get(args.key)
    card.reset_pin_counter(new_pin=args.pin)
    serial = format(_serial(card.certificate_der()), "x")
    status, body = client.call("POST", f"/admin/v1/cards/{serial}/pin-reset", {})
    return status, {**body, "key": args.key, "remaining": card.pin_remaining}


def _serial(certificate_der: bytes) -> int:
    from cryptography import x509

    return x509.load_der_x509_certificate(certificate_der).serial_number


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m municipal_server admin …")
