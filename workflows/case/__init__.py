"""What the kinds of case share, as small pieces of one workflow class.

Each piece is a class over the case's state (`state.CaseCore`: the fields, and what the pieces
ask of each other), in a module of its own:
- `lifecycle`: entering states (status, search attributes and trail in step), closing, staff
  notices, a manual hand-over;
- `decisions`: a handler's decision, taken once and by whom the roster allows; refuse,
  reassign, link, record a manual delivery;
- `clock`: the deadline, pauses, the extension and the escalation ladder;
- `withdrawal`: a request withdrawn, and the run it can end;
- `identity`, `notices`, `systems`: what a GDPR case has besides, about its data subject.

`workflow.CaseBase` composes the pieces every kind has (public access builds on it);
`workflow.CaseWorkflow` adds the GDPR ones. Patch ids are in `patches`.
"""
