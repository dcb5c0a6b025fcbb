"""A real OpenLDAP server (slapd) on loopback for the telephony directory tests.

The directory is loaded offline with slapadd, then slapd serves it on a free port from a
temporary folder and is stopped by the PID in its pidfile. Also: TCP servers that accept and
never answer, or answer something that is not LDAP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from tests.practitioners.ldap import directory_data as data

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
CONFIG_TEMPLATE = Path(__file__).with_name("slapd.conf.template")


def free_port() -> int:
    """A loopback port nobody listens on (free when asked; slapd takes it right after)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


@dataclass
class SlapdServer:
    folder: Path
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if not _process_alive(self.pid):
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _process_alive(self.pid):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def start_slapd(folder: Path, ldif: str, *, options: str = "") -> SlapdServer:
    """Load ``ldif`` and serve it; ``options`` are global slapd.conf lines (e.g. limits)."""
    (folder / "db").mkdir(parents=True)
    config = folder / "slapd.conf"
    config.write_text(
        Template(CONFIG_TEMPLATE.read_text()).substitute(
            DIR=str(folder),
            SUFFIX=data.SUFFIX,
            ROOT_DN=data.ROOT_DN,
            ROOT_PASSWORD=data.ROOT_PASSWORD,
            GLOBAL_OPTIONS=options,
        )
    )
    people = folder / "people.ldif"
    people.write_text(ldif, encoding="utf-8")
    subprocess.run(
        [str(SLAPADD), "-f", str(config), "-l", str(people), "-q"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    # slapd forks into the background; its PID lands in the pidfile once it serves.
    subprocess.run(
        [str(SLAPD), "-f", str(config), "-h", f"ldap://127.0.0.1:{port}/"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pidfile = folder / "slapd.pid"
    deadline = time.monotonic() + 15
    while True:
        try:
            pid = int(pidfile.read_text().strip())
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return SlapdServer(folder=folder, port=port, pid=pid)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"slapd did not start (see {folder})") from None
            time.sleep(0.05)


def _require_slapd() -> None:
    if not SLAPD.exists():
        pytest.skip(
            "slapd absent (/usr/sbin/slapd) : installez slapd et ldap-utils "
            "(scripts/system-deps.sh, lancé par make test)."
        )


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """The test directory of CHR Metz-Thionville (``directory_data``), served by slapd."""
    _require_slapd()
    server = start_slapd(tmp_path_factory.mktemp("slapd"), data.directory_ldif())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def small_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """The same directory behind OpenLDAP's usual size limit, lowered below its size (as the
    default 500 is below a hospital's)."""
    _require_slapd()
    server = start_slapd(
        tmp_path_factory.mktemp("slapd-limited"), data.directory_ldif(), options="sizelimit 100"
    )
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def tcp_server(reply: bytes | None) -> Iterator[int]:
    """A loopback TCP server: sends ``reply`` then closes, or (``None``) holds every connection
    open without a word. Yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if reply is None:
                held.append(connection)
            else:
                with connection:
                    connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()
