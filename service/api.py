"""The JSON API under /api/v1: who is signed in, the roster, the list of cases, a case's status,
registering a request, and every handler action.

Every call carries a bearer access token from the identity provider. The actor of an action is
the login the token names, never a field of the request: the service puts it in the update's
`handler` itself and refuses a body that names anyone else. The service checks the role an
action takes against the roster as it stands today (403 naming the role); the case checks it
again, and whatever else the law and the case's state say (409), before anything is written.

The routes are in service/api_reading.py, service/api_requests.py and service/api_actions.py;
who is calling, in service/callers.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from service import api_actions, api_reading, api_requests

router = APIRouter(prefix="/api/v1")
router.include_router(api_reading.router)
router.include_router(api_requests.router)
router.include_router(api_actions.router)
