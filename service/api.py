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

# Each under /api/v1, in this order, included by the app itself: a router included in another
# router is matched lazily, and a request's route would then name the inner router's path
# (without /api/v1), which the metrics label calls by (service/metering.py).
ROUTERS: tuple[APIRouter, ...] = (api_reading.router, api_requests.router, api_actions.router)
