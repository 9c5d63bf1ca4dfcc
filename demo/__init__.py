"""The demo: synthetic people, the company's systems seeded with their data, and the archive.

`make run`, `make demo`, the tests and the bench seed from here. Nothing the engine runs in
production imports it, except the worker's wiring for the demo's population register (the
stand-in for SPAR, an outside service).
"""
