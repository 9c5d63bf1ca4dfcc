"""The case service: an authenticated API in front of the engine (FastAPI on uvicorn)."""
