"""Intake: a request as it is submitted, and the case it opens in the register.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field, model_validator

from contract.base import CaseNumber, HandlerId, Model, SubjectId
from contract.public_request import PublicRequest
from contract.vocabulary import Channel, IdentityMethod, Kind, RectifiableField, RestrictionGround

# --- intake -------------------------------------------------------------------------------


class FieldChange(Model):
    """One correction the subject asks for: the field, the right value, and their evidence."""

    field: RectifiableField
    new_value: str = Field(min_length=1, max_length=254)
    evidence: str | None = Field(default=None, max_length=2000)


class RequestDetails(Model):
    """What a request asks for beyond the subject, per kind (empty for access and objection)."""

    changes: list[FieldChange] = Field(default_factory=list, max_length=20)
    restrict_while_checking: bool = False
    restriction_ground: RestrictionGround | None = None
    # Access, portability: the subject wants the answer somewhere else than their own digital
    # mailbox or population-register address (another address, an e-mail, a representative):
    # it could reach someone else, so identity must be proven first and a handler hands it over.
    deliver_elsewhere: bool = False


class SubmitRequestInput(Model):
    kind: Kind
    # Every GDPR kind has a subject; a public-access request has none (anyone may ask).
    subject_id: SubjectId | None = None
    received_at: AwareDatetime
    channel: Channel = Channel.E_SERVICE
    verified_by: IdentityMethod | None = None
    eid_order_ref: str | None = Field(default=None, max_length=128)
    assignee: HandlerId | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)
    public: PublicRequest | None = None

    @model_validator(mode="after")
    def _subject_or_public(self) -> SubmitRequestInput:
        if self.kind is Kind.PUBLIC_ACCESS:
            if self.subject_id is not None or self.verified_by is not None:
                raise ValueError(
                    "a public-access request takes no identity number: anyone may ask, and "
                    "needs not say who they are"
                )
            if self.public is None:
                raise ValueError("a public-access request needs its description and search")
        elif self.subject_id is None:
            raise ValueError(f"a {self.kind.value} request needs the subject's identity number")
        elif self.public is not None:
            raise ValueError(f"a {self.kind.value} request is about a person, not documents")
        return self


class SubmitRequestResult(Model):
    case_number: CaseNumber
    kind: Kind
    deadline: date
    received_at: AwareDatetime
    existing: bool


class RegisterCaseInput(Model):
    request: SubmitRequestInput
    intake_id: str


class OpenCaseResult(Model):
    case_number: CaseNumber
    deadline: date
    deadline_at: AwareDatetime  # the end of the deadline day, 23:59:59 Europe/Stockholm
    existing: bool
