"""The subject binding of issue 14 without a server: the marks the renderers write,
the center's pure check of them against the statement and the session, pagination
of large families, and the anti-forgery finish of a certificate of several pages."""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pikepdf
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from center.antiforgery import SHEET_CLAIM, finish_certificate, finish_sheets
from center.antiforgery.qr import certificate_claims
from center.subject_binding import (
    FOREIGN_PAGE,
    SUBJECT_MISMATCH,
    Finding,
    Statement,
    UnreadableMarks,
    check_certificate,
    expected_tags,
    read_marks,
)
from konbini.jws import verify_es256
from konbini.subject_binding import PageMark, subject_key, subject_tag
from konbini.wire import CertificateType
from municipal_server import documents
from municipal_server.personas import CHIYODA, large_family_household, large_family_register
from municipal_server.profile import load_profile
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.koseki import render_koseki
from municipal_server.render.pdf import paginate
from tests.support import pdf_pages_text

SECRET = b"s" * 32
NUMBER = "131016-2026-0000042"
DAY = date(2026, 11, 24)
HOLDER, SPOUSE, OTHER = "12345678901", "12345678902", "99999999999"


def _tags(*codes: str, number: str = NUMBER) -> frozenset[str]:
    return expected_tags(SECRET, CHIYODA, number, codes)


def _mark(page: int, pages: int, *codes: str, number: str = NUMBER,
          cert_type: str = "juminhyo") -> list[PageMark]:
    return [PageMark(number, cert_type, page, pages, tuple(sorted(_tags(*codes,
                                                                        number=number))))]


def _check(statement: Statement, pages: list[list[PageMark]], *, holder: str = HOLDER,
           ordered: str = "juminhyo") -> Finding | None:
    return check_certificate(statement, pages, ordered_type=ordered, holder=holder,
                             tags=_tags(*statement.subjects),
                             holder_tag=next(iter(_tags(holder))))


HOUSEHOLD = Statement(NUMBER, "juminhyo", 2, (HOLDER, SPOUSE))


def test_the_holders_household_over_two_pages_passes() -> None:
    pages = [_mark(1, 2, HOLDER, SPOUSE), _mark(2, 2, HOLDER, SPOUSE)]
    assert _check(HOUSEHOLD, pages) is None
    # The spouse holds the card: the same certificate is hers too.
    assert _check(HOUSEHOLD, pages, holder=SPOUSE) is None


def test_a_juminhyo_of_chosen_members_is_the_holders_household() -> None:
    """霞 太郎 may have a copy of 霞 花子's record alone: not printed, but of her household."""
    chosen = Statement(NUMBER, "juminhyo", 1, (SPOUSE,), household=(HOLDER, SPOUSE))
    assert _check(chosen, [_mark(1, 1, SPOUSE)]) is None
    # A member from outside the household, or a holder outside it, is not.
    outside = Statement(NUMBER, "juminhyo", 1, (OTHER,), household=(HOLDER, SPOUSE))
    assert _check(outside, [_mark(1, 1, OTHER)]) == Finding(SUBJECT_MISMATCH,
                                                            "holder-not-stated")
    theirs = Statement(NUMBER, "juminhyo", 1, (OTHER,), household=(OTHER,))
    assert _check(theirs, [_mark(1, 1, OTHER)]) == Finding(SUBJECT_MISMATCH,
                                                          "holder-not-stated")
    # The pages still have to be of the members stated.
    assert _check(chosen, [_mark(1, 1, OTHER)]) == Finding(SUBJECT_MISMATCH, "subjects", 1)


