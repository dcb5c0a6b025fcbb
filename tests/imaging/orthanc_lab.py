"""A real Orthanc archive for tests and the benchmark, and synthetic DICOM to feed it.

``OrthancLab`` runs Debian's ``/usr/sbin/Orthanc`` on 127.0.0.1 with its own configuration
and storage in a folder of its own, and stops it by PID. ``dicom_instance`` builds a small
Secondary Capture instance with pydicom (8×8 pixels) carrying the patient and study tags a
test needs.
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

import requests
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from imaging.orthanc import OrthancClient

ORTHANC_BINARY = Path("/usr/sbin/Orthanc")
PYTHON_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancPython.so")
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

    def _write_config(self) -> Path:
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
        path = self.directory / "orthanc.json"
        path.write_text(json.dumps(config, indent=1))
        return path

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
                if response.status_code == 200:
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
