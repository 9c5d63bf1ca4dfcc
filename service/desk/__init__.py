"""The web console's pages for case handlers and supervisors, in Swedish, rendered on the
server; plain forms that work without script (service.console signs people in and out)."""

from __future__ import annotations

from fastapi import APIRouter

from service.desk import case, documents, inbox, registration

ROUTERS: tuple[APIRouter, ...] = (
    inbox.router,
    case.router,
    documents.router,
    registration.router,
)
