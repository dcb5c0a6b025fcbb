"""What the load benchmark of the archive's web service (``bench/orthanc_auth_load.py``) asks:
the seeded region of ``bench/access_scale.py``, an archive with the web service's credentials,
viewer tokens, the plugin's bodies; and what the trail holds afterwards.

Imported once Django is set up (by ``bench/orthanc_auth_load.py``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone

from access.models import AccessGrant, BreakGlassAccess
from access.token_models import ViewerToken
from access.tokens import token_hash, viewer_token_issue, viewer_token_mint
from audit.models import GENESIS_HASH
from bench.access_region import Shape
from bench.access_scale import database_name, maintenance
from bench.access_seed import counts_match, seeded_shape
from bench.access_trail import _TRIGGER_HASH
from establishments.models import Establishment
from imaging.models import ArchiveSource, ImagingStudy
from imaging.services import archive_source_create, archive_source_update
from portal.models import User
from practitioners.models import Accreditation, PracticeSite, Practitioner

ROOT = Path(__file__).resolve().parent.parent
# The archive's credentials towards the portal, and the portal's towards the archive: a bench's.
CALLBACK_USERNAME = "bench-orthanc-auth"
CALLBACK_PASSWORD = "bench-callback-password-not-a-secret"  # noqa: S105
READER_USERNAME = "portail-bench"
READER_PASSWORD = "bench-reader-password"  # noqa: S105
# What the archive asks about while viewers open studies (weights).
LEVELS = {"study": 70, "series": 20, "instance": 10}
SERIES_PER_STUDY = 4
INSTANCES_PER_SERIES = 3
# A token of the pool is reused while it has this long to live: longer than any run.
TOKEN_MARGIN = datetime.timedelta(minutes=20)

Log = Callable[[str], None]


# --- The database -------------------------------------------------------------------------


def use_seeded_database(scale: float, *, log: Log) -> str:
    """Point this process at the seeded database of ``scale``; exits when it is not ready."""
    name = database_name(scale)
    if not name.startswith("bench"):
        raise SystemExit(f"PORTAL_TEST_DATABASE doit commencer par « bench » (ici « {name} »).")
    seed_command = (
        f'make bench-access BENCH_ARGS="--scale {scale:g} --seed-only" '
        "(ou PORTAL_ENV=test .venv/bin/python bench/access_scale.py "
        f"--scale {scale:g} --seed-only)"
    )
    if not maintenance(name, ""):
        raise SystemExit(f"Base {name} absente : semez-la d'abord avec {seed_command}.")
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name
    shape = Shape.of(scale)
    if seeded_shape() != shape.as_key() or counts_match(shape):
        raise SystemExit(f"Base {name} pas (encore) entièrement semée : {seed_command}.")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        # Not applied here: the database is shared with bench/access_scale.py, which migrates.
        log(
            f"Attention : migrations non appliquées à {name} ("
            + ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in pending)
            + f") ; {seed_command} les applique."
        )
    return name


def orthanc_id(text: str) -> str:
    """An id shaped like Orthanc's (a SHA-1 of the DICOM identifiers, in five groups)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:40]
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


def bench_archive(*, archive_url: str) -> tuple[ArchiveSource, int]:
    """The bench's archive (created once, at the busiest establishment with a care team),
    pointed at ``archive_url``; and how many of its establishment's studies it now holds."""
    source = ArchiveSource.objects.filter(callback_username=CALLBACK_USERNAME).first()
    if source is None:
        staffed = PracticeSite.objects.filter(
            status=PracticeSite.Status.ACTIVE,
            practitioner__accreditations__in=Accreditation.objects.active(),
        ).values("establishment_id")
        busiest = (
            ImagingStudy.objects.filter(establishment_id__in=staffed)
            .exclude(establishment__archive_source__isnull=False)
            .values("establishment_id")
            .annotate(studies=Count("id"))
            .order_by("-studies")
            .first()
        )
        if busiest is None:
            raise SystemExit("Aucun établissement de la graine n'a d'équipe ni d'examens.")
        source = archive_source_create(
            establishment=Establishment.objects.get(pk=busiest["establishment_id"]),
            base_url=archive_url,
            username=READER_USERNAME,
            password=READER_PASSWORD,
            enabled=False,  # nothing to sync: the index already holds its studies
            callback_username=CALLBACK_USERNAME,
            callback_password=CALLBACK_PASSWORD,
        )
    else:
        same = check_password(CALLBACK_PASSWORD, source.callback_password_hash)
        source = archive_source_update(
            source=source,
            base_url=archive_url,
            username=READER_USERNAME,
            enabled=False,
            callback_username=CALLBACK_USERNAME,
            callback_password="" if same else CALLBACK_PASSWORD,
        )
    with connection.cursor() as cursor:
        # The seed's studies have no archive: this one holds its establishment's, with ids
        # derived from their StudyInstanceUID as Orthanc's are.
        cursor.execute(
            """UPDATE imaging_imagingstudy SET source_id = %s,
                archive_id = array_to_string(ARRAY(SELECT substr(h, 8 * g + 1, 8)
                    FROM generate_series(0, 4) g), '-')
            FROM (SELECT id AS sid, encode(sha256(convert_to(study_instance_uid, 'UTF8')),
                'hex') AS h FROM imaging_imagingstudy
                WHERE establishment_id = %s AND source_id IS NULL) hashed
            WHERE id = hashed.sid""",
            [source.pk, source.establishment_id],
        )
        if cursor.rowcount:
            cursor.execute("ANALYZE imaging_imagingstudy")
    held = ImagingStudy.objects.filter(source=source).count()
    return source, held


