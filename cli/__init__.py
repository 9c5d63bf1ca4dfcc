"""The case handler's command line (`dsr`, `python starter.py`): a client of the case service.

Every command is a call to the service's JSON API as the person signed in with `dsr login`;
it imports nothing of the engine (no Temporal, no database, no workflow code), only the shared
words of contract.vocabulary and contract.roles.
"""
