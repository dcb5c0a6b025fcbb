"""Tasks of the portal itself."""

from portal.celery import app


@app.task(name="portal.ping", time_limit=10, soft_time_limit=5)
def ping() -> str:
    """Answer "pong": lets operators and tests check that a worker consumes the queue."""
    return "pong"
