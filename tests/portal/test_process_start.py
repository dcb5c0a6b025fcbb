"""A serving process is readied before its first request (``portal.process_start``, called by
``portal.wsgi``): its views are imported and what it loaded is kept out of the garbage
collector's full passes. Checked in a fresh interpreter, as gunicorn's worker starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys, time
import portal.wsgi
started = time.perf_counter()
gc.collect()
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "full_collection_ms": (time.perf_counter() - started) * 1000,
    "thresholds": gc.get_threshold(),
    "views_loaded": [name in sys.modules for name in (
        "establishments.views", "access.orthanc_auth", "reporting.dashboard_views"
    )],
}))
"""


def test_a_started_process_has_its_views_loaded_and_frozen() -> None:
    env = {**os.environ, "PORTAL_ENV": "test", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    # The portal's and the callback's views are imported before any request.
    assert probe["views_loaded"] == [True, True, True]
    # Django and the apps (well over 100,000 objects) are out of the collector's walks: a full
    # collection has only what was created after the freeze to look at.
    assert probe["frozen"] > 100_000
    assert probe["walked"] < 5_000
    assert probe["thresholds"][2] == 100
