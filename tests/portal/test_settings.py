"""Settings come from the environment; a malformed value stops start-up and names itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3y-" + "x7Qp9Lm2Zr4Vt8Nb6Hc1Jd5Fg3Ks0Wy" * 2


def _run(args: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _check(**variables: str) -> subprocess.CompletedProcess[str]:
    return _run(["check"], **variables)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTAL_DEMO", "peut-être"),
        ("PORTAL_ENV", "staging"),
        ("SESSION_IDLE_TIMEOUT_S", "trente minutes"),
        ("SESSION_MAX_AGE_S", "-5"),
        ("DATABASE_URL", "pas-une-url"),
        ("REDIS_URL", "http://127.0.0.1:6379/0"),
        ("EMAIL_PORT", "vingt-cinq"),
        ("DEBUG", "2"),
        ("PSC_DISCOVERY_URL", "ftp://x"),
        ("ACCESS_DECISION_VALIDITY_S", "0"),
        ("ACCESS_FACTS_CACHE_S", "-1"),
        ("ACCESS_FACTS_CACHE_S", "10"),  # as long as the validity (10 s by default)
        ("BREAK_GLASS_DURATION_S", "quatre heures"),
        ("AUDIT_RETENTION_MONTHS", "-1"),
        ("PATIENT_ACCESS_CODE_DAYS", "un mois"),
        ("DATABASE_PREPARED_STATEMENTS", "peut-être"),
        ("API_KEY_MAX_DAYS", "un an"),
        ("API_KEY_DEFAULT_DAYS", "400"),
        ("API_KEY_MAX_PER_USER", "0"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(variable: str, value: str) -> None:
    result = _check(**{"PORTAL_ENV": "test", variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_production_requires_a_secret_key() -> None:
    result = _check(
        PORTAL_ENV="production",
        ALLOWED_HOSTS="portail.example.fr",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_requires_allowed_hosts() -> None:
    result = _check(
        PORTAL_ENV="production",
        SECRET_KEY=STRONG_KEY,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_requires_a_database_url() -> None:
    result = _check(PORTAL_ENV="production", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="portail.fr")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_a_pro_sante_connect_client_needs_its_secret() -> None:
    result = _check(PORTAL_ENV="test", PSC_CLIENT_ID="portail-regional")
    assert result.returncode != 0
    assert "PSC_CLIENT_SECRET" in result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(STRONG_KEY + "\n")
    result = _run(
        ["shell", "-c", "from django.conf import settings; print(len(settings.SECRET_KEY))"],
        PORTAL_ENV="production",
        SECRET_KEY_FILE=str(secret),
        ALLOWED_HOSTS="portail.example.fr",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(str(len(STRONG_KEY)))


def test_an_unreadable_secret_key_file_is_named(tmp_path: Path) -> None:
    result = _check(PORTAL_ENV="production", SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr


def test_production_settings_pass_the_deployment_checks() -> None:
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        PORTAL_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="portail.example.fr",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    )
    assert result.returncode == 0, result.stdout + result.stderr


SHOW_DEMO_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND)"
)


def test_demo_mode_needs_no_secret_and_uses_sqlite(tmp_path: Path) -> None:
    result = _run(
        ["shell", "-c", SHOW_DEMO_SETTINGS],
        PORTAL_DEMO="true",
        PORTAL_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3 True django.core.mail.backends.console.EmailBackend" in result.stdout
