"""What the workflow sandbox passes through: the payloads of every workflow, activity, update
and query, per kind; ids, enums and search attributes; retry policies; roles; the legal
calendar. Pure and without I/O: the sandbox imports these modules once, outside itself, and
every workflow run shares them (app/worker_setup.py). Nothing here imports from the rest of the
engine.
"""
