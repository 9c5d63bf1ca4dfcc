"""Entry points' wiring: what a worker runs, built from the settings (app/worker_setup.py).

The top layer: it may import everything below it (workflows, activities, systems, infra,
contract), and nothing below imports it."""
