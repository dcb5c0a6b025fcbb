"""Real Orthanc archives for the imaging tests (session-scoped), emptied before each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydicom.uid import generate_uid

from establishments.models import Establishment
from imaging.models import ArchiveSource
from imaging.services import archive_source_create
from tests.factories import EstablishmentFactory
from tests.imaging.orthanc_lab import ORTHANC_BINARY, OrthancLab, dicom_instance


def _lab(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[OrthancLab]:
    if not ORTHANC_BINARY.exists():
        pytest.skip("Orthanc is not installed (/usr/sbin/Orthanc): `make test` installs it")
    lab = OrthancLab(tmp_path_factory.mktemp(name), name=name.upper(), with_python_filter=True)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def orthanc_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancLab]:
    yield from _lab(tmp_path_factory, "archive-a")


@pytest.fixture(scope="session")
def orthanc_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancLab]:
    yield from _lab(tmp_path_factory, "archive-b")


def _fresh(lab: OrthancLab) -> OrthancLab:
    if lab.process is None:  # a test stopped it to play "archive down"
        lab.start()
    lab.slow_flag.unlink(missing_ok=True)
    lab.clear()
    return lab


@pytest.fixture
def archive_a(orthanc_a: OrthancLab) -> OrthancLab:
    return _fresh(orthanc_a)


@pytest.fixture
def archive_b(orthanc_b: OrthancLab) -> OrthancLab:
    return _fresh(orthanc_b)


@pytest.fixture
def connect(db: None) -> Callable[..., ArchiveSource]:
    """``connect(lab, establishment=None, password=None)``: an archive source for ``lab``."""

    def make(
        lab: OrthancLab,
        establishment: Establishment | None = None,
        *,
        password: str | None = None,
        base_url: str | None = None,
    ) -> ArchiveSource:
        return archive_source_create(
            establishment=establishment or EstablishmentFactory(),
            base_url=base_url or lab.url,
            username=lab.username,
            password=lab.password if password is None else password,
        )

    return make


@pytest.fixture
def put_study() -> Callable[..., tuple[str, str]]:
    """``put_study(lab, patient_id=..., patient_name=..., series=[("CT", 2)], **tags)``:
    uploads one study; returns (StudyInstanceUID, Orthanc study id)."""

    def upload(
        lab: OrthancLab,
        *,
        series: list[tuple[str, int]] | None = None,
        study_uid: str | None = None,
        **tags: object,
    ) -> tuple[str, str]:
        uid = study_uid or generate_uid()
        tags.setdefault("patient_name", "DURAND^Hélène")
        instances = []
        for modality, count in series or [("CT", 1)]:
            series_uid = generate_uid()
            instances += [
                dicom_instance(study_uid=uid, series_uid=series_uid, modality=modality, **tags)  # type: ignore[arg-type]
                for _ in range(count)
            ]
        answers = lab.upload(instances)
        return uid, answers[0]["ParentStudy"]

    return upload