# --- The viewer tokens and the bodies -------------------------------------------------------


@dataclass(frozen=True)
class PoolToken:
    token: str
    kind: str  # care team, grant, no right
    study_id: int | None  # the study it is bound to (None: unbound)
    asks: list[int]  # the studies its viewer asks about


def _accredited_users() -> set[int]:
    return set(
        Practitioner.objects.filter(accreditations__in=Accreditation.objects.active()).values_list(
            "user_id", flat=True
        )
    )


def mint_pool(
    *, source: ArchiveSource, count: int, refused_share: float, rng: random.Random
) -> list[PoolToken]:
    """Tokens as the portal mints them: bound to one study, issued only when ``access.decide``
    lets the user see it (traced on the API channel); the refused ones unbound, for
    practitioners outside the care team, asking about studies of patients they have no grant
    nor emergency access on."""
    accredited = _accredited_users()
    team = sorted(
        set(
            PracticeSite.objects.filter(
                status=PracticeSite.Status.ACTIVE, establishment_id=source.establishment_id
            ).values_list("practitioner__user_id", flat=True)
        )
        & accredited
    )
    held = ImagingStudy.objects.present().filter(source=source)
    granted_pairs = list(
        AccessGrant.objects.active()
        .filter(patient_id__in=held.values("patient_id"))
        .values_list("practitioner__user_id", "patient_id")[: 20 * count]
    )
    granted_pairs = [(user, patient) for user, patient in granted_pairs if user in accredited]
    outsiders = sorted(accredited - set(team))
    if not team or not granted_pairs or not outsiders:
        raise SystemExit(
            f"Graine trop petite pour le banc : {len(team)} soignants, {len(granted_pairs)} "
            f"autorisations, {len(outsiders)} praticiens sans droit."
        )
    last = held.order_by("-id").values_list("id", flat=True).first() or 0
    first = held.order_by("id").values_list("id", flat=True).first() or 0
    refused = max(1, round(count * refused_share))
    grants = max(1, (count - refused) // 3)
    nobodies = rng.sample(outsiders, min(refused, len(outsiders)))
    users = User.objects.in_bulk({*team, *(user for user, _p in granted_pairs), *nobodies})
    pool: list[PoolToken] = []
    misses = 0
    while len(pool) < count - refused and misses < 10 * count:
        if sum(1 for t in pool if t.kind == "grant") < grants:
            kind = "grant"
            user_id, patient_id = rng.choice(granted_pairs)
            study = held.filter(patient_id=patient_id).order_by("?").first()
        else:
            kind = "care team"
            user_id = rng.choice(team)
            study = held.filter(id__gte=rng.randint(first, last)).order_by("id").first()
        if study is None:
            misses += 1
            continue
        try:
            minted = viewer_token_issue(
                user=users[user_id], study_instance_uid=study.study_instance_uid
            )
        except ObjectDoesNotExist:
            # An opposition, say: the portal would not have minted it either.
            misses += 1
            continue
        pool.append(PoolToken(minted.token, kind, study.pk, [study.pk]))
    candidates = list(held.order_by("?").values_list("id", "patient_id")[:2000])
    for user_id in nobodies:
        # Any grant or emergency access, even ended: the refusal must not depend on the clock.
        known = set(
            AccessGrant.objects.filter(practitioner__user_id=user_id).values_list(
                "patient_id", flat=True
            )
        ) | set(
            BreakGlassAccess.objects.filter(user_id=user_id).values_list("patient_id", flat=True)
        )
        asks = [study for study, patient in candidates if patient not in known]
        minted = viewer_token_mint(user=users[user_id])
        pool.append(PoolToken(minted.token, "no right", None, rng.sample(asks, 20)))
    return pool


def token_pool(
    *,
    source: ArchiveSource,
    database: str,
    count: int,
    refused_share: float,
    seed: int,
    log: Log,
) -> list[PoolToken]:
    """The pool of the last run while its tokens all live; a new one otherwise."""
    kept = ROOT / "var" / "bench" / f"orthanc_auth_tokens_{database}.json"
    if kept.exists():
        saved = json.loads(kept.read_text())
        pool = [PoolToken(**item) for item in saved["tokens"]]
        alive = ViewerToken.objects.filter(
            token_hash__in=[token_hash(t.token) for t in pool],
            revoked_at__isnull=True,
            expires_at__gt=timezone.now() + TOKEN_MARGIN,
        ).count()
        wanted = (count, refused_share, source.pk)
        if alive == len(pool) and tuple(saved["wanted"]) == wanted:
            log(f"Jetons de visionneuse réutilisés : {len(pool)} ({kept.relative_to(ROOT)}).")
            return pool
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - a sample, not a secret
    pool = mint_pool(source=source, count=count, refused_share=refused_share, rng=rng)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(
        json.dumps(
            {
                "wanted": [count, refused_share, source.pk],
                "tokens": [t.__dict__ for t in pool],
            }
        )
    )
    kept.chmod(0o600)
    log(f"Jetons de visionneuse émis : {len(pool)} en {time.perf_counter() - started:.1f} s.")
    return pool


@dataclass
class Bodies:
    """The requests' bodies (JSON, one per request of the cycle) and what the imitation of the
    archive must answer about their series and instances."""

    lines: list[str] = field(default_factory=list)
    levels: Counter[str] = field(default_factory=Counter)
    parents: dict[str, str] = field(default_factory=dict)  # series or instance id → study id
    lookups: dict[str, tuple[str, str]] = field(default_factory=dict)  # uid → (Type, id)


def bodies_for(
    *,
    source: ArchiveSource,
    pool: Sequence[PoolToken],
    count: int,
    rng: random.Random,
    burst: int = 1,
) -> Bodies:
    """``count`` bodies as the official plugin sends them, the tokens taking turns by
    ``burst`` bodies (1: each token in turn; 50: a viewer loading 50 images of its study
    before the next viewer's turn): the study level by Orthanc id (the REST API), series and
    instances by DICOM identifier only (DICOMweb), which the portal resolves through the
    archive once, then from its cache."""
    asked = {study for t in pool for study in t.asks}
    studies = {
        pk: (uid, archive_id)
        for pk, uid, archive_id in ImagingStudy.objects.filter(id__in=asked).values_list(
            "id", "study_instance_uid", "archive_id"
        )
    }
    made = Bodies()
    server_id = f"orthanc-{source.pk}"
    levels, weights = list(LEVELS), list(LEVELS.values())
    for number in range(count):
        token = pool[(number // burst) % len(pool)]
        uid, archive_id = studies[rng.choice(token.asks)]
        level = rng.choices(levels, weights=weights)[0]
        body: dict[str, Any] = {
            "method": "get",
            "level": level,
            "orthanc-id": archive_id,
            "dicom-uid": uid,
            "uri": "",
            "token-key": "Authorization",
            "token-value": f"Bearer {token.token}",
            "server-id": server_id,
            "labels": [],
        }
        if level != "study":
            series_uid = f"{uid}.{rng.randint(1, SERIES_PER_STUDY)}"
            series_id = orthanc_id(series_uid)
            made.parents[series_id] = archive_id
            made.lookups[series_uid] = ("Series", series_id)
            resource_uid = series_uid
            if level == "instance":
                resource_uid = f"{series_uid}.{rng.randint(1, INSTANCES_PER_SERIES)}"
                instance_id = orthanc_id(resource_uid)
                made.parents[instance_id] = archive_id
                made.lookups[resource_uid] = ("Instance", instance_id)
            body.update({"orthanc-id": None, "dicom-uid": resource_uid})
        made.levels[level] += 1
        made.lines.append(json.dumps(body))
    return made


# --- The trail ----------------------------------------------------------------------------


def chain_heads() -> dict[int, int]:
    """Each chain's last rank, before the load."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, seq FROM audit_chainhead")
        return {int(chain): int(seq) for chain, seq in cursor.fetchall()}


def trail_since(heads: dict[int, int]) -> tuple[int, int, int, int]:
    """The links written after ``heads`` (each chain's rank before the load): on the archive
    channel (all, granted), on any channel, and those whose hash or previous hash is not what
    it should be (every one of them checked)."""
    chains, ranks = list(heads), [heads[chain] for chain in heads]
    after = (
        "LEFT JOIN unnest(%s::smallint[], %s::bigint[]) AS h(chain, seq) ON h.chain = e.chain "
        "WHERE e.chain_seq > coalesce(h.seq, 0)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE e.channel = 'archive'), "  # noqa: S608 - constants
            "count(*) FILTER (WHERE e.channel = 'archive' AND e.granted), count(*) "
            f"FROM audit_accessevent e {after}",
            [chains, ranks],
        )
        archive, granted, every = cursor.fetchone()
        cursor.execute(
            f"""SELECT count(*) FROM audit_accessevent e
            LEFT JOIN audit_accessevent b ON b.chain = e.chain AND b.chain_seq = e.chain_seq - 1
            {after} AND (e.hash <> {_TRIGGER_HASH}
                OR e.prev_hash <> coalesce(b.hash, %s))""",  # noqa: S608 - constants
            [chains, ranks, GENESIS_HASH],
        )
        (broken,) = cursor.fetchone()
    return archive, granted, every, broken


def database_url() -> str:
    """The address of the database this process uses, for gunicorn's ``DATABASE_URL``."""
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"