def test_a_kojin_of_another_person_of_the_holders_koseki() -> None:
    """霞 太郎 may have 霞 花子's 戸籍個人事項証明書 (option ``person``): one subject, his 戸籍."""
    register = (HOLDER, SPOUSE, "kp-no-code")
    for cert_type in ("koseki_kojin", "koseki_fuhyo"):
        spouse = Statement(NUMBER, cert_type, 1, (SPOUSE,), family_register=register)
        assert _check(spouse, [_mark(1, 1, SPOUSE, cert_type=cert_type)],
                      ordered=cert_type) is None
        stranger = Statement(NUMBER, cert_type, 1, (OTHER,), family_register=register)
        assert _check(stranger, [_mark(1, 1, OTHER, cert_type=cert_type)],
                      ordered=cert_type) == Finding(SUBJECT_MISMATCH, "holder-not-stated")
        two = Statement(NUMBER, cert_type, 1, (HOLDER, SPOUSE), family_register=register)
        assert _check(two, [_mark(1, 1, HOLDER, SPOUSE, cert_type=cert_type)],
                      ordered=cert_type) == Finding(SUBJECT_MISMATCH, "other-subjects-stated")
        # Printed from someone else while stating the spouse: the marks say so.
        assert _check(spouse, [_mark(1, 1, OTHER, cert_type=cert_type)],
                      ordered=cert_type) == Finding(SUBJECT_MISMATCH, "subjects", 1)


def test_a_statement_of_another_person_is_refused() -> None:
    stated = Statement(NUMBER, "juminhyo", 1, (OTHER,))
    assert _check(stated, [_mark(1, 1, OTHER)]) == Finding(SUBJECT_MISMATCH,
                                                           "holder-not-stated")


def test_pages_drawn_from_another_person_are_refused_though_the_statement_is_right() -> None:
    """The Yokohama case: the statement names the holder, the paper is someone else's."""
    stated = Statement(NUMBER, "juminhyo", 1, (HOLDER,))
    assert _check(stated, [_mark(1, 1, OTHER)]) == Finding(SUBJECT_MISMATCH, "subjects", 1)


def test_a_foreign_page_2_is_its_own_kind() -> None:
    """The Tokushima case: page 2 of a 3-page 戸籍 was someone else's."""
    stated = replace(HOUSEHOLD, pages=3)
    pages = [_mark(1, 3, HOLDER, SPOUSE), _mark(2, 3, OTHER), _mark(3, 3, HOLDER, SPOUSE)]
    assert _check(stated, pages) == Finding(FOREIGN_PAGE, "subjects", 2)
    # A page of another certificate of the same people is foreign too.
    other_number = "131016-2026-0000043"
    pages[1] = _mark(2, 3, HOLDER, SPOUSE, number=other_number)
    assert _check(stated, pages) == Finding(FOREIGN_PAGE, "certificate-number", 2)


@pytest.mark.parametrize(("pages", "finding"), [
    ([_mark(1, 2, HOLDER, SPOUSE)], Finding(SUBJECT_MISMATCH, "page-count")),
    ([_mark(1, 2, HOLDER, SPOUSE), []], Finding(FOREIGN_PAGE, "unmarked-page", 2)),
    ([[], _mark(2, 2, HOLDER, SPOUSE)], Finding(SUBJECT_MISMATCH, "unmarked-page", 1)),
    ([_mark(2, 2, HOLDER, SPOUSE), _mark(1, 2, HOLDER, SPOUSE)],
     Finding(SUBJECT_MISMATCH, "page-order", 1)),
    ([_mark(1, 2, HOLDER), _mark(2, 2, HOLDER, SPOUSE)],
     Finding(SUBJECT_MISMATCH, "subjects", 1)),
    ([_mark(1, 2, HOLDER, SPOUSE), _mark(2, 2, HOLDER, SPOUSE, cert_type="inkan")],
     Finding(FOREIGN_PAGE, "type", 2)),
    ([_mark(1, 2, HOLDER, SPOUSE), _mark(2, 2, HOLDER, SPOUSE) * 2],
     Finding(FOREIGN_PAGE, "marks", 2)),
])
def test_every_page_must_say_the_same_certificate_in_its_place(
        pages: list[list[PageMark]], finding: Finding) -> None:
    assert _check(HOUSEHOLD, pages) == finding


