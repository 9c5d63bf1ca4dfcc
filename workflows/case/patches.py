"""The patch ids (workflow.patched) of changes made to case workflows that may already be
running. A case decides every patch its kind knows at its start (`CaseCore.PATCHES`).
"""

from __future__ import annotations

# Patch ids (workflow.patched) of changes made to workflows that may already be running.
RESTRICTION_HOLDS_PATCH = "restriction-holds"


ART19_RESTRICTION_ERASURE_PATCH = "art19-restriction-erasure"


ESCALATION_LADDER_PATCH = "escalation-ladder"


EXTRACT_DISPOSAL_PATCH = "extract-disposal"


# Identity proof only where the answer could reach someone else (Art. 12(2),(6)); letters to
# the population-register address (SPAR).
PROPORTIONATE_IDENTITY_PATCH = "proportionate-identity"


# A request may be withdrawn (cases started since run their steps in a task the withdrawal ends).
WITHDRAWAL_PATCH = "withdrawal"


# The clock's trail rows (a handler's reassign, link, extension or pause, and the engine's own:
# ladder steps, slow systems) are written by a local activity, in the worker running the
# workflow task, instead of a scheduled one: an action's update answers one round trip to the
# server sooner (the API's action latency). Cases whose history wrote them by a scheduled
# activity keep doing so.
CLOCK_EVENTS_LOCAL_PATCH = "clock-events-local"


# Every patch a case knows is decided at its start (`_patches_at_start`), before any local
# activity. A patch decided just after a local activity (the ladder's, after the roster's read)
# was found recorded in the next workflow task when the worker completed the task the moment
# the activity's result came; a replay delivers that result in the earlier task, where the
# patch is not yet known, so it reads the patch as absent, and the case no longer replays
# (NondeterminismError: "patch marker ... no corresponding change command"). Cases started
# before this patch decide each patch where they always did.
PATCHES_AT_START_PATCH = "patches-at-start"
