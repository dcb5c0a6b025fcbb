"""``/healthz``: 200 when the database, cache, broker and a worker answer; 503 otherwise."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.worker
def test_it_is_healthy_with_a_live_worker(client: Client, celery_worker) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["workers"]["count"] >= 1


def test_it_is_unhealthy_without_a_worker(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["workers"]["ok"] is False


def test_it_is_unhealthy_when_the_broker_is_down(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=DEAD_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "OperationalError"}


def test_it_is_unhealthy_when_the_cache_is_down(client: Client) -> None:
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    }
    with override_settings(CACHES=dead_cache, SESSION_ENGINE="django.contrib.sessions.backends.db"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False


@override_settings(PORTAL_DEMO=True)
def test_demo_mode_needs_no_worker(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "workers" not in response.json()["checks"]


def test_it_never_leaks_connection_details(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL="redis://:s3cret@127.0.0.1:1/0"):
        body = client.get("/healthz").content.decode()
    assert "s3cret" not in body
