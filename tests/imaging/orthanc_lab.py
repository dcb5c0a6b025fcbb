"""A real Orthanc archive for tests and the benchmark, and synthetic DICOM to feed it.

``OrthancLab`` runs Debian's ``/usr/sbin/Orthanc`` on 127.0.0.1 with its own configuration
and storage in a folder of its own, and stops it by PID. ``dicom_instance`` builds a small
Secondary Capture instance with pydicom (8×8 pixels) carrying the patient and study tags a
test needs. ``AuthorizingOrthancLab`` is an Orthanc that asks an authorization web service
(the portal's, or a stand-in) about every HTTP request, through the project's Python plugin.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from imaging.orthanc import OrthancClient

ORTHANC_BINARY = Path("/usr/sbin/Orthanc")
PYTHON_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancPython.so")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
# The project's Orthanc plugin asking the portal about every request (Debian installs).
AUTHORIZATION_PLUGIN = Path(__file__).resolve().parents[2] / "orthanc" / "portal_authorization.py"
TEST_INS_ISSUER = "1.2.250.1.213.1.4.10"  # INS-NIR for tests (ANS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port_url() -> str:
    """An address where nothing listens (for "archive unreachable")."""
    return f"http://127.0.0.1:{free_port()}"


# Loaded into Orthanc's Python plugin when asked: slows every REST call down while the file
# named by SLOW_FLAG exists, so a test can kill a sync half-way through deterministically.
_SLOW_FILTER = """
import os, time
import orthanc

FLAG = {flag!r}

def slow_down(uri, **request):
    if os.path.exists(FLAG) and uri.startswith("/studies/"):
        time.sleep(float(open(FLAG).read() or "0.05"))
    return True

