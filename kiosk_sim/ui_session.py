"""One kiosk as a browser tab drives it: the screens of a real multi-copy
machine as a state machine, held on the server under an unguessable id.

はじめる → カードを置く/スマホをかざす → 暗証番号 → 証明書の選択 → 記載内容 → 部数 →
確認 → お支払い → 印刷中 → 印刷結果 → カードのお取り忘れ防止

The browser only shows the state and sends the resident's choices; the
card, the center session, the money and the printed PDFs live here. When
the card is taken or the kiosk goes idle, all of it is dropped: nothing of
the resident stays in memory, and nothing was ever written to disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from konbini.problems import Problem, invalid_request
from konbini.wire import TAX_TYPES, CertificateType

from .card import CardError, PinLocked, PinResetRefused, VirtualCard
from .client import KioskClient, KioskProblem, Terminal
from .printer import PaperJam, render_pages
from .stores import Store
from .wallet import Wallet

log = logging.getLogger(__name__)

COINS = (10, 50, 100, 500)
NOTES = (1000, 5000, 10000)
DEFAULT_IDLE_SECONDS = 90
TAKE_CARD_SECONDS = 20
# The challenge is valid for 120 s; renew the center session before that on a slow PIN.
CHALLENGE_RENEW_SECONDS = 100
NETWORK_FAULTS = ("none", "after-order", "before-result")
# Chains whose multi-copy machines finish a PIN reset reserved on a phone.
PIN_RESET_CHAINS = ("seven-eleven",)
# Fields of a problem the screen needs; ``detail`` is for logs, never shown.
SHOWN_PROBLEM_FIELDS = ("code", "reason", "remaining", "opens_at", "fee_yen", "message")
JUMINHYO_FLAGS = ("relationship", "domicile", "nationality")
NETWORK_LOST = {"type": "about:blank", "title": "Network error", "status": 0,
                "code": "network-error", "detail": "the connection to the center was cut"}


class LinkedClient(KioskClient):
    """A kiosk client whose line to the center a tester can cut: every call
    after the cut fails as a dropped connection does, before it leaves."""

    cut = False

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      *, request_id: str | None = None) -> Any:
        if self.cut:
            raise KioskProblem(dict(NETWORK_LOST))
        return await super().request(method, path, body, request_id=request_id)


@dataclass
class Settings:
    """What the tester set for this kiosk (the tester panel)."""

    store: Store
    card: str | None = None
    idle_seconds: int = DEFAULT_IDLE_SECONDS
    take_card_seconds: int = TAKE_CARD_SECONDS
    paper_jam: int | None = None  # jam at this copy (1 = all copies)
    network: str = "none"

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store.to_json(), "card": self.card,
                "idle_seconds": self.idle_seconds, "take_card_seconds": self.take_card_seconds,
                "paper_jam": self.paper_jam, "network": self.network}


@dataclass
class PrintedCopy:
    number: int
    certificate_id: str
    certificate_number: str
    status: str  # printed | failed
    reason: str = ""
    pdf: bytes = b""
    pages: list[bytes] = field(default_factory=list)


def _shown(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: problem[k] for k in SHOWN_PROBLEM_FIELDS if k in problem}


class Kiosk:
    """One simulated kiosk terminal (one browser tab)."""

    def __init__(self, kiosk_id: str, settings: Settings, wallet: Wallet,
                 terminal_for: Any, outbox: Outbox) -> None:
        self.kiosk_id = kiosk_id
        self.settings = settings
        self.wallet = wallet
        self._terminal_for = terminal_for  # Store -> Terminal
        self._outbox = outbox
        self.lock = asyncio.Lock()
        self.language = "ja"
        self.last_activity = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._clear()
        self.screen = "start"
        self.notice: dict[str, Any] | None = None

    # -- state ---------------------------------------------------------------
    def _clear(self) -> None:
        """Forget everything about the resident and the transaction."""
        self.card: VirtualCard | None = None
        self.client: LinkedClient | None = None
        self.center: dict[str, Any] | None = None
        self.center_started = 0.0
        self.municipality: dict[str, Any] | None = None
        self.menu: dict[str, Any] | None = None
        self.item: dict[str, Any] | None = None
        self.options: dict[str, Any] = {}
        self.copies = 1
        self.paid = 0
        self.pin_remaining: int | None = None
        self.progress = (0, 0)
        self.prints: list[PrintedCopy] = []
        self.print_token = ""
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.refund_yen = 0

    @property
    def terminal(self) -> Terminal:
        return self._terminal_for(self.settings.store)

    @property
    def total(self) -> int:
        return int(self.item["fee_yen"]) * self.copies if self.item else 0

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self.last_activity

    def state(self) -> dict[str, Any]:
        """What the page needs to draw the current screen, and nothing more."""
        state: dict[str, Any] = {
            "kiosk_id": self.kiosk_id, "screen": self.screen, "language": self.language,
            "settings": self.settings.to_json(), "notice": self.notice,
        }
        screen = self.screen
        if screen == "pin":
            state["pin_remaining"] = self.pin_remaining
        if screen in ("menu", "options", "copies", "confirm", "payment") and self.menu:
            state["municipality"] = self.municipality
        if screen == "menu" and self.menu:
            state["items"] = self.menu["items"]
        if screen in ("options", "copies", "confirm", "payment") and self.item:
            state["item"] = self.item
        if screen == "options":
            state["spec"] = self._option_spec()
            state["options"] = self.options
        if screen in ("copies", "confirm"):
            state["copies"] = self.copies
            state["max_copies"] = int(self.menu.get("max_copies", 10)) if self.menu else 10
        if screen == "confirm":
            state["total_yen"] = self.total
            state["summary"] = self._summary()
        if screen == "payment":
            state.update(total_yen=self.total, paid_yen=self.paid,
                         due_yen=max(0, self.total - self.paid),
                         change_yen=max(0, self.paid - self.total),
                         coins=list(COINS), notes=list(NOTES))
        if screen == "printing":
            state["progress"] = {"done": self.progress[0], "total": self.progress[1]}
        if screen == "result":
            state["result"] = self.result
        if screen == "error":
            state["error"] = self.error
            state["refund_yen"] = self.refund_yen
        return state

    def _expect(self, *screens: str) -> None:
        if self.screen not in screens:
            raise Problem("conflict", f"not possible on the {self.screen} screen",
                          screen=self.screen)

    def _fail(self, problem: dict[str, Any]) -> None:
        """An error screen; the money goes back and the card comes out next."""
        self.error = _shown(problem)
        self.refund_yen = self.paid
        self.paid = 0
        self.screen = "error"

    # -- screens -------------------------------------------------------------
    async def begin(self, language: str) -> None:
        """はじめる: the start screen's button, with the language chosen."""
        self._expect("start")
        self.language = language
        self.notice = None
        self.screen = "insert"

    def set_language(self, language: str) -> None:
        self.language = language

    async def insert(self, reader: str) -> None:
        """カードを置く / スマートフォンをかざす: read the card the tester chose."""
        self._expect("insert")
        self.notice = None
        key = self.settings.card
        if not key or key not in self.wallet:
            self.notice = {"code": "no-card"}
            return
        card = await asyncio.to_thread(self.wallet.get, key)
        if (reader == "smartphone") != (card.credential == "smartphone"):
            self.notice = {"code": "card-unreadable"}
            return
        self.card = card
        try:
            # The chip answers "locked" or "no PIN" without counting an attempt;
            # a working card refuses the empty PIN as malformed (ValueError).
            await asyncio.to_thread(card.verify_pin, None)
        except PinLocked as exc:
            self._locked(card, exc)
            return
        except CardError as exc:
            self._fail(exc.problem())
            return
        except ValueError:
            pass
        await self._open_center()

    def _locked(self, card: VirtualCard, exc: PinLocked) -> None:
        """A locked PIN: reset here if reserved on the phone and this is a
        Seven-Eleven; otherwise say where it can be done."""
        reservation = card.pin_reset_reservation(datetime.now(UTC))
        if reservation == "reserved" and self.settings.store.chain in PIN_RESET_CHAINS:
            self.screen = "pin-reset"
            return
        problem = exc.problem()
        if reservation == "reserved":
            problem["reason"] = "pin-reset-at-seven-eleven"
        elif reservation == "expired":
            problem["reason"] = "pin-reset-expired"
        self._fail(problem)

    async def finish_pin_reset(self, pin: str, confirm: str) -> None:
        """暗証番号の再設定 (Seven-Eleven): the new PIN twice, then on as usual."""
        self._expect("pin-reset")
        assert self.card is not None
        if pin != confirm:
            self.notice = {"code": "pin-mismatch"}
            return
        try:
            await asyncio.to_thread(self.card.finish_pin_reset, pin, datetime.now(UTC))
        except PinResetRefused as exc:
            self._fail(exc.problem())
            return
        await self._open_center()
        if self.screen == "pin":
            self.notice = {"code": "pin-reset-done"}

    async def _open_center(self) -> None:
        self.notice = None
        self.client = LinkedClient(self.terminal)
        await self.client.__aenter__()
        try:
            await self._new_center_session()
        except KioskProblem as exc:
            self._fail(exc.problem)
            return
        self.pin_remaining = None
        self.screen = "pin"

    async def _new_center_session(self) -> None:
        assert self.client is not None and self.card is not None
        if self.center is not None:
            with contextlib.suppress(KioskProblem):
                await self.client.end_session(self.center["session_id"])
        credential = "smartphone" if self.card.credential == "smartphone" else "card"
        self.center = await self.client.start_session(credential)
        self.center_started = time.monotonic()

    async def enter_pin(self, pin: str) -> None:
        """暗証番号: the card checks it and signs the center's challenge."""
        self._expect("pin")
        assert self.client is not None and self.card is not None
        self.notice = None
        try:
            if time.monotonic() - self.center_started > CHALLENGE_RENEW_SECONDS:
                await self._new_center_session()
            assert self.center is not None
            try:
                auth = await self.client.authenticate(self.center, self.card, pin)
            except KioskProblem as exc:
                if exc.code != "challenge-expired":
                    raise
                # The tester moved the clock, or the resident was slow: one new challenge.
                await self._new_center_session()
                auth = await self.client.authenticate(self.center, self.card, pin)
            self.municipality = auth["municipality"]
            self.menu = await self.client.menu(self.center["session_id"])
        except KioskProblem as exc:
            if exc.code == "pin-incorrect":
                self.pin_remaining = int(exc.problem.get("remaining", 0))
                self.notice = _shown(exc.problem)
                return
            self._fail(exc.problem)
            return
        self.screen = "menu"

    async def register_use(self, municipality_code: str) -> None:
        """本籍地の利用登録 from the menu: an item that needs it names the municipality
        (``register_with``); once registered, that municipality's items join the menu."""
        self._expect("menu")
        assert self.client is not None and self.center is not None and self.menu is not None
        offered = {(item.get("register_with") or {}).get("code"): item["register_with"]
                   for item in self.menu["items"] if item.get("register_with")}
        if municipality_code not in offered:
            raise invalid_request([{"field": "municipality_code",
                                    "message": "no item on this menu registers there"}])
        self.notice = None
        try:
            result = await self.client.register_use(self.center["session_id"],
                                                    municipality_code)
            self.menu = await self.client.menu(self.center["session_id"])
        except KioskProblem as exc:
            self.notice = _shown(exc.problem)
            return
        # Pending until the domicile's clerk approves it: 「登録手続き中」 on the menu.
        code = "use-pending" if result.get("status") == "pending" else "use-registered"
        self.notice = {"code": code, "name": offered[municipality_code]["name"]}

    def _option_spec(self) -> dict[str, Any] | None:
        """What the 記載内容 screen asks for the chosen type, or None to skip it."""
        if self.item is None:
            return None
        cert_type = self.item["type"]
        if cert_type == CertificateType.JUMINHYO.value:
            household = self.menu.get("household", []) if self.menu else []
            return {"kind": "juminhyo", "household": household, "flags": list(JUMINHYO_FLAGS)}
        if cert_type in {t.value for t in TAX_TYPES} and self.item.get("fiscal_years"):
            return {"kind": "fiscal_year", "fiscal_years": self.item["fiscal_years"]}
        if len(self.item.get("persons") or []) > 1:  # 個人事項 / 附票 of another person
            return {"kind": "person", "persons": self.item["persons"]}
        if cert_type == CertificateType.RISAI.value and self.item.get("disasters"):
            return {"kind": "disaster", "disasters": self.item["disasters"]}
        return None

    async def select(self, cert_type: str, municipality_code: str | None) -> None:
        """証明書の選択."""
        self._expect("menu")
        assert self.menu is not None
        self.notice = None
        for item in self.menu["items"]:
            code = (item.get("municipality") or {}).get("code")
            if item.get("type") == cert_type and (municipality_code in (None, code)):
                break
        else:
            raise invalid_request([{"field": "type", "message": "not on this menu"}])
        if not item.get("available"):
            raise Problem("conflict", "this certificate is not available", screen=self.screen)
        self.item = item
        self.copies = 1
        spec = self._option_spec()
        self.options = self._default_options(spec)
        self.screen = "options" if spec else "copies"

    @staticmethod
    def _default_options(spec: dict[str, Any] | None) -> dict[str, Any]:
        if spec is None:
            return {}
        if spec["kind"] == "juminhyo":
            return {"members": "household", **dict.fromkeys(JUMINHYO_FLAGS, False)}
        if spec["kind"] == "fiscal_year":
            return {"fiscal_year": max(spec["fiscal_years"])}
        if spec["kind"] == "person":
            persons = spec["persons"]
            return {"person": next((p for p in persons if p["self"]), persons[0])["person_id"]}
        return {"disaster_id": spec["disasters"][0]["disaster_id"]}

    async def set_options(self, options: dict[str, Any]) -> None:
        """記載内容: checked against what this resident's menu offered."""
        self._expect("options")
        spec = self._option_spec()
        assert spec is not None
        errors = []
        if spec["kind"] == "juminhyo":
            ids = {m["member_id"] for m in spec["household"]}
            members = options.get("members", "household")
            if members != "household" and (not isinstance(members, list) or not members
                                           or not set(members) <= ids):
                errors.append({"field": "members", "message": "household members only"})
            unknown = set(options) - {"members", *JUMINHYO_FLAGS}
        elif spec["kind"] == "person":
            if options.get("person") not in {p["person_id"] for p in spec["persons"]}:
                errors.append({"field": "person", "message": "not offered"})
            unknown = set(options) - {"person"}
        elif spec["kind"] == "fiscal_year":
            if options.get("fiscal_year") not in spec["fiscal_years"]:
                errors.append({"field": "fiscal_year", "message": "not offered"})
            unknown = set(options) - {"fiscal_year"}
        else:
            if options.get("disaster_id") not in {d["disaster_id"] for d in spec["disasters"]}:
                errors.append({"field": "disaster_id", "message": "not offered"})
            unknown = set(options) - {"disaster_id"}
        errors += [{"field": name, "message": "not an option of this certificate"}
                   for name in sorted(unknown)]
        if errors:
            raise invalid_request(errors)
        self.options = dict(options)
        self.screen = "copies"

    async def set_copies(self, copies: int) -> None:
        """部数."""
        self._expect("copies")
        limit = int(self.menu.get("max_copies", 10)) if self.menu else 10
        if not 1 <= copies <= limit:
            raise invalid_request([{"field": "copies", "message": f"1 to {limit}"}])
        self.copies = copies
        self.screen = "confirm"

    def _summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = dict(self.options)
        members = self.options.get("members")
        if isinstance(members, list) and self.menu:
            names = {m["member_id"]: m["name"] for m in self.menu.get("household", [])}
            summary["members"] = [names.get(m, "") for m in members]
        if self.item and "person" in self.options:
            summary["person_name"] = next((p["name"] for p in self.item.get("persons", [])
                                           if p["person_id"] == self.options["person"]), "")
        return summary

    async def confirm(self) -> None:
        """確認 → お支払い."""
        self._expect("confirm")
        self.paid = 0
        self.screen = "payment"

    async def back(self) -> None:
        """戻る: one screen back, choices kept."""
        self._expect("options", "copies", "confirm")
        self.notice = None
        if self.screen == "options":
            self.screen = "menu"
        elif self.screen == "copies":
            self.screen = "options" if self._option_spec() else "menu"
        else:
            self.screen = "copies"

    async def insert_money(self, yen: int) -> None:
        """硬貨・紙幣の投入. The machine takes no more once the total is reached."""
        self._expect("payment")
        if yen not in COINS + NOTES:
            raise invalid_request([{"field": "yen", "message": "not a Japanese coin or note"}])
        if self.paid >= self.total:
            raise Problem("conflict", "the total is already paid", screen=self.screen)
        self.paid += yen

    async def cancel_payment(self) -> None:
        """取消: the inserted money comes back; back to the menu."""
        self._expect("payment")
        self.notice = {"code": "money-returned", "yen": self.paid} if self.paid else None
        self.paid = 0
        self.screen = "menu"

    async def start_printing(self) -> None:
        """印刷する: order, download, print, report — in the background; the
        page follows the progress."""
        self._expect("payment")
        if self.paid < self.total:
            raise Problem("conflict", "the total is not paid yet", screen=self.screen)
        self.notice = None
        self.screen = "printing"
        self.progress = (0, self.copies)
        self._task = asyncio.create_task(self._print())

    async def _print(self) -> None:
        try:
            await self._print_order()
        except Exception:  # a defect: the resident still gets the money and the card back
            log.exception("printing failed")
            self._fail({"code": "internal-error"})

    async def _print_order(self) -> None:
        assert self.client is not None and self.center and self.item and self.municipality
        item, fee_per_copy = self.item, int(self.item["fee_yen"])
        body: dict[str, Any] = {"type": item["type"], "copies": self.copies,
                                "options": self.options, "expected_fee_yen": self.total}
        issuer = (item.get("municipality") or {}).get("code")
        if issuer and issuer != self.municipality.get("code"):
            body["municipality_code"] = issuer  # a family register from the 本籍
        try:
            _, order, _ = await self.client.request(
                "POST", f"/v1/sessions/{self.center['session_id']}/orders", body)
        except KioskProblem as exc:
            self._fail(exc.problem)
            return
        if self.settings.network == "after-order":
            self.client.cut = True
        self.print_token = secrets.token_urlsafe(16)
        jam = PaperJam(self.settings.paper_jam)
        printed: list[str] = []
        failed: list[dict[str, str]] = []
        lost: dict[str, Any] | None = None
        for number, certificate in enumerate(order["certificates"], 1):
            self.progress = (number - 1, len(order["certificates"]))
            copy = PrintedCopy(number, certificate["certificate_id"],
                               certificate["certificate_number"], "failed")
            self.prints.append(copy)
            if lost is not None:
                copy.reason = "network"
            elif jam.fails(number):
                copy.reason = "paper-jam"
            else:
                try:
                    copy.pdf = await self.client.download(certificate)
                    copy.pages = await asyncio.to_thread(render_pages, copy.pdf)
                    copy.status = "printed"
                except KioskProblem as exc:
                    lost = exc.problem
                    copy.reason = "network" if exc.code == "network-error" else exc.code
            if copy.status == "printed":
                printed.append(copy.certificate_id)
            else:
                failed.append({"certificate_id": copy.certificate_id, "reason": copy.reason})
        self.progress = (len(order["certificates"]), len(order["certificates"]))
        if self.settings.network == "before-result":
            self.client.cut = True
        pending = False
        try:
            settlement = await self.client.report_result(order["order_id"], printed, failed)
        except KioskProblem as exc:
            if exc.code == "download-expired" and "charged_yen" in exc.problem:
                settlement = {k: exc.problem[k] for k in ("charged_yen", "refunded_yen")}
            else:
                # Store and forward: the result goes to the center when the line is
                # back; until then the kiosk charges only what it printed.
                self._outbox.add(self.terminal, order["order_id"], printed, failed)
                pending = True
                settlement = {"charged_yen": fee_per_copy * len(printed),
                              "refunded_yen": fee_per_copy * len(failed)}
        if not printed and lost is not None:
            self._fail(lost)
            return
        charged = int(settlement["charged_yen"])
        self.result = {
            "order_id": order["order_id"], "label": item["label"],
            "copies": [self._copy_json(c) for c in self.prints],
            "printed": len(printed), "failed": len(failed),
            "paid_yen": self.paid, "charged_yen": charged,
            "refunded_yen": int(settlement["refunded_yen"]),
            "change_yen": self.paid - charged, "report_pending": pending,
        }
        self.paid = 0
        self.screen = "result"
        self.touch()

    def _copy_json(self, copy: PrintedCopy) -> dict[str, Any]:
        base = f"/api/kiosks/{self.kiosk_id}/prints/{self.print_token}/{copy.number}"
        return {"number": copy.number, "certificate_number": copy.certificate_number,
                "status": copy.status, "reason": copy.reason,
                "pages": [f"{base}/page-{i + 1}.png" for i in range(len(copy.pages))],
                "pdf_url": f"{base}.pdf" if copy.pdf and copy.status == "printed" else None}

    def printed_file(self, token: str, number: int, page: int | None) -> bytes | None:
        """A printed copy's PDF (page None) or page image, while it is on screen."""
        if self.screen != "result" or not token or token != self.print_token:
            return None
        for copy in self.prints:
            if copy.number == number and copy.status == "printed":
                if page is None:
                    return copy.pdf
                return copy.pages[page - 1] if 1 <= page <= len(copy.pages) else None
        return None

    async def finish(self) -> None:
        """終了 / 中止: the card comes out ("take your card")."""
        self._expect("pin", "pin-reset", "menu", "options", "copies", "confirm", "result",
                     "error")
        await self._end()
        self.notice = None
        self.screen = "take-card"

    async def cancel_insert(self) -> None:
        self._expect("insert")
        self.notice = None
        self.screen = "start"

    async def take_card(self) -> None:
        """カードを取る: the next resident's start screen."""
        self._expect("take-card")
        self.screen = "start"
        self.language = "ja"

    async def reset(self, reason: str = "idle") -> None:
        """No activity for too long: back to the start, money returned, card
        ejected, nothing of the resident kept. Not while printing."""
        if self.screen == "printing" or self.screen == "start":
            return
        returned = self.paid
        await self._end()
        self.screen = "start"
        self.language = "ja"
        self.notice = {"code": f"{reason}-reset", **({"yen": returned} if returned else {})}

    async def _end(self) -> None:
        """Card out: close the center session, then forget the resident."""
        client, center = self.client, self.center
        if client is not None:
            client.cut = False  # the line is back once the transaction is over
            if center is not None:
                with contextlib.suppress(KioskProblem):
                    await client.end_session(center["session_id"])
            await client.__aexit__(None, None, None)
        self._clear()
        self._outbox.flush()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._end()


