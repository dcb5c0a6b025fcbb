"""``/healthz``: is the portal able to serve? For load balancers and monitoring."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from portal.celery import app as celery_app

BROKER_TIMEOUT_S = 2.0
WORKER_PING_TIMEOUT_S = 1.0


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _cache() -> dict[str, Any]:
    cache.set("healthz", "ok", timeout=10)
    if cache.get("healthz") != "ok":
        return {"ok": False, "error": "read back failed"}
    return {"ok": True}


def _broker() -> dict[str, Any]:
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    return {"ok": True}


def _workers() -> dict[str, Any]:
    replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT_S) or []
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "count": len(names)}


def _run(check: Any) -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:
        # The kind of failure, never its details: they can hold URLs with credentials.
        return {"ok": False, "error": type(exc).__name__}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache, the broker and (outside demo) a worker answer."""
    checks: dict[str, dict[str, Any]] = {
        "database": _run(_database),
        "cache": _run(_cache),
    }
    if settings.PORTAL_DEMO:
        checks["broker"] = {"ok": True, "mode": "in-process"}
    else:
        checks["broker"] = _run(_broker)
        checks["workers"] = (
            _run(_workers) if checks["broker"]["ok"] else {"ok": False, "error": "broker down"}
        )
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