orthanc.RegisterIncomingHttpRequestFilter(slow_down)
"""


class OrthancLab:
    """One Orthanc process: ``lab.start()``, ``lab.client()``, ``lab.stop()``."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str = "TEST-ARCHIVE",
        username: str = "portal",
        password: str = "un-secret-orthanc",  # noqa: S107 - a throwaway test archive
        stable_age_s: int = 1,
        with_python_filter: bool = False,
    ) -> None:
        self.directory = directory
        self.name = name
        self.username = username
        self.password = password
        self.stable_age_s = stable_age_s
        self.port = free_port()
        self.with_python_filter = with_python_filter
        self.slow_flag = directory / "slow"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict[str, object]:
        storage = self.directory / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config: dict[str, object] = {
            "Name": self.name,
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": self.port,
            "DicomServerEnabled": False,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "StableAge": self.stable_age_s,
            "SaveJobs": False,
            "HttpThreadsCount": 16,
            "Plugins": [],
        }
        if self.with_python_filter and PYTHON_PLUGIN.exists():
            script = self.directory / "filter.py"
            script.write_text(_SLOW_FILTER.format(flag=str(self.slow_flag)))
            config["Plugins"] = [str(PYTHON_PLUGIN)]
            config["PythonScript"] = str(script)
        return config

    def _write_config(self) -> Path:
        path = self.directory / "orthanc.json"
        path.write_text(json.dumps(self._config(), indent=1))
        return path

    def _ready(self, response: requests.Response) -> bool:
        """Whether Orthanc's answer to ``GET /system`` at start means it is up."""
        return response.status_code == 200

    def start(self, timeout_s: float = 30) -> None:
        config = self._write_config()
        log_dir = self.directory / "logs"
        log_dir.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [str(ORTHANC_BINARY), f"--logdir={log_dir}", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start; see {log_dir}")
            try:
                response = requests.get(
                    f"{self.url}/system", auth=(self.username, self.password), timeout=1
                )
                if self._ready(response):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout_s} s; see {log_dir}")

    def stop(self, *, hard: bool = False) -> None:
        """Stop Orthanc: gracefully (SIGTERM, about 2 s), or at once with ``hard``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def client(self) -> OrthancClient:
        return OrthancClient(self.url, self.username, self.password)

    def upload(self, instances: Iterable[bytes]) -> list[dict[str, str]]:
        client = self.client()
        try:
            return [client.upload_instance(data) for data in instances]
        finally:
            client.close()

    def clear(self) -> None:
        """Delete every study (and so every patient) the archive holds."""
        client = self.client()
        try:
            for page in list(client.iter_study_ids()):
                for study_id in page:
                    client.delete_study(study_id)
        finally:
            client.close()

    def last_seq(self) -> int:
        client = self.client()
        try:
            return client.last_change_seq()
        finally:
            client.close()

    def wait_stable(
        self, study_ids: Iterable[str], *, since: int = 0, timeout_s: float = 20
    ) -> int:
        """Poll ``/changes`` until every study in ``study_ids`` has a StableStudy change;
        return the last change number seen."""
        wanted = set(study_ids)
        client = self.client()
        cursor = since
        deadline = time.monotonic() + timeout_s
        try:
            while wanted:
                page = client.changes(since=cursor, limit=1000)
                for change in page.changes:
                    if change.change_type == "StableStudy":
                        wanted.discard(change.resource_id)
                cursor = page.last
                if not wanted:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"studies never became stable: {sorted(wanted)}")
                if page.done:
                    time.sleep(0.1)
            return cursor
        finally:
            client.close()


class AuthorizingOrthancLab(OrthancLab):
    """An Orthanc whose every HTTP request the project's plugin
    (``orthanc/portal_authorization.py``) submits to the authorization web service at
    ``web_service_url``, with the DICOMweb plugin and Orthanc's own authentication off (as the
    plugin requires).

    Neither a viewer token nor the portal's reader may write: ``load()`` uploads while the plugin
    is off, then restarts Orthanc with it.
    """

    def __init__(
        self,
        directory: Path,
        *,
        web_service_url: str,
        web_service_username: str,
        web_service_password: str,
        web_service_identifier: str | None = None,
        timeout_s: float = 5,
        **options: Any,
    ) -> None:
        super().__init__(directory, **options)
        self.authorization: dict[str, object] = {
            "WebServiceRootUrl": web_service_url,
            "WebServiceUsername": web_service_username,
            "WebServicePassword": web_service_password,
            "WebServiceIdentifier": web_service_identifier,
            "TokenHttpHeaders": ["Authorization", "token"],
            "TokenGetArguments": ["token"],
            "Timeout": timeout_s,
        }
        self.enforcing = True

    def _config(self) -> dict[str, object]:
        config = super()._config()
        if self.enforcing:
            config.update(
                {
                    "AuthenticationEnabled": False,
                    "Plugins": [str(DICOMWEB_PLUGIN), str(PYTHON_PLUGIN)],
                    "PythonScript": str(AUTHORIZATION_PLUGIN),
                    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
                    "PortalAuthorization": self.authorization,
                }
            )
        return config

    def _ready(self, response: requests.Response) -> bool:
        # Up, whatever the portal answered about the readiness probe.
        return response.status_code in (200, 403)

    def load(self, instances: Iterable[bytes]) -> list[dict[str, str]]:
        """Upload ``instances`` with the plugin off, wait until their studies are stable, then
        run with the plugin again."""
        self.stop()
        self.enforcing = False
        try:
            self.start()
            answers = self.upload(instances)
            self.wait_stable({answer["ParentStudy"] for answer in answers})
        finally:
            self.stop()
            self.enforcing = True
        self.start()
        return answers


def dicom_instance(
    *,
    patient_id: str,
    patient_name: str,
    study_uid: str,
    series_uid: str | None = None,
    birth_date: str = "19620417",
    sex: str = "F",
    study_date: str = "20240102",
    study_time: str = "101500",
    modality: str = "CT",
    accession_number: str = "",
    description: str = "",
    ins: str | None = None,
    ins_issuer: str = TEST_INS_ISSUER,
) -> bytes:
    """One Secondary Capture instance (UTF-8 text) with the given tags, as file bytes.

    Empty strings are written as empty values, the way archives carry missing data.
    """
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.AccessionNumber = accession_number
    ds.StudyDescription = description
    ds.Modality = modality
    ds.ConversionType = "WSD"
    if ins is not None:
        item = Dataset()
        item.PatientID = ins
        item.IssuerOfPatientID = ins_issuer
        ds.OtherPatientIDsSequence = [item]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 8
    ds.Columns = 8
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(64)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# --- Report instances: encapsulated PDF and structured report (for tests/imaging/test_reports.py)
# A block of its own: built from ``dicom_instance`` (same patient, study and series tags) with
# the image taken out.

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.22"
XRAY_DOSE_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.67"
_IMAGE_KEYWORDS = (
    "ConversionType",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelData",
)


def _document(
    *, sop_class: str, modality: str, content_date: str, content_time: str, **tags: Any
) -> Dataset:
    from pydicom import dcmread

    ds = dcmread(io.BytesIO(dicom_instance(modality=modality, **tags)))
    for keyword in _IMAGE_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    ds.SOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.ContentDate = content_date
    ds.ContentTime = content_time
    ds.InstanceNumber = 1
    return ds


def _file_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def encapsulated_pdf_instance(
    *,
    pdf: bytes,
    content_date: str = "20260314",
    content_time: str = "110000",
    mime_type: str = "application/pdf",
    declare_length: bool = True,
    **tags: Any,
) -> bytes:
    """An Encapsulated PDF instance (modality DOC) carrying ``pdf``, padded to an even length
    as DICOM wants; ``declare_length=False`` leaves out EncapsulatedDocumentLength."""
    ds = _document(
        sop_class=ENCAPSULATED_PDF_STORAGE,
        modality="DOC",
        content_date=content_date,
        content_time=content_time,
        **tags,
    )
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "Compte rendu"
    ds.ConceptNameCodeSequence = [sr_concept("Compte rendu")]
    ds.MIMETypeOfEncapsulatedDocument = mime_type
    ds.EncapsulatedDocument = pdf + b"\x00" * (len(pdf) % 2)
    if declare_length:
        ds.EncapsulatedDocumentLength = len(pdf)
    return _file_bytes(ds)


def sr_concept(meaning: str) -> Dataset:
    """A code item for ``meaning`` in a private test coding scheme."""
    import zlib

    code = Dataset()
    code.CodeValue = f"T{zlib.crc32(meaning.encode()) % 10**8:08d}"
    code.CodingSchemeDesignator = "99PORTAIL"
    code.CodeMeaning = meaning
    return code


def _sr_item(value_type: str, meaning: str, relationship: str, **values: Any) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [sr_concept(meaning)]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def sr_container(meaning: str, *children: Dataset, relationship: str = "CONTAINS") -> Dataset:
    return _sr_item(
        "CONTAINER",
        meaning,
        relationship,
        ContinuityOfContent="SEPARATE",
        ContentSequence=list(children),
    )


def sr_text(meaning: str, text: str, *, relationship: str = "CONTAINS") -> Dataset:
    return _sr_item("TEXT", meaning, relationship, TextValue=text)


def sr_code(meaning: str, value_meaning: str, *, relationship: str = "CONTAINS") -> Dataset:
    return _sr_item("CODE", meaning, relationship, ConceptCodeSequence=[sr_concept(value_meaning)])


def sr_pname(meaning: str, name: str, *, relationship: str = "HAS OBS CONTEXT") -> Dataset:
    return _sr_item("PNAME", meaning, relationship, PersonName=name)


def sr_date(meaning: str, day: str, *, relationship: str = "CONTAINS") -> Dataset:
    return _sr_item("DATE", meaning, relationship, Date=day)


def sr_num(meaning: str, value: str, ucum: str, *, relationship: str = "CONTAINS") -> Dataset:
    unit = Dataset()
    unit.CodeValue = ucum
    unit.CodingSchemeDesignator = "UCUM"
    unit.CodeMeaning = ucum
    measured = Dataset()
    measured.NumericValue = value
    measured.MeasurementUnitsCodeSequence = [unit]
    return _sr_item("NUM", meaning, relationship, MeasuredValueSequence=[measured])


def structured_report_dataset(
    *,
    title: str,
    content: Iterable[Dataset],
    sop_class: str = BASIC_TEXT_SR_STORAGE,
    content_date: str = "20260314",
    content_time: str = "110000",
    verified_by: str | None = None,
    verified_at: str = "20260314113000",
    completion: str = "COMPLETE",
    **tags: Any,
) -> Dataset:
    """A structured report (modality SR) whose root container is ``title``."""
    ds = _document(
        sop_class=sop_class,
        modality="SR",
        content_date=content_date,
        content_time=content_time,
        **tags,
    )
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = [sr_concept(title)]
    ds.CompletionFlag = completion
    ds.VerificationFlag = "VERIFIED" if verified_by else "UNVERIFIED"
    if verified_by:
        observer = Dataset()
        observer.VerifyingObserverName = verified_by
        observer.VerifyingOrganization = "Service d'imagerie"
        observer.VerificationDateTime = verified_at
        observer.VerifyingObserverIdentificationCodeSequence = []
        ds.VerifyingObserverSequence = [observer]
    ds.ContentSequence = list(content)
    return ds


def structured_report_instance(**options: Any) -> bytes:
    """``structured_report_dataset(**options)`` as file bytes."""
    return _file_bytes(structured_report_dataset(**options))
