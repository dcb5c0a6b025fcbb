"""`make demo` runs on an embedded SQLite database, which the rest of the suite never touches:
this builds the demo region there, as a newcomer would, and takes a few decisions on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK_DECISIONS = """
from access.decision import decide
from audit.models import AccessEvent, Action, Channel
from imaging.models import Patient
from portal.models import User

helene = Patient.objects.get(user__email="helene.durand@patient.demo")
for email in ("dr.generaliste@cabinet-nancy.demo", "dr.sans-acces@cabinet-epinal.demo"):
    user = User.objects.get(email=email)
    decision = decide(user=user, patient=helene, action=Action.READ, channel=Channel.WEB)
    print(email, decision.granted, decision.reason)
print("trail", AccessEvent.objects.count())
"""


def _manage(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(
        PORTAL_DEMO="true",
        PORTAL_ENV="development",
        PORTAL_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_demo_region_builds_on_sqlite_and_decides(tmp_path: Path) -> None:
    for args in (["migrate", "--no-input"], ["seed_demo"], ["seed_demo"]):
        result = _manage(args, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    assert "accès : trace déjà présente" in result.stdout  # the second run changes nothing
    result = _manage(["shell", "-c", CHECK_DECISIONS], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "dr.generaliste@cabinet-nancy.demo True grant" in result.stdout
    assert "dr.sans-acces@cabinet-epinal.demo False no_right" in result.stdout
    trail = int(result.stdout.split("trail")[1].split()[0])
    assert trail > 300
