"""Property tests over everything that takes input from people: the CLI's parsers, the identity
number, and the models every workflow, update and activity is called with. Whatever is typed,
the answer is a valid value or a refusal with a message: never a crash, never half-accepted."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from pydantic import BaseModel, ValidationError
from stdnum import luhn
from stdnum.se import personnummer

from cli import parse as cli
from contract.actions import (
    CloseUnverifiedInput,
    DecideRectificationInput,
    RecordManualDeliveryInput,
    RefuseInput,
    VerifyIdentityInput,
)
from contract.calendar import STOCKHOLM
from contract.case import AskClarificationInput, ExtendInput, ReassignInput
from contract.erasure import RecordDisposalDecisionInput
from contract.intake import FieldChange, SubmitRequestInput
from contract.public_access import (
    ConfirmDocumentsInput,
    FormalDecisionInput,
    LinkCaseInput,
    RegisterAppealInput,
    RequestFormalDecisionInput,
    ReviewDocumentInput,
    SearchAgainInput,
)
from contract.public_request import Contact, DocumentQuery, PublicRequest
from contract.subject import parse_subject_id
from contract.vocabulary import CASE_NUMBER_PATTERN, RectifiableField, SecrecyGround

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text as people type and paste it: any Unicode, control characters and digits included.
TEXT = st.text(max_size=120) | st.from_regex(r"[0-9 +\-A-Za-zÅÄÖåäö:=@.]{0,40}", fullmatch=True)


def refused_or_valid(parse: Any, *args: Any) -> Any:
    """The parser's value, or None if it refused with a one-line message."""
    try:
        return parse(*args)
    except cli.UserError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 400
        return None


@PROPERTIES
@given(TEXT)
def test_an_identity_number_is_canonical_and_checked_or_refused(text: str) -> None:
    try:
        canonical = parse_subject_id(text, today=date(2026, 11, 28))
    except ValueError as error:
        assert str(error).startswith("identity number")
        return
    assert re.fullmatch(r"[0-9]{12}", canonical)
    assert personnummer.is_valid(canonical[2:]) or int(canonical[6:8]) > 60  # coordination


@PROPERTIES
@given(st.dates(date(1901, 1, 1), date(2026, 11, 28)), st.integers(0, 999))
# Born a few days after today's date a century ago: 99 years old, but turning 100 this
# calendar year, so '+' (Folkbokföringslagen 18 §).
@example(born=date(1926, 12, 1), serial=1)
def test_every_valid_personnummer_is_accepted_in_both_forms(born: date, serial: int) -> None:
    body = f"{born:%y%m%d}{serial:03d}"
    number = body + luhn.calc_check_digit(body)
    long_form = f"{born:%Y}{number[2:]}"
    assert parse_subject_id(long_form, today=date(2026, 11, 28)) == long_form
    today = date(2026, 11, 28)
    # The year they turn (or turned) 100 and every year after: '+'; before it: '-'.
    separator = "+" if today.year - born.year >= 100 else "-"
    short = f"{number[:6]}{separator}{number[6:]}"
    assert parse_subject_id(short, today=date(2026, 11, 28)) == long_form


@PROPERTIES
@given(TEXT)
def test_the_cli_parsers_return_a_valid_value_or_refuse_in_one_line(text: str) -> None:
    case = refused_or_valid(cli.parse_case_number, text)
    assert case is None or re.fullmatch(CASE_NUMBER_PATTERN, case)
    # The day or instant as the service is sent it (it refuses the future and the too old).
    received = refused_or_valid(cli.parse_received, text)
    if received is not None:
        sent = datetime.fromisoformat(received)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", received) or sent.tzinfo is not None
    period = refused_or_valid(cli.parse_period, text)
    assert period is None or period.days >= 1
    day = refused_or_valid(cli.parse_day, text, "--from")
    assert day is None or isinstance(day, date)
    past = refused_or_valid(cli.parse_past_day, text, "--supplied")
    today = datetime.now(STOCKHOLM).date()
    assert past is None or date.fromisoformat(past) <= today
    document = refused_or_valid(cli.parse_document_id, text)
    assert document is None or document >= 1
    ground = refused_or_valid(cli.parse_ground, text, "--withhold")
    assert ground is None or isinstance(ground, SecrecyGround)
    mask = refused_or_valid(cli.parse_mask, text)
    assert mask is None or mask["text"].strip()
    assert mask is None or mask["ground"] in set(SecrecyGround)
    # The field is checked here; its value is put in the systems' form by the service.
    change = refused_or_valid(cli.parse_change, text, None)
    assert change is None or change["field"] in set(RectifiableField)


@PROPERTIES
@given(st.from_regex(r"(19|20)[0-9]{10}", fullmatch=True))
def test_refusals_never_repeat_an_identity_number_typed_in_the_wrong_place(number: str) -> None:
    parsers = {
        "parse_case_number": cli.parse_case_number,
        "parse_received": cli.parse_received,
        "parse_day": lambda text: cli.parse_day(text, "--from"),
        "parse_past_day": lambda text: cli.parse_past_day(text, "--supplied"),
        "parse_document_id": cli.parse_document_id,
        "parse_period": cli.parse_period,
    }
    for name, parse in parsers.items():
        try:
            parse(number)
        except cli.UserError as error:
            assert number not in str(error) and number[2:] not in str(error), name
        else:
            pytest.fail(f"{name} accepted an identity number")


# The models every workflow, update and activity input is made of.
INPUTS: list[type[BaseModel]] = [
    SubmitRequestInput,
    PublicRequest,
    DocumentQuery,
    Contact,
    ReviewDocumentInput,
    ConfirmDocumentsInput,
    SearchAgainInput,
    RegisterAppealInput,
    FormalDecisionInput,
    RequestFormalDecisionInput,
    LinkCaseInput,
    ExtendInput,
    AskClarificationInput,
    ReassignInput,
    RefuseInput,
    VerifyIdentityInput,
    CloseUnverifiedInput,
    DecideRectificationInput,
    RecordManualDeliveryInput,
    RecordDisposalDecisionInput,
    FieldChange,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def with_fields(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """The model's own field names with values of any shape: past the "unknown field" check,
    into the validators."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(model.model_fields, JSON))


@PROPERTIES
@given(st.sampled_from(INPUTS).flatmap(lambda m: st.tuples(st.just(m), with_fields(m) | JSON)))
def test_every_input_model_validates_or_refuses_and_a_valid_one_round_trips(
    case: tuple[type[BaseModel], Any],
) -> None:
    model, data = case
    try:
        value = model.model_validate(data)
    except ValidationError as error:
        assert error.errors(), "a refusal says what is wrong"
        return
    again = model.model_validate_json(value.model_dump_json())
    assert again == value
    json.dumps(value.model_dump(mode="json"))  # what history and the CLI's --json carry
