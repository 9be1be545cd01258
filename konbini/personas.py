"""The personas of DESIGN.md section 5: who each one is on the card side.

The resident records behind them live in ``municipal_server.personas``;
this table says which municipality holds each one and what state the card
is in, so the demo and the tests can issue the same wallet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonaCard:
    key: str
    municipality_code: str
    credential: str = "card"  # card | face_auth | smartphone
    pin: str | None = "1234"
    card_state: str = "valid"  # valid | suspended | expired | locked
    shows: str = ""
    signature_pin: str | None = None  # 署名用電子証明書の暗証番号 (PIN reset at Seven-Eleven)


CHIYODA, MIYAZAKI, YOKOHAMA = "131016", "452017", "141003"

PERSONA_CARDS: tuple[PersonaCard, ...] = (
    PersonaCard("kasumi-taro", CHIYODA, shows="the happy path for every type"),
    PersonaCard("kasumi-hanako", CHIYODA, shows="household selection"),
    PersonaCard("kasumi-jiro", CHIYODA, shows="under 15: refused"),
    PersonaCard("bango-hanako", MIYAZAKI,
                shows="lives in 宮崎市, 本籍 in 千代田区: family registers after the use "
                      "registration"),
    PersonaCard("no-seal", CHIYODA, shows="印鑑登録証明書 unavailable, others fine"),
    PersonaCard("seal-abolished", CHIYODA, shows="refused although once registered"),
    PersonaCard("moved-out", CHIYODA, shows="refused"),
    PersonaCard("moving-out", CHIYODA, shows="refused"),
    PersonaCard("deceased", CHIYODA, shows="refused"),
    PersonaCard("support-measure", CHIYODA, shows="refused"),
    PersonaCard("gaiji", CHIYODA, shows="refused with a clear reason"),
    PersonaCard("foreign-resident", CHIYODA, shows="nationality items, Western dates"),
    PersonaCard("moved-in-today", CHIYODA, shows="moved in today: refused until tomorrow"),
    PersonaCard("domicile-elsewhere", CHIYODA,
                shows="本籍 in 宮崎市, no use registration: family registers say "
                      "use-registration-required"),
    PersonaCard("face-auth", CHIYODA, credential="face_auth", pin=None,
                shows="refused: not usable for this service"),
    PersonaCard("lost-card", CHIYODA, card_state="suspended", shows="refused: card suspended"),
    PersonaCard("expired-card", CHIYODA, card_state="expired", shows="refused: card expired"),
    PersonaCard("locked", CHIYODA, card_state="locked", shows="refused before any request"),
    PersonaCard("smartphone", CHIYODA, credential="smartphone",
                shows="accepted where the chain supports it"),
    PersonaCard("yokohama", YOKOHAMA, shows="municipality unavailable"),
    PersonaCard("household-moving-out", CHIYODA,
                shows="a member of the household moving out: 住民票の写し refused"),
    PersonaCard("koseki-pending", CHIYODA,
                shows="a 届出 not yet entered in the 戸籍: 戸籍証明書 refused"),
    PersonaCard("pin-reset", CHIYODA, card_state="locked", signature_pin="KONBINI1",
                shows="PIN locked; knows the signature PIN: reserves a reset on the phone, "
                      "finishes it at a Seven-Eleven kiosk within 24 hours"),
    PersonaCard("long-address", CHIYODA,
                shows="an address longer than a certificate prints: refused"),
    PersonaCard("large-family", CHIYODA,
                shows="12 persons in one household and one 戸籍: certificates of several "
                      "pages"),
)


def persona_card(key: str) -> PersonaCard:
    for card in PERSONA_CARDS:
        if card.key == key:
            return card
    raise KeyError(key)
