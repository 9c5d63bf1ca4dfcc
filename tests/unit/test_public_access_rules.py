"""The rules of a public-access request that need no server: what intake accepts, the review's
grounds, the fee schedule, masking, the skyndsamt ladder, the appeal period and the delegation
register."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.testing import ActivityEnvironment

from activities.deadlines import DeadlineActivities
from activities.public_access import copy_fee
from activities.public_letters import masked
from contract.calendar import STOCKHOLM
from contract.case import DeadlineInput, Escalation
from contract.intake import SubmitRequestInput
from contract.public_access import SECRECY_GROUNDS_SV, AppealWindowInput, Mask, ReviewDocumentInput
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.vocabulary import Kind, ReviewDecision, SecrecyGround
from infra.config import Settings
from infra.delegation import DelegationError, load_delegations
from infra.masking import occurrences

QUERY = DocumentQuery(types=["invoice"])


@pytest.mark.parametrize(
    "description",
    [
        "Avtal med 19121212-1212",  # an identity number
        "Faktura till 121212-1212",
        "Ring 070-123 45 67",  # a phone number
        "Svar till kalle@example.se",  # an e-mail address
        " ",
    ],
)
def test_the_public_description_refuses_personal_details(description: str) -> None:
    with pytest.raises(ValidationError):
        PublicRequest(description=description, query=QUERY)


def test_the_public_description_takes_dates_and_document_numbers() -> None:
    request = PublicRequest(description="Protokoll 2024-03-15, faktura nr 4411", query=QUERY)
    assert request.sender is None  # anonymous unless a name is given


def test_the_description_does_not_name_the_requester() -> None:
    with pytest.raises(ValidationError, match="leave the requester's name out"):
        PublicRequest(description="Per Holms fakturor", sender="Per Holm", query=QUERY)
    with pytest.raises(ValidationError, match="leave the requester's name out"):
        PublicRequest(
            description="Fakturor som Per Holm fått",
            query=QUERY,
            contact=Contact(name="per holm", email="per@example.org"),
        )


def test_a_contact_is_optional_but_never_empty() -> None:
    assert PublicRequest(description="Avtal", query=QUERY).contact is None
    with pytest.raises(ValidationError, match="e-mail address or a postal address"):
        Contact(name="Per")
    with pytest.raises(ValidationError, match="not one e-mail address"):
        Contact(email="per at example.org")


def test_a_search_must_ask_for_something_and_in_order() -> None:
    with pytest.raises(ValidationError, match="say what is asked for"):
        DocumentQuery()
    with pytest.raises(ValidationError, match="ends before it starts"):
        DocumentQuery(date_from=date(2025, 1, 2), date_to=date(2025, 1, 1))


def test_a_public_access_request_takes_no_identity_number_and_gdpr_kinds_need_one() -> None:
    now = datetime.now(STOCKHOLM)
    request = PublicRequest(description="Avtal", query=QUERY)
    with pytest.raises(ValidationError, match="takes no identity number"):
        SubmitRequestInput(
            kind=Kind.PUBLIC_ACCESS, subject_id="191212121212", received_at=now, public=request
        )
    with pytest.raises(ValidationError, match="needs its description"):
        SubmitRequestInput(kind=Kind.PUBLIC_ACCESS, received_at=now)
    with pytest.raises(ValidationError, match="needs the subject's identity number"):
        SubmitRequestInput(kind=Kind.ACCESS, received_at=now)


def test_each_review_decision_carries_exactly_the_grounds_it_needs() -> None:
    mask = Mask(text="Storgatan 1", ground=SecrecyGround.PROTECTED_IDENTITY)
    with pytest.raises(ValidationError, match="name each part to mask"):
        ReviewDocumentInput(handler="anna", document_id=1, decision=ReviewDecision.MASK)
    with pytest.raises(ValidationError, match="give the legal ground"):
        ReviewDocumentInput(handler="anna", document_id=1, decision=ReviewDecision.WITHHOLD)
    with pytest.raises(ValidationError, match="masks belong to a mask decision"):
        ReviewDocumentInput(
            handler="anna", document_id=1, decision=ReviewDecision.RELEASE, masks=[mask]
        )
    both = ReviewDocumentInput(
        handler="anna",
        document_id=1,
        decision=ReviewDecision.MASK,
        masks=[mask, mask.model_copy(update={"ground": SecrecyGround.BUSINESS_RELATIONS}), mask],
    )
    assert both.grounds == [SecrecyGround.PROTECTED_IDENTITY, SecrecyGround.BUSINESS_RELATIONS]


@pytest.mark.parametrize(
    ("pages", "fee"), [(0, 0), (1, 0), (9, 0), (10, 50), (11, 52), (25, 80), (100, 230)]
)
def test_the_fee_schedule_nine_pages_free_then_fifty_kronor_and_two_per_page(
    pages: int, fee: int
) -> None:
    assert copy_fee(pages, Settings()) == fee


def test_the_fee_schedule_is_configurable() -> None:
    settings = Settings(
        copy_fee_free_pages=0, copy_fee_first_paid_page_sek=10, copy_fee_per_further_page_sek=1
    )
    assert copy_fee(1, settings) == 10
    assert copy_fee(5, settings) == 14


def test_masking_removes_every_occurrence_and_a_part_inside_another() -> None:
    text = "Sanna Ek, Gläntans väg 6, bor på Gläntans väg 6. Sanna ringer."
    result = masked(
        text,
        [
            Mask(text="Sanna", ground=SecrecyGround.PROTECTED_IDENTITY),
            Mask(text="Sanna Ek, Gläntans väg 6", ground=SecrecyGround.PROTECTED_IDENTITY),
            Mask(text="Gläntans väg 6", ground=SecrecyGround.PROTECTED_IDENTITY),
        ],
    )
    assert "Sanna" not in result and "Gläntans" not in result
    assert result.count("[maskerat enligt OSL 21:3]") == 3
    assert result.endswith("ringer.")


@pytest.mark.parametrize(
    "written",
    [
        "SANNA EK",  # in capitals
        "sanna ek",
        "Sanna  Ek",  # two spaces
        "Sanna\nEk",  # a line break
        "Sanna\u00a0Ek",  # a no-break space
        "Sanna \t\n Ek",
    ],
)
def test_masking_finds_the_part_whatever_its_case_or_line_breaks(written: str) -> None:
    text = f"Till {written}, Gläntans väg 6,\n753 20 Uppsala."
    masks = [
        Mask(text="Sanna Ek", ground=SecrecyGround.PROTECTED_IDENTITY),
        Mask(text="Gläntans väg 6, 753 20 Uppsala", ground=SecrecyGround.PROTECTED_IDENTITY),
    ]
    result = masked(text, masks)
    assert result == "Till [maskerat enligt OSL 21:3], [maskerat enligt OSL 21:3]."
    for mask in masks:
        assert occurrences(text, mask.text) == 1


def test_masking_compares_the_normalised_unicode_form() -> None:
    # "Sjöberg" typed with a combining diaeresis (o + U+0308) is the same name.
    text = "Brev från Lena Sjo\u0308berg."
    assert masked(text, [Mask(text="Lena Sjöberg", ground=SecrecyGround.PERSONAL_INTEGRITY)]) == (
        "Brev från [maskerat enligt OSL 21:7]."
    )


def test_a_withheld_document_may_carry_title_masks_but_a_release_none() -> None:
    mask = Mask(text="Gläntans väg 6", ground=SecrecyGround.PROTECTED_IDENTITY)
    withheld = ReviewDocumentInput(
        handler="anna",
        document_id=1,
        decision=ReviewDecision.WITHHOLD,
        ground=SecrecyGround.SECURITY,
        masks=[mask],
    )
    assert withheld.grounds == [SecrecyGround.PROTECTED_IDENTITY, SecrecyGround.SECURITY]


def test_grid_security_rests_on_osl_18_8_and_21_3_is_quoted_in_full() -> None:
    assert SecrecyGround.SECURITY.value == "OSL 18:8"
    assert "säkerhets- eller bevakningsåtgärd" in SECRECY_GROUNDS_SV[SecrecyGround.SECURITY]
    quoted = SECRECY_GROUNDS_SV[SecrecyGround.PROTECTED_IDENTITY]
    assert "hot eller våld eller lida annat allvarligt men om uppgiften röjs" in quoted
    assert "närstående" in quoted and "21 kap. 3 §" in quoted


def morning(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=STOCKHOLM)


async def test_skyndsamt_counts_working_days_of_lag_1930_173() -> None:
    # Received Thursday 23 Dec 2027. Christmas Eve (Fri) is not a working day, nor the
    # weekend (Boxing Day 2027 is a Sunday): the first working day after is Monday 27 Dec.
    plan = await ActivityEnvironment().run(
        DeadlineActivities(Settings()).plan_deadline,
        DeadlineInput(
            case_number="DSR-2027-000001",
            kind=Kind.PUBLIC_ACCESS,
            received_at=datetime(2027, 12, 23, 15, tzinfo=STOCKHOLM),
        ),
    )
    assert plan.deadline == date(2027, 12, 27)
    assert [(s.step, s.at) for s in plan.steps] == [
        (Escalation.REMINDED, morning(date(2027, 12, 27))),
        (Escalation.ESCALATED, morning(date(2027, 12, 28))),
        (Escalation.OVERDUE, morning(date(2027, 12, 30))),  # the fourth: 27, 28, 29, 30
    ]


async def test_skyndsamt_days_are_configurable() -> None:
    settings = Settings(public_access_escalation_working_days=(2, 5))
    plan = await ActivityEnvironment().run(
        DeadlineActivities(settings).plan_deadline,
        DeadlineInput(
            case_number="DSR-2026-000001",
            kind=Kind.PUBLIC_ACCESS,
            received_at=datetime(2026, 6, 15, 9, tzinfo=STOCKHOLM),  # Monday
        ),
    )
    assert plan.deadline == date(2026, 6, 17)
    # Midsummer Eve, Friday 19 June 2026, is not a working day: the sixth is Wednesday 24.
    assert [s.at.date() for s in plan.steps] == [
        date(2026, 6, 17),
        date(2026, 6, 18),
        date(2026, 6, 24),
    ]


@pytest.mark.parametrize(
    ("received", "last_day"),
    [
        (date(2026, 12, 3), date(2026, 12, 28)),  # Christmas Eve (Thu), 25, 26, Sunday 27
        (date(2026, 12, 10), date(2027, 1, 4)),  # New Year's Eve (Thu), 1 Jan, weekend
        (date(2026, 5, 29), date(2026, 6, 22)),  # Midsummer Eve 19 Jun -> Monday 22
        (date(2026, 5, 28), date(2026, 6, 18)),  # a Thursday: nothing to move
        (date(2026, 11, 7), date(2026, 11, 30)),  # a Saturday -> Monday
    ],
)
async def test_the_appeal_period_is_three_weeks_by_lag_1930_173(
    received: date, last_day: date
) -> None:
    window = await ActivityEnvironment().run(
        DeadlineActivities(Settings()).appeal_window,
        AppealWindowInput(
            case_number="DSR-2026-000001",
            # Sent late in the evening: the Stockholm day counts, not the UTC one.
            sent_at=datetime.combine(received, time(23, 30), tzinfo=STOCKHOLM),
            weeks=3,
            late_days=14,
        ),
    )
    assert window.received_on == received
    assert window.last_day == last_day
    assert window.ends_at == datetime.combine(last_day, time(23, 59, 59), tzinfo=STOCKHOLM)
    assert (window.closes_at - window.ends_at).days == 14


def test_the_delegation_register_gives_who_holds_authority_on_a_day(tmp_path: Path) -> None:
    register = load_delegations(Settings().delegation_register)
    assert "chef.jurist" in register.on(date(2026, 12, 3))
    assert "registrator.ek" not in register.on(date(2031, 1, 1))  # expired
    assert register.on(date(2025, 6, 1)) == {}  # before anyone held it
    broken = tmp_path / "delegations.yaml"
    broken.write_text("delegates:\n  anna:\n    point: x\n")
    with pytest.raises(DelegationError, match="delegations.yaml: delegates.anna.valid_from"):
        load_delegations(broken)
    broken.write_text("delegates:\n  '191212121212':\n    point: x\n    valid_from: 2026-01-01\n")
    with pytest.raises(DelegationError, match="no run of six digits"):
        load_delegations(broken)


def test_the_description_leaves_out_a_person_searched_for_but_may_name_a_company() -> None:
    with pytest.raises(ValidationError, match="leave out the person searched for"):
        PublicRequest(
            description="Fakturor till Lena Sjöberg",
            query=DocumentQuery(party="Lena Sjöberg"),
        )
    PublicRequest(
        description="Entreprenadavtal med Mälarfiber AB",
        query=DocumentQuery(party="Mälarfiber AB"),
    )
    # Whole words only: a sender called Bo does not make "Bokföring" personal.
    PublicRequest(description="Bokföring 2024", sender="Bo", query=QUERY)
    with pytest.raises(ValidationError, match="leave the requester's name out"):
        PublicRequest(
            description="Svar till Storgatan 1",
            query=QUERY,
            contact=Contact(postal_address=["Storgatan 1", "722 12 Västerås"]),
        )


@pytest.mark.parametrize("days", [(0, 3), (3, 3), (3, 1)])
def test_the_skyndsamt_ladder_must_be_in_order(days: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="ESCALATION_WORKING_DAYS"):
        Settings(public_access_escalation_working_days=days)


async def test_a_decision_received_later_than_sent_moves_the_appeal_period() -> None:
    window = await ActivityEnvironment().run(
        DeadlineActivities(Settings()).appeal_window,
        AppealWindowInput(
            case_number="DSR-2026-000001",
            sent_at=datetime(2026, 12, 3, 10, tzinfo=STOCKHOLM),
            received_on=date(2026, 12, 7),  # the letter came on Monday
            weeks=3,
            late_days=14,
        ),
    )
    assert (window.received_on, window.last_day) == (date(2026, 12, 7), date(2026, 12, 28))
