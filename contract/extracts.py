"""The extract store: deleting what was delivered once its time is up.

Payloads are pydantic v2 models, sandbox-safe and without I/O (see contract/__init__.py).
"""

from __future__ import annotations

from pydantic import AwareDatetime

from contract.base import CaseNumber, Model

# --- the extract store: deleting what was delivered -----------------------------------------


class ExtractDisposalInput(Model):
    case_number: CaseNumber
    closed_at: AwareDatetime  # the case closed (the answer went out) at this moment


class DisposalDueInput(Model):
    case_number: CaseNumber
    closed_at: AwareDatetime


class DisposalDue(Model):
    at: AwareDatetime
    days: int


class DeleteExtractsInput(Model):
    case_number: CaseNumber


class DeleteExtractsResult(Model):
    files: int


class ExtractDisposalResult(Model):
    case_number: CaseNumber
    deleted_at: AwareDatetime
    files: int
