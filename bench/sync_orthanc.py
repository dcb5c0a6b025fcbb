"""Benchmark of the archive sync against a real Orthanc (``make bench``; not a test).

Fills a fresh Orthanc (Debian's package, on 127.0.0.1, in a temporary folder) with N synthetic
studies (pydicom), then measures:

1. the limit: reading the same change feed and the same study details from Orthanc, with the
   same page size and fetch threads as the sync, without touching the database;
2. the sync itself (``imaging.sync.source_sync``) from an empty index into PostgreSQL;

and prints studies per second for both, their ratio (the sync must stay within 1.5x of the
limit) and the worker's memory at several points of the run (it must stay flat: one page in
memory at a time). Run: ``PORTAL_ENV=test PORTAL_TEST_DATABASE=bench_portal
.venv/bin/python bench/sync_orthanc.py --count 10000``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("PORTAL_TEST_DATABASE", "bench_portal")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402

from establishments.models import Establishment  # noqa: E402
from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier  # noqa: E402
from imaging.services import archive_source_create  # noqa: E402
from imaging.sync import fetch_workers_setting, read_change_page, source_sync  # noqa: E402
from tests.imaging.orthanc_lab import ORTHANC_BINARY, OrthancLab, dicom_instance  # noqa: E402

BENCH_FINESS = "540000007"  # passes the Luhn check; a bench-only establishment
LIMIT_RATIO = 1.5
VALID_INS = ["295109912611193", "262045439512382"]


def rss_mb() -> float:
    """The process's resident memory now (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(lab: OrthancLab, count: int, threads: int) -> list[str]:
    """Upload ``count`` one-instance studies (two per patient, some with an INS)."""

    def upload(start: int) -> list[str]:
        client = lab.client()
        ids = []
        for number in range(start, min(start + 250, count)):
            patient = number // 2
            data = dicom_instance(
                patient_id=f"BENCH-{patient:07d}",
                patient_name=f"PATIENT{patient}^Hélène",
                study_uid=generate_uid(),
                study_date=f"20{10 + number % 15:02d}{1 + number % 12:02d}{1 + number % 28:02d}",
                modality=("CT", "MR", "DX", "US")[number % 4],
                accession_number=f"ACC{number}",
                description="Scanner thoraco-abdomino-pelvien avec injection",
                ins=VALID_INS[patient % 2] if patient < 2 else None,
            )
            ids.append(client.upload_instance(data)["ParentStudy"])
        client.close()
        return ids

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [study for batch in pool.map(upload, range(0, count, 250)) for study in batch]


def read_only(lab: OrthancLab, page_size: int) -> tuple[float, int]:
    """The limit: the sync's HTTP reads alone (same pages, same threads, no database)."""
    client = lab.client()
    studies = 0
    cursor = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=fetch_workers_setting()) as pool:
        client.last_change_seq()
        while True:
            page, fetched = read_change_page(client, pool, since=cursor, limit=page_size)
            studies += sum(1 for item in fetched if item.record)
            cursor = page.last
            if page.done or not page.changes:
                break
    client.close()
    return time.perf_counter() - started, studies


def reset_index() -> Establishment:
    ImagingStudy.objects.filter(source__establishment__finess_eg=BENCH_FINESS).delete()
    ArchiveSource.objects.filter(establishment__finess_eg=BENCH_FINESS).delete()
    PatientIdentifier.objects.filter(establishment__finess_eg=BENCH_FINESS).delete()
    Patient.objects.filter(identifiers__isnull=True, user__isnull=True).delete()
    establishment, _ = Establishment.objects.get_or_create(
        finess_eg=BENCH_FINESS,
        defaults={
            "name": "Établissement du banc d'essai",
            "kind": Establishment.Kind.GENERAL_HOSPITAL,
        },
    )
    return establishment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="studies to ingest (10000)")
    parser.add_argument("--page-size", type=int, default=200, help="changes per page (200)")
    parser.add_argument(
        "--workers", type=int, help="threads fetching study details (IMAGING_SYNC_FETCH_WORKERS)"
    )
    parser.add_argument("--upload-threads", type=int, default=8)
    args = parser.parse_args()
    if args.workers:
        settings.IMAGING_SYNC_FETCH_WORKERS = args.workers
    if args.count < 4:
        parser.error("--count doit valoir au moins 4")
    if not ORTHANC_BINARY.exists():
        print("Orthanc absent (/usr/sbin/Orthanc) : apt-get install orthanc", file=sys.stderr)
        return 2

    connection.creation.create_test_db(verbosity=0, keepdb=True)
    print(
        f"Base : {connection.settings_dict['NAME']} ({connection.vendor}), "
        f"{fetch_workers_setting()} fils de lecture, pages de {args.page_size} changements"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-orthanc-"))
    lab = OrthancLab(workdir, name="BENCH", stable_age_s=1)
    lab.start()
    try:
        started = time.perf_counter()
        study_ids = fill(lab, args.count, args.upload_threads)
        print(
            f"Archive remplie : {len(study_ids)} examens en {time.perf_counter() - started:.1f} s"
        )
        lab.wait_stable(study_ids, timeout_s=600)

        cold_s, read_studies = read_only(lab, args.page_size)
        establishment = reset_index()
        source = archive_source_create(
            establishment=establishment,
            base_url=lab.url,
            username=lab.username,
            password=lab.password,
        )
        checkpoints = sorted({max(1, args.count * k // 4) for k in (1, 2, 3, 4)})
        samples: list[tuple[int, float, float]] = []
        done = 0

        def sample(stage: str, count: int) -> None:
            nonlocal done
            if stage != "studies":
                return
            done += count
            while checkpoints and done >= checkpoints[0]:
                samples.append((checkpoints.pop(0), rss_mb(), peak_rss_mb()))

        rss_before = rss_mb()
        started = time.perf_counter()
        report = source_sync(source=source, page_size=args.page_size, stage_hook=sample)
        sync_s = time.perf_counter() - started
        # Read again once the archive's caches are as warm as they were for the sync: the
        # faster of the two reads is the limit (the stricter comparison).
        warm_s, _studies = read_only(lab, args.page_size)
        read_s = min(cold_s, warm_s)
    finally:
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    indexed = ImagingStudy.objects.filter(source=source).count()
    ratio = sync_s / read_s
    print()
    print(f"{'':38}{'examens':>10}{'secondes':>10}{'examens/s':>12}")
    for label, studies, seconds in (
        ("Lecture seule Orthanc (la limite)", read_studies, read_s),
        ("Synchronisation (index PostgreSQL)", indexed, sync_s),
    ):
        print(f"{label:38}{studies:>10}{seconds:>10.1f}{studies / seconds:>12.0f}")
    print(f"(lectures seules : {cold_s:.1f} s avant, {warm_s:.1f} s après la synchronisation)")
    print(f"Rapport synchronisation / limite : {ratio:.2f} (objectif ≤ {LIMIT_RATIO})")
    print(f"Mémoire du processus avant la synchronisation : {rss_before:.0f} Mio")
    for count, rss, peak in samples:
        print(f"  après {count:>7} examens : RSS {rss:6.0f} Mio, pic {peak:6.0f} Mio")
    ok = report.done and indexed == args.count and ratio <= LIMIT_RATIO
    print("RÉSULTAT :", "conforme" if ok else "NON CONFORME")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
