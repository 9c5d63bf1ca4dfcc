"""The staff roster and the delegation register: who holds which role on a day, and why an
actor is refused an action."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from contract import handling
from contract.roles import ACTIONS, Role, refusal
from infra.config import Settings
from infra.delegation import DelegationRegister, load_delegations
from infra.roster import RosterError, load_roster

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DELEGATIONS = DelegationRegister.model_validate(
    {
        "delegates": {
            "Jurist": {
                "point": "4.2",
                "valid_from": date(2026, 1, 1),
                "matters": ["public_access", "gdpr"],
            },
            "reg": {"point": "4.3", "valid_from": date(2026, 1, 1), "valid_to": date(2026, 6, 30)},
        }
    }
)


def roster_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_roster_fits_the_shipped_delegations() -> None:
    settings = Settings()
    roster = load_roster(settings.roster)
    delegations = load_delegations(settings.delegation_register)
    roster.check(delegations)
    staff = roster.roles_on(delegations, date(2026, 11, 28))
    assert staff["chef.jurist"] == [Role.DECIDES_GDPR, Role.DECIDES_PUBLIC_ACCESS, Role.HANDLER]
    assert staff["registrator.ek"] == [Role.DECIDES_PUBLIC_ACCESS, Role.HANDLER]
    assert staff["dataskyddsombud"] == [Role.DPO]


def test_delegated_roles_follow_the_dates_and_the_matters(tmp_path: Path) -> None:
    roster = load_roster(
        roster_file(tmp_path, "staff:\n  jurist: {roles: [handler]}\n  reg: {roles: [handler]}\n")
    )
    in_june = roster.roles_on(DELEGATIONS, date(2026, 6, 30))
    # Ids are compared ignoring case: "Jurist" in the register is "jurist" of the roster.
    assert in_june["jurist"] == [Role.DECIDES_GDPR, Role.DECIDES_PUBLIC_ACCESS, Role.HANDLER]
    # A point without `matters` covers official documents only.
    assert in_june["reg"] == [Role.DECIDES_PUBLIC_ACCESS, Role.HANDLER]
    assert roster.roles_on(DELEGATIONS, date(2026, 7, 1))["reg"] == [Role.HANDLER]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("staff:\n  anna: {roles: [decides_gdpr]}\n", "comes from the delegation register"),
        ("staff:\n  anna: {roles: [handler, dpo]}\n", "holds no other role"),
        ("staff:\n  anna: {roles: [handler]}\n  ANNA: {roles: [handler]}\n", "listed twice"),
        ("staff:\n  engine: {roles: [handler]}\n", "the engine's own actor id"),
        ("staff:\n  anna: {roles: []}\n", "roles"),
        ("staff:\n  anna: {roles: [boss]}\n", "roles"),
        ("staff:\n  '191212121212': {roles: [handler]}\n", "staff.(a key): Value error"),
        ("staff: {}\n", "staff"),
        ("staff: [anna\n", "cannot be read"),
    ],
)
def test_a_roster_that_does_not_hold_is_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(RosterError) as refused:
        load_roster(roster_file(tmp_path, text))
    assert message in str(refused.value)
    assert str(refused.value).startswith("roster.yaml")
    # A key typed wrong is not repeated: it could be an identity number.
    assert "1212121212" not in str(refused.value)


def test_a_delegation_must_go_to_staff_other_than_the_dpo(tmp_path: Path) -> None:
    outsider = load_roster(roster_file(tmp_path, "staff:\n  reg: {roles: [handler]}\n"))
    with pytest.raises(RosterError, match="Jurist holds a delegation but is not in the roster"):
        outsider.check(DELEGATIONS)
    dpo = load_roster(
        roster_file(tmp_path, "staff:\n  jurist: {roles: [dpo]}\n  reg: {roles: [handler]}\n")
    )
    with pytest.raises(RosterError, match="data protection officer"):
        dpo.check(DELEGATIONS)
    # Even so, a DPO is never given a decision maker's role.
    assert dpo.roles_on(DELEGATIONS, date(2026, 3, 1))["jurist"] == [Role.DPO]


def test_refusals_say_who_may_and_what_the_actor_is() -> None:
    staff = {
        "anna": [Role.HANDLER],
        "bo": [Role.HANDLER, Role.TEAM_LEAD],
        "chef": [Role.DECIDES_GDPR, Role.HANDLER],
        "dso": [Role.DPO],
    }
    assert refusal(staff, "anna", "verify_identity") is None
    assert refusal(staff, "ANNA", "verify_identity") is None
    assert refusal(staff, "chef", "refuse") is None
    assert refusal(staff, "bo", "approve_erasure_plan") is None
    assert refusal(staff, "chef", "approve_erasure_plan") is None
    assert refusal(staff, "okand", "verify_identity") == (
        "okand is not in the staff roster, so may not verify identity"
    )
    assert refusal(staff, "anna", "refuse") == (
        "anna may not refuse the request: that takes a decision maker with delegation for GDPR "
        "refusals; anna is a case handler"
    )
    why = refusal(staff, "anna", "approve_erasure_plan")
    assert why is not None and "a team lead or a decision maker" in why
    why = refusal(staff, "dso", "verify_identity")
    assert why is not None and "data protection officer" in why and "Art. 38(6)" in why


def test_every_action_the_workflows_check_is_declared_and_every_declared_one_is_checked() -> None:
    """A name missing from ACTIONS would fail inside a validator; one never used is a role
    rule nobody enforces."""
    source = "\n".join(path.read_text() for path in WORKFLOWS.rglob("*.py"))
    named = set(
        re.findall(r'_(?:check_role|authorize|take_decision|may)\([^"()\n]*"([a-z_]+)"', source)
    )
    # Most come from the action table (contract.handling), a row at a time.
    rows = re.findall(r"\b([A-Z][A-Z_]+)\.role_action\b|_decision(?:_for)?\(([A-Z][A-Z_]+)", source)
    named |= {getattr(handling, row).role_action for pair in rows for row in pair if row}
    # Reads are judged by the case service (service/), not by a workflow.
    service = "\n".join(path.read_text() for path in (WORKFLOWS.parent / "service").rglob("*.py"))
    named |= set(re.findall(r'\.may\("([a-z_]+)"\)', service))
    # Chosen by the workflow at run time (decided rectification, reassignment).
    named |= set(re.findall(r'return "([a-z_]+)"', source)) & set(ACTIONS)
    named |= set(re.findall(r'"([a-z_]+)" if mine else "([a-z_]+)"', source)[0])
    assert named - set(ACTIONS) == set()
    assert set(ACTIONS) - named == set()
