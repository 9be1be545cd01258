"""Money and status of orders, contracts, fee periods, statements, the history
generator: the pure rules, without a server."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from center.history import FY2023, MunicipalityTerms, generate, type_targets
from center.model.orders import (
    CertificateStatus,
    Copy,
    OrderStatus,
    ResultError,
    check_result,
    is_expired,
    settle,
    void,
)
from center.model.settlement import (
    BUILT_IN_CONTRACT,
    GROUP_OF_TYPE,
    JST,
    Contract,
    FeePeriod,
    LedgerFigure,
    Month,
    TermsError,
    chain_statement,
    contract_in_force,
    contribution_share,
    fee_in_force,
    fiscal_year_of,
    fiscal_year_span,
    municipal_statement,
)
from center.statement_documents import statement_csv, statement_pdf

COPIES = [Copy("a", 300), Copy("b", 300), Copy("c", 300)]


def test_printed_copies_are_charged_and_the_rest_refunded() -> None:
    result = settle(COPIES, {"a"}, {"b": "paper-jam", "c": "paper-jam"})
    assert result.status is OrderStatus.SETTLED
    assert (result.charged_yen, result.refunded_yen) == (300, 600)
    assert [c.status for c in result.copies] == [CertificateStatus.PRINTED,
                                                 CertificateStatus.VOID, CertificateStatus.VOID]
    assert result.copies[1].void_reason == "paper-jam"


def test_a_void_after_ten_minutes_refunds_everything() -> None:
    result = void(COPIES)
    assert result.status is OrderStatus.VOIDED
    assert (result.charged_yen, result.refunded_yen) == (0, 900)
    until = datetime(2026, 11, 24, 10, 10, tzinfo=JST)
    assert not is_expired("issued", until, datetime(2026, 11, 24, 10, 9, 59, tzinfo=JST))
    assert is_expired("issued", until, until)
    assert not is_expired("settled", until, until)


@pytest.mark.parametrize(("printed", "failed", "field"), [
    ({"a"}, {"a": "x", "b": "x", "c": "x"}, "failed"),
    ({"a", "b", "c", "z"}, {}, "printed"),
    ({"a"}, {"b": "x"}, "printed"),
])
def test_a_result_must_describe_every_copy_once(printed, failed, field) -> None:
    with pytest.raises(ResultError) as refused:
        check_result(COPIES, printed, failed)
    assert refused.value.field == field


def test_the_fiscal_year_runs_april_to_march_in_japan_time() -> None:
    assert fiscal_year_of(datetime(2027, 3, 31, 23, 59, tzinfo=JST)) == 2026
    assert fiscal_year_of(datetime(2027, 4, 1, 0, 0, tzinfo=JST)) == 2027
    start, end = fiscal_year_span(2026)
    assert (start.isoformat(), end.isoformat()) == ("2026-04-01T00:00:00+09:00",
                                                    "2027-04-01T00:00:00+09:00")
    assert Month.parse("2027-03").fiscal_year == 2026


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "1999-12", "2101-01", "26-11", "",
                                  "2026-1"])
def test_a_month_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(TermsError):
        Month.parse(text)


def test_contribution_shares_add_up_to_the_yearly_amount() -> None:
    shares = [contribution_share(4_700_000, Month(2026 + (m < 4), m)) for m in range(1, 13)]
    assert sum(shares) == 4_700_000
    assert set(shares) <= {391_666, 391_667}


def test_contracts_are_effective_dated_with_a_default() -> None:
    own_old = Contract("131016", date(2026, 4, 1), 5, 110, 1_000_000)
    own_new = Contract("131016", date(2026, 12, 1), 5, 115, 1_200_000)
    default = Contract(None, date(2020, 1, 1), 10, 100, 2_000_000)
    contracts = [own_old, own_new, default]
    assert contract_in_force(contracts, "131016", date(2026, 11, 30)) == own_old
    assert contract_in_force(contracts, "131016", date(2026, 12, 1)) == own_new
    assert contract_in_force(contracts, "131016", date(2026, 3, 31)) == default
    assert contract_in_force(contracts, "452017", date(2026, 11, 30)) == default
    assert contract_in_force([], "452017", date(2026, 11, 30)) == BUILT_IN_CONTRACT
    with pytest.raises(TermsError) as negative:
        Contract("131016", date(2026, 4, 1), -1, 110, 0).check()
    assert negative.value.field == "center_commission_yen"


def test_a_campaign_fee_is_in_force_only_on_its_dates() -> None:
    period = FeePeriod("131016", "juminhyo", 10, date(2026, 12, 1), date(2026, 12, 31))
    at = lambda *a: datetime(*a, tzinfo=JST)  # noqa: E731
    assert fee_in_force(200, [period], "juminhyo", at(2026, 11, 30, 23, 59)) == 200
    assert fee_in_force(200, [period], "juminhyo", at(2026, 12, 1, 0, 0)) == 10
    assert fee_in_force(200, [period], "juminhyo", at(2026, 12, 31, 23, 0)) == 10
    assert fee_in_force(200, [period], "inkan", at(2026, 12, 5, 10, 0)) == 200
    other = FeePeriod("131016", "juminhyo", 100, date(2026, 12, 31), date(2027, 1, 5))
    assert period.overlaps(other) and not period.overlaps(
        FeePeriod("131016", "juminhyo", 100, date(2027, 1, 1), date(2027, 1, 5)))
    with pytest.raises(TermsError):
        FeePeriod("131016", "juminhyo", 10, date(2026, 12, 2), date(2026, 12, 1)).check()


def _figures() -> list[LedgerFigure]:
    return [LedgerFigure("charge", "juminhyo", 200, 3, 600, 30, 330, ""),
            LedgerFigure("charge", "juminhyo", 10, 2, 20, 20, 220, ""),
            LedgerFigure("refund", "juminhyo", 200, 1, 200, 0, 0, ""),
            LedgerFigure("charge", "inkan", 300, 1, 300, 10, 110, "")]


def test_the_statement_adds_up_and_goes_negative_below_the_commission() -> None:
    contract = Contract("131016", date(2026, 4, 1), 10, 110, 1_200_000)
    s = municipal_statement("131016", "千代田区", Month(2026, 11), _figures(), contract)
    assert s.certificates == 6
    assert s.fees_collected_yen == 920
    assert s.commission_yen == 720 == 6 * 120
    assert s.contribution_yen == 100_000
    assert s.net_yen == 920 - 720 - 100_000 < 0
    assert s.direction == "receivable-from-municipality"
    assert [(line.type, line.fee_yen, line.certificates) for line in s.lines] == [
        ("juminhyo", 200, 3), ("juminhyo", 10, 2), ("inkan", 300, 1)]
    assert (s.refunded_copies, s.refunded_yen) == (1, 200)
    campaign_only = municipal_statement(
        "131016", "千代田区", Month(2026, 11), [_figures()[1]],
        Contract("131016", date(2026, 4, 1), 10, 110, 0))
    assert campaign_only.net_yen == 20 - 240
    text = statement_csv(s)
    assert "total,net_yen,-99800" in text


def test_the_chain_keeps_the_store_commission() -> None:
    figures = [LedgerFigure("charge", "juminhyo", 200, 3, 600, 30, 330, "131016"),
               LedgerFigure("charge", "inkan", 300, 1, 300, 10, 110, "452017")]
    s = chain_statement("seven-eleven", Month(2026, 11), figures)
    assert (s.collected_yen, s.kept_yen, s.remitted_yen) == (900, 440, 460)
    assert [r["municipality_code"] for r in s.by_municipality] == ["131016", "452017"]


def test_the_statement_pdf_is_japanese_with_its_font_embedded() -> None:
    from tests.support import embedded_font_files, pdf_pages_text

    contract = Contract("131016", date(2026, 4, 1), 10, 110, 1_200_000)
    s = municipal_statement("131016", "千代田区", Month(2026, 11), _figures(), contract)
    pdf = statement_pdf(s)
    text = pdf_pages_text(pdf)[0]
    assert "証明書コンビニ交付手数料請求内訳書" in text
    assert "千代田区" in text and "住民票の写し" in text and "99,800" in text
    assert embedded_font_files(pdf) >= 1


def test_the_history_follows_the_fy2023_mix_and_the_service_hours() -> None:
    terms = [MunicipalityTerms("131016", {t: 300 for t in GROUP_OF_TYPE if t != "risai"},
                               {t: None for t in GROUP_OF_TYPE}),
             MunicipalityTerms("452017", {"juminhyo": 200, "inkan": 200}, {})]
    copies = [c for c in generate(2023, 0.0002, terms, seed=7) if c.printed]
    targets = type_targets(0.0002)
    assert sum(targets.values()) == sum(round(n * 0.0002) for n in FY2023.values())
    by_group = Counter(GROUP_OF_TYPE[c.type] for c in copies)
    for group, n in FY2023.items():
        assert by_group[group] == round(n * 0.0002)
    hours = Counter(c.issued_at.astimezone(JST).hour for c in copies)
    assert min(hours) >= 6 and max(hours) <= 22
    assert hours[12] > 2 * hours[7] and hours[18] > hours[15]
    assert all(not (c.issued_at.month == 1 and c.issued_at.day <= 3) for c in copies)
    assert all(date(2023, 4, 1) <= c.issued_at.date() < date(2024, 4, 1) for c in copies)
    again = [c for c in generate(2023, 0.0002, terms, seed=7) if c.printed]
    assert again == copies
