"""Benchmarks of the engine on a real Temporal server: `make bench` runs them."""
