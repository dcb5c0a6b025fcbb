"""Where one validation of the archive's web service spends its time, in this process
(``bench/orthanc_auth_load.py --profile N``): the SQL of each level, each step's time without a
profiler, the floor's, then cProfile.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from io import StringIO
from typing import Any

from django.db import connection
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext

from access import orthanc_auth
from bench.auth_floor_urls import CALLBACK_FLOOR_PATH
from bench.auth_load_region import LEVELS, ROOT, Bodies
from portal.machine_wsgi import MachineHandler

VALIDATE_PATH = "/orthanc-auth/tokens/validate"


# The steps of one validation, as ``access.orthanc_auth`` calls them (name in that module).
STAGES = {
    "archive_source_for_callback": "identifiants HTTP Basic de l'archive",
    "viewer_token_hash": "empreinte du jeton",
    "archive_resource_resolve": "ressource → examen et patient",
    "decide_for_token": "jeton, faits, décision et trace",
    "viewer_token_touch": "dernier usage du jeton (1/min)",
}


class CallbackClientHandler(ClientHandler):
    """The test client's handler with the callback handler's middleware and URLconf
    (``portal.machine_wsgi``), which serves ``/orthanc-auth/`` behind ``portal.wsgi``."""

    load_middleware = MachineHandler.load_middleware


class StageClock:
    """Wall time, SQL statements and SQL wait of each step of ``STAGES``, measured by
    wrapping the names ``access.orthanc_auth`` calls (no profiler: its overhead would
    inflate the ORM's many small calls)."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {name: [] for name in STAGES}
        self.sql: Counter[str] = Counter()
        self.sql_s: dict[str, float] = defaultdict(float)
        self.current: list[str] = []

    def wrap(self, name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.current.append(name)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name].append(time.perf_counter() - started)
                self.current.pop()

        return timed

    def execute(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        stage = self.current[-1] if self.current else "(hors étapes)"
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql[stage] += 1
            self.sql_s[stage] += time.perf_counter() - started


def profile(bodies: Bodies, authorization: str, count: int, *, log: Callable[[str], None]) -> None:
    """Where a validation's time goes, in this process through Django's test client on the
    callback's handler (its middleware and URLconf, without gunicorn): the SQL of one request
    per level, each step's time, the floor's on that handler, then ``count`` validations under
    cProfile (saved for ``pstats``)."""
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=authorization)
    client.handler = CallbackClientHandler(enforce_csrf_checks=False)
    lines = bodies.lines[:count]
    for line in dict.fromkeys(lines):
        client.post(VALIDATE_PATH, line, content_type="application/json")
    for level in LEVELS:
        line = next(line for line in lines if json.loads(line)["level"] == level)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            answer = client.post(VALIDATE_PATH, line, content_type="application/json")
            spent = (time.perf_counter() - started) * 1000
        log(f"Niveau {level} : {answer.json()}, {len(queries)} requêtes SQL, {spent:.2f} ms")
        for query in queries.captured_queries:
            log(f"  {float(query['time']) * 1000:6.2f} ms  {' '.join(query['sql'].split())[:140]}")

    def run(path: str) -> list[float]:
        spent = []
        for line in lines:
            started = time.perf_counter()
            client.post(path, line, content_type="application/json")
            spent.append(time.perf_counter() - started)
        return spent

    clock = StageClock()
    originals = {name: getattr(orthanc_auth, name) for name in STAGES}
    try:
        for name, function in originals.items():
            setattr(orthanc_auth, name, clock.wrap(name, function))
        cpu = time.process_time()
        with connection.execute_wrapper(clock.execute):
            total = run(VALIDATE_PATH)
        cpu = time.process_time() - cpu
    finally:
        for name, function in originals.items():
            setattr(orthanc_auth, name, function)
    floor = run(CALLBACK_FLOOR_PATH)
    ms = 1000 / len(lines)
    busy = os.getloadavg()[0]
    log(f"\n{len(lines)} validations, par requête (moyennes ; charge de la machine {busy:.1f}) :")
    log(f"  {'étape':<48}{'ms':>8}{'SQL':>6}{'ms SQL':>8}")
    for name, label in STAGES.items():
        log(
            f"  {label:<48}{sum(clock.spent[name]) * ms:8.2f}"
            f"{clock.sql[name] / len(lines):6.2f}{clock.sql_s[name] * ms:8.2f}"
        )
    staged = sum(sum(values) for values in clock.spent.values())
    rest = (sum(total) - staged) * ms
    log(f"  {'le reste (Django, middleware, JSON, client)':<48}{rest:8.2f}")
    log(
        f"  {'total':<48}{sum(total) * ms:8.2f}{sum(clock.sql.values()) / len(lines):6.2f}"
        f"{sum(clock.sql_s.values()) * ms:8.2f}"
    )
    log(f"  {'dont CPU de ce processus':<48}{cpu * ms:8.2f}")
    log(f"  {'la vue triviale, même client':<48}{sum(floor) * ms:8.2f}")

    profiler = cProfile.Profile()
    profiler.enable()
    run(VALIDATE_PATH)
    profiler.disable()
    saved = ROOT / "var" / "bench" / "orthanc_auth_profile.pstats"
    saved.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(saved)
    out = StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    log(f"\ncProfile ({saved}) :")
    log(out.getvalue())