def test_sole_subject_types_are_the_holders_alone() -> None:
    for cert_type in ("inkan", "juminhyo_kisai", "tax_income", "koseki_kojin",
                      "koseki_fuhyo"):
        own = Statement(NUMBER, cert_type, 1, (HOLDER,))
        assert _check(own, [_mark(1, 1, HOLDER, cert_type=cert_type)],
                      ordered=cert_type) is None
        shared = Statement(NUMBER, cert_type, 1, (HOLDER, SPOUSE))
        assert _check(shared, [_mark(1, 1, HOLDER, SPOUSE, cert_type=cert_type)],
                      ordered=cert_type) == Finding(SUBJECT_MISMATCH, "other-subjects-stated")
    # The type stated must be the type ordered.
    assert _check(Statement(NUMBER, "inkan", 1, (HOLDER,)), [_mark(1, 1, HOLDER)]) == Finding(
        SUBJECT_MISMATCH, "type-stated")


def test_tags_are_keyed_per_municipality_and_salted_by_the_number() -> None:
    key = subject_key(SECRET, CHIYODA)
    assert subject_key(SECRET, "452017") != key
    tag = subject_tag(key, NUMBER, HOLDER)
    assert HOLDER not in tag and len(tag) == 32
    assert subject_tag(key, "131016-2026-0000043", HOLDER) != tag
    assert subject_tag(subject_key(b"t" * 32, CHIYODA), NUMBER, HOLDER) != tag


# -- the marks the renderers write ------------------------------------------------------------

PROFILE = load_profile(CHIYODA)
KEY = subject_key(SECRET, CHIYODA)


def _large_koseki(number: str = NUMBER) -> bytes:
    register, persons = large_family_register(CHIYODA)
    return render_koseki(documents.koseki_input(
        PROFILE, CertificateType.KOSEKI_ZENBU, register, persons, persons[0], number=number,
        day=DAY, tag=functools.partial(subject_tag, KEY, number)))


def test_a_12_person_koseki_runs_over_pages_each_marked_and_numbered() -> None:
    pdf = _large_koseki()
    marks = read_marks(pdf)
    pages = len(marks)
    assert pages >= 3
    _, persons = large_family_register(CHIYODA)
    codes = [p.resident_code for p in persons]
    assert all(code for code in codes) and len(codes) == 12
    stated = Statement(NUMBER, "koseki_zenbu", pages, tuple(c for c in codes if c))
    assert _check(stated, marks, holder=codes[0], ordered="koseki_zenbu") is None
    for m, text in enumerate(pdf_pages_text(pdf), start=1):
        flat = "".join(text.split())
        assert NUMBER in flat and f"{pages}枚中{m}枚目" in flat
        assert codes[0] not in text  # the 住民票コード itself is never written
    texts = "".join("".join(t.split()) for t in pdf_pages_text(pdf))
    assert texts.count("【名】") == 12


def test_a_12_member_household_runs_over_several_pages() -> None:
    household = large_family_household(CHIYODA)
    members = [resident for _, resident in household.members]
    pdf = render_juminhyo(documents.juminhyo_input(
        PROFILE, household.household, members, members[0], whole_household=True,
        show_relationship=True, number=NUMBER, day=DAY, copy_index=1, copies=1,
        tag=functools.partial(subject_tag, KEY, NUMBER)))
    marks = read_marks(pdf)
    # Three: each member's block has four rows since it prints 住所を定めた年月日 and 届出日.
    assert len(marks) == 3
    stated = Statement(NUMBER, "juminhyo", 3, tuple(m.resident_code for m in members))
    assert _check(stated, marks, holder=members[5].resident_code) is None
    # Without a key nothing is marked, and the check refuses.
    unmarked = render_juminhyo(documents.juminhyo_input(
        PROFILE, household.household, members[:3], members[0], whole_household=False,
        show_relationship=False, number=NUMBER, day=DAY, copy_index=1, copies=1))
    assert read_marks(unmarked) == [[]]


def test_unreadable_pdfs_are_said_to_be() -> None:
    with pytest.raises(UnreadableMarks):
        read_marks(b"%PDF-1.4 not really")