class Outbox:
    """Print results the center has not received yet (the line was cut).
    Sent when the line is back; if they never arrive, the center voids the
    order after 10 minutes and nothing is charged."""

    RETRY_SECONDS = 5.0
    GIVE_UP_SECONDS = 600.0

    def __init__(self) -> None:
        self._waiting: list[tuple[Terminal, str, list[str], list[dict[str, str]]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, terminal: Terminal, order_id: str, printed: list[str],
            failed: list[dict[str, str]]) -> None:
        self._waiting.append((terminal, order_id, list(printed), list(failed)))

    def flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for entry in waiting:
            task = asyncio.create_task(self._deliver(*entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, terminal: Terminal, order_id: str, printed: list[str],
                       failed: list[dict[str, str]]) -> None:
        deadline = time.monotonic() + self.GIVE_UP_SECONDS
        while True:
            try:
                async with KioskClient(terminal) as client:
                    settlement = await client.report_result(order_id, printed, failed)
                log.info("late result of order %s delivered: charged %s yen", order_id,
                         settlement.get("charged_yen"))
                return
            except KioskProblem as exc:
                if exc.code != "network-error" or time.monotonic() > deadline:
                    log.info("late result of order %s: %s", order_id, exc.code)
                    return
            await asyncio.sleep(self.RETRY_SECONDS)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
