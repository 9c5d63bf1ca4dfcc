"""Registering a request received by letter, telephone, e-mail or in person.

GET  /registrera   the forms: a GDPR request, or a request for official documents
POST /registrera   registered as the signed-in handler, or the form again with why not
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from contract.vocabulary import Channel, Kind, RectifiableField, RestrictionGround
from service.api_requests import PublicSubmitBody, SubmitBody, submit, submit_public
from service.callers import StaffMember
from service.console import page
from service.desk import words
from service.desk.kit import (
    M,
    done,
    guarded,
    handlers,
    invalid,
    labels,
    posted,
    signed_in_staff,
)
from service.problems import Problem

log = structlog.get_logger("service.desk.registration")
router = APIRouter(include_in_schema=False)

# What a refusal names (the API's field, or the label of a form's field) -> the form's field.
_FIELD_OF = {
    "kind": "kind",
    "subject": "subject",
    "received": "received",
    "channel": "channel",
    "assignee": "assignee",
    "change": "falt-0",
    "details": "falt-0",
    "description": "description",
    "sender": "sender",
    "contact": "email",
    "type": "types",
    "query": "types",
}
GDPR_KINDS = [kind for kind in Kind if kind is not Kind.PUBLIC_ACCESS]


CHANGE_ROWS = 3


def _register_context(member: StaffMember, values: dict[str, Any]) -> dict[str, Any]:
    types = labels()["types"]
    return {
        "kinds": [(k.value, words.KINDS[k]) for k in GDPR_KINDS],
        "channels": [(c.value, words.CHANNELS[c]) for c in Channel if c is not Channel.E_SERVICE],
        "handlers": handlers(member),
        "fields": [(f.value, words.CHOICES[f]) for f in RectifiableField],
        "grounds": [(g.value, words.CHOICES[g]) for g in RestrictionGround],
        "types": list(types.items()),
        "rows": range(CHANGE_ROWS),
        "values": values,
        "me": member.login,
    }


@router.get("/registrera")
@guarded
async def register_form(request: Request) -> Response:
    person, member = await signed_in_staff(request)
    member.may("take_case")
    return page(
        request,
        "register.html",
        title="Registrera en begäran",
        person=person,
        **_register_context(member, {"assignee": member.login}),
    )


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


@router.post("/registrera")
@guarded
async def register_request(request: Request) -> Response:
    """A request received by letter, telephone or in person, registered as the signed-in
    handler: the API's checks (the identity number, the date, the corrections, the assignee),
    and on a refusal the form again with what was typed and why, nothing registered."""
    person, member = await signed_in_staff(request)
    form = await posted(request, person)
    values: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    values["types"] = [v for v in form.getlist("types") if isinstance(v, str)]
    public = form.get("vad") == "allmanna-handlingar"
    try:
        if public:
            result = await submit_public(request, _public_body(form), member)
        else:
            result = await submit(request, _gdpr_body(form), member)
    except Problem as error:
        if error.status >= 500:
            raise
        return page(
            request,
            "register.html",
            error.status,
            title="Registrera en begäran",
            person=person,
            error=error.detail,
            # Beside the field it is about, in the form that was sent, where it names one.
            wrong=(
                public,
                _FIELD_OF.get(error.detail.partition(":")[0].strip()),
                error.detail.partition(":")[2].strip(),
            ),
            public=public,
            **_register_context(member, values),
        )
    log.info("console_registered", case=result.case_number, actor=member.login)
    return done(request, result.case_number, "registrera")


def _validated(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise Problem(422, invalid(error)) from None


def _gdpr_body(form: FormData) -> SubmitBody:
    changes = []
    for row in range(CHANGE_ROWS):
        value = _text(form, f"nytt-{row}")
        if value is not None:
            changes.append(
                {
                    "field": _text(form, f"falt-{row}"),
                    "new_value": value,
                    "evidence": _text(form, f"underlag-{row}"),
                }
            )
    details = {
        "changes": changes,
        "restrict_while_checking": form.get("begransa") is not None,
        "restriction_ground": _text(form, "grund"),
        "deliver_elsewhere": form.get("annan_mottagare") is not None,
    }
    return _validated(
        SubmitBody,
        {
            "kind": _text(form, "kind"),
            "subject": _text(form, "subject") or "",
            "received": _text(form, "received"),
            "channel": _text(form, "channel"),
            "assignee": _text(form, "assignee"),
            "details": details,
        },
    )


def _public_body(form: FormData) -> PublicSubmitBody:
    email = _text(form, "email")
    query = {
        "types": [v for v in form.getlist("types") if isinstance(v, str)],
        "text": _text(form, "text"),
        "date_from": _text(form, "date_from"),
        "date_to": _text(form, "date_to"),
    }
    return _validated(
        PublicSubmitBody,
        {
            "sender": _text(form, "sender"),
            "description": _text(form, "description") or "",
            "query": query,
            "contact": {"email": email} if email else None,
            "received": _text(form, "received"),
            "channel": _text(form, "channel"),
            "assignee": _text(form, "assignee"),
        },
    )