@pytest.mark.parametrize(("heights", "pages"), [
    ([10, 10, 10], [[0, 1, 2]]),
    ([40, 40, 40], [[0, 1], [2]]),
    ([45, 45], [[0], [1]]),  # the closing needs room: the last entry moves on
    ([90], [[0], []]),  # too little room for the closing after it: a page of its own
])
def test_paginate(heights: list[float], pages: list[list[int]]) -> None:
    assert paginate(heights, 100, 100, 20) == pages


def test_paginate_refuses_an_entry_taller_than_a_page() -> None:
    with pytest.raises(ValueError, match="taller"):
        paginate([10, 120], 100, 100, 20)


# -- the anti-forgery finish, sheet by sheet --------------------------------------------------

def _finish(front: bytes, key: ec.EllipticCurvePrivateKey) -> tuple[bytes, list[str]]:
    claims = certificate_claims(
        certificate_id="cid-1", certificate_number=NUMBER, cert_type="koseki_zenbu",
        municipality_code=CHIYODA, issued_at=datetime(2026, 11, 24, 1, tzinfo=UTC),
        front_pdf_sha256=hashlib.sha256(front).digest())
    return finish_sheets(front, claims=claims,
                         sign=functools.partial(_sign, key=key), scramble_secret=SECRET,
                         certificate_number=NUMBER, municipality_name="千代田区",
                         cert_label="戸籍全部事項証明書")


def _sign(claims: dict, *, key: ec.EllipticCurvePrivateKey) -> str:  # type: ignore[type-arg]
    from konbini.jws import sign_es256

    return sign_es256(claims, key=key, kid="k1")


def test_each_sheet_gets_its_own_back_and_token() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    front = _large_koseki()
    pdf, tokens = _finish(front, key)
    with pikepdf.open(io.BytesIO(front)) as source:
        sheets = len(source.pages)
    with pikepdf.open(io.BytesIO(pdf)) as finished:
        assert len(finished.pages) == 2 * sheets
    assert len(tokens) == sheets
    seen = set()
    for m, token in enumerate(tokens, start=1):
        _, claims = verify_es256(token, {"k1": key.public_key()})
        assert claims[SHEET_CLAIM] == [m, sheets]
        assert claims["cid"] == "cid-1" and claims["num"] == NUMBER
        seen.add(claims["fpd"])
    assert len(seen) == sheets  # each token names its own front page
    texts = pdf_pages_text(pdf)
    assert all(NUMBER in "".join(texts[i].split()) for i in range(0, len(texts), 2))


def test_a_one_page_certificate_is_finished_exactly_as_before() -> None:
    register, persons = large_family_register(CHIYODA)
    front = render_koseki(documents.koseki_input(
        PROFILE, CertificateType.KOSEKI_KOJIN, register, persons, persons[0], number=NUMBER,
        day=DAY, tag=functools.partial(subject_tag, KEY, NUMBER)))
    claims = certificate_claims(
        certificate_id="cid-1", certificate_number=NUMBER, cert_type="koseki_kojin",
        municipality_code=CHIYODA, issued_at=datetime(2026, 11, 24, 1, tzinfo=UTC),
        front_pdf_sha256=hashlib.sha256(front).digest())
    # ES256 signatures are randomised: compare with a deterministic "signature".
    signed: list[dict] = []

    def sign(c: dict) -> str:
        signed.append(dict(c))
        return f"t.{sorted(c.items())!r}.s"

    kwargs = dict(claims=claims, sign=sign,
                  scramble_secret=SECRET, certificate_number=NUMBER,
                  municipality_name="千代田区", cert_label="戸籍個人事項証明書")
    pdf, tokens = finish_sheets(front, **kwargs)  # type: ignore[arg-type]
    assert (pdf, tokens[0]) == finish_certificate(front, **kwargs)  # type: ignore[arg-type]
    # No sheet claim in a one-sheet certificate's token (the claims' bytes are random,
    # so a substring test of the token could match by chance).
    assert signed and all(SHEET_CLAIM not in c for c in signed)
