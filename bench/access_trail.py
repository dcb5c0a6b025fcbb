"""The access trail of the benchmark: valid hash chains, streamed into PostgreSQL with COPY.

Each row goes to one of the trail's ``CHAINS`` chains, drawn at random (as the portal's
connections share the writes), is hashed here as ``audit.chain.digest`` (and the insert
trigger) would hash it, and chained after the previous row of its chain, from the genesis hash.
The months are loaded into plain tables that are then attached as the trail's partitions:
PostgreSQL builds their indexes once, sorted, and clones the triggers onto them, several times
faster than inserting through the partitioned table.
"""

# The SQL below is assembled from this module's own constants (partition names), never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime
import hashlib
import random
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from audit.chain import CHAINS, FIELDS, SEPARATOR, chain_numbers, digest
from audit.models import GENESIS_HASH, Action, ActorRole, Channel, Rule
from audit.partitions import (
    PARENT,
    ensure_current_partitions,
    month_start,
    next_month,
    partition_name,
    partitions,
)
from bench.access_region import COPY_CHUNK, PATIENT_USER_EVERY, UID_PREFIX, Shape

NULL = "\\N"  # COPY's text format


def _execute(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def trail_load(
    shape: Shape,
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    rng: random.Random,
    log: Callable[[str], None],
) -> tuple[int, float]:
    """Write ``shape.events`` chained rows from ``start`` to ``end``, month by month into plain
    tables then attached as the partitions, and set each chain's head; return the rows written
    and the attach time."""
    months = []
    month = month_start(start.date())
    while month <= end.date():
        months.append(month)
        month = next_month(month)
    existing = {partition.name for partition in partitions()}
    for month in months:
        name = partition_name(month)
        if name in existing:
            if _execute(f"SELECT 1 FROM {name} LIMIT 1"):
                raise RuntimeError(f"La partition {name} n'est pas vide.")
            _execute(f"DROP TABLE {name}")
        # With the check on the chain number: a partition must have its parent's checks.
        _execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    world = TrailWorld.load(shape)
    columns = ", ".join(("id", *FIELDS, "hash"))
    written = 0
    started = time.perf_counter()
    rows = world.rows(start=start, end=end, rng=rng)
    pending = next(rows, None)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        while pending is not None:
            month_text = pending[2][:7]
            table = partition_name(datetime.date(int(month_text[:4]), int(month_text[5:]), 1))
            count = 0
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                buffer: list[str] = []
                while pending is not None and pending[2][:7] == month_text:
                    buffer.append(pending[0])
                    count += 1
                    if len(buffer) == 20_000:
                        copy.write("".join(buffer))
                        buffer.clear()
                        if count >= COPY_CHUNK:
                            pending = next(rows, None)
                            break
                    pending = next(rows, None)
                if buffer:
                    copy.write("".join(buffer))
            written += count
            elapsed = time.perf_counter() - started
            log(f"    {written:>11,} traces ({written / elapsed:,.0f}/s)".replace(",", " "))
        for chain, (seq, hash_) in world.heads.items():
            cursor.execute(
                "INSERT INTO audit_chainhead (id, seq, hash) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                [chain, seq, hash_],
            )
        cursor.execute("SELECT setval('audit_accessevent_id_seq', %s)", [shape.events])
    loaded = time.perf_counter()
    for month in months:
        _execute(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {partition_name(month)} "
            f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') "
            f"TO ('{next_month(month):%Y-%m-%d} 00:00:00+00')"
        )
    ensure_current_partitions()
    return written, time.perf_counter() - loaded


@dataclass
class TrailWorld:
    """What the trail's rows are drawn from, read back from the loaded tables."""

    shape: Shape
    study_patient: array[int]  # index = study id
    study_establishment: array[int]
    first_study: array[int]  # index = patient id
    practitioners: list[tuple[int, int, str]]  # (user id, practitioner id, e-mail)
    hospital_by_establishment: dict[int, list[int]]  # establishment -> indexes in practitioners
    city: list[int]  # indexes in practitioners
    grants: list[tuple[int, int, int]]  # (grant id, practitioner index, patient id)
    opposed: list[int]
    break_glass: list[tuple[int, int, int]]  # (id, practitioner index, patient id)
    # Each chain's last link (rank, hash), as ``rows`` goes.
    heads: dict[int, tuple[int, str]] = field(
        default_factory=lambda: dict.fromkeys(chain_numbers(), (0, GENESIS_HASH))
    )

    @classmethod
    def load(cls, shape: Shape) -> TrailWorld:
        study_patient = array("q", [0]) * (shape.studies + 1)
        study_establishment = array("q", [0]) * (shape.studies + 1)
        first_study = array("q", [0]) * (shape.patients + 1)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                "COPY (SELECT id, patient_id, establishment_id FROM imaging_imagingstudy) TO STDOUT"
            ) as copy:
                for row in copy.rows():
                    study, patient, establishment = int(row[0]), int(row[1]), int(row[2])
                    study_patient[study] = patient
                    study_establishment[study] = establishment
                    if first_study[patient] == 0 or study < first_study[patient]:
                        first_study[patient] = study
            cursor.execute("SELECT id, user_id, email FROM practitioners_practitioner ORDER BY id")
            practitioners = [(user, pk, email) for pk, user, email in cursor.fetchall()]
            index = {pk: i for i, (_user, pk, _email) in enumerate(practitioners)}
            cursor.execute(
                "SELECT establishment_id, practitioner_id FROM practitioners_practicesite "
                "WHERE establishment_id IS NOT NULL AND status = 'active'"
            )
            hospital: dict[int, list[int]] = {}
            for establishment, pk in cursor.fetchall():
                hospital.setdefault(establishment, []).append(index[pk])
            on_site = {i for members in hospital.values() for i in members}
            city = [i for i in range(len(practitioners)) if i not in on_site]
            cursor.execute("SELECT id, practitioner_id, patient_id FROM access_accessgrant")
            grants = [(pk, index[who], patient) for pk, who, patient in cursor.fetchall()]
            cursor.execute("SELECT patient_id FROM access_opposition")
            opposed = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id, practitioner_id, patient_id FROM access_breakglassaccess")
            emergencies = [(pk, index[who], patient) for pk, who, patient in cursor.fetchall()]
        return cls(
            shape=shape,
            study_patient=study_patient,
            study_establishment=study_establishment,
            first_study=first_study,
            practitioners=practitioners,
            hospital_by_establishment=hospital,
            city=city,
            grants=grants,
            opposed=opposed,
            break_glass=emergencies,
        )

    def rows(
        self, *, start: datetime.datetime, end: datetime.datetime, rng: random.Random
    ) -> Iterator[tuple[str, str, str]]:
        """The trail, oldest first: (COPY line, hash, day) per row, each chained after the last
        row of its chain (from the genesis hash), which ``heads`` then holds.

        The hashed text is built here as ``audit.chain.digest`` (and the trigger) builds it,
        written out for speed; every thousandth row is checked against ``digest`` itself.
        """
        shape = self.shape
        total = shape.events
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        start_us = round((start - epoch).total_seconds()) * 1_000_000
        span_us = round((end - start).total_seconds() * 1_000_000)
        # One draw in 100 picks the kind of decision; the weights are a day of the portal.
        kinds = ["care_team"] * 58 + ["grant"] * 22 + ["no_right"] * 11 + ["list"] * 3
        kinds += ["self"] * 4 + ["opposition", "break_glass"]
        actors = [
            (str(user), str(pk), email, _ip(user), ActorRole.PRACTITIONER.value)
            for user, pk, email in self.practitioners
        ]
        teams = {
            e: [actors[i] for i in members] for e, members in self.hospital_by_establishment.items()
        }
        any_team = [team for _e, team in sorted(teams.items())]
        city = [actors[i] for i in self.city]
        grants = [(str(pk), actors[who], patient) for pk, who, patient in self.grants]
        emergencies = [(str(pk), actors[who], patient) for pk, who, patient in self.break_glass]
        establishment_text = {e: str(e) for e in set(self.study_establishment)}
        patient_users = shape.patient_users
        base = shape.patient_user_base
        study_patient, study_establishment = self.study_patient, self.study_establishment
        first_study, opposed = self.first_study, self.opposed
        studies = shape.studies
        care, grant_rule, refused = Rule.CARE_TEAM.value, Rule.GRANT.value, Rule.NO_RIGHT.value
        actions = [Action.READ.value] * 3 + [Action.DOWNLOAD.value]
        web, archive = Channel.WEB.value, Channel.ARCHIVE.value
        random_ = rng.random
        sha256 = hashlib.sha256
        heads = self.heads
        cached_minute, day, hour_minute = -1, "", ""
        for seq in range(1, total + 1):
            minute, rest = divmod(start_us + span_us * seq // total, 60_000_000)
            if minute != cached_minute:
                cached_minute = minute
                moment = epoch + datetime.timedelta(minutes=minute)
                day, hour_minute = f"{moment:%Y-%m-%d}", f"{moment:%H:%M}"
            second, micro = divmod(rest, 1_000_000)
            clock = f"{hour_minute}:{second:02d}.{micro:06d}"
            kind = kinds[int(random_() * 100)]
            study = int(random_() * studies) + 1
            grant_text = emergency_text = ""
            granted, rule = "1", care
            if kind == "care_team" or kind == "list":
                team = teams.get(study_establishment[study]) or any_team[seq % len(any_team)]
                actor = team[int(random_() * len(team))]
            elif kind == "grant":
                grant_text, actor, patient = grants[int(random_() * len(grants))]
                study, rule = first_study[patient], grant_rule
            elif kind == "break_glass" and emergencies:
                emergency_text, actor, patient = emergencies[int(random_() * len(emergencies))]
                study, rule = first_study[patient], Rule.BREAK_GLASS.value
            elif kind == "self" and patient_users:
                patient = PATIENT_USER_EVERY * (int(random_() * patient_users) + 1)
                user = base + patient // PATIENT_USER_EVERY
                actor = (str(user), "", f"patient{patient}@bench.invalid", _ip(user), "patient")
                study, rule = first_study[patient], Rule.PATIENT_SELF.value
            else:
                actor = city[int(random_() * len(city))]
                granted, rule = "0", refused
                if kind == "opposition" and opposed:
                    study = first_study[opposed[int(random_() * len(opposed))]]
                    rule = Rule.OPPOSITION.value
            user_text, practitioner_text, label, ip, role = actor
            if role != ActorRole.PRACTITIONER.value:
                practitioner_text = ""
            if kind == "list":
                patient_text = str(study_patient[study])
                study_text = uid = establishment = ""
                action, channel = Action.LIST.value, web
            else:
                patient_text = str(study_patient[study])
                study_text = str(study)
                uid = UID_PREFIX + study_text
                establishment = establishment_text[study_establishment[study]]
                action = actions[seq % 4]
                channel = archive if granted == "1" and seq % 2 else web
                if seq % 160 == 3:
                    action, channel = Action.EXPORT.value, Channel.EXPORT.value
            # ``seq`` is the row's place in the whole trail (its id), ``rank`` in its chain.
            chain = int(random_() * CHAINS) + 1
            rank, previous = heads[chain]
            rank += 1
            hashed = (
                f"{chain}\x1f{rank}\x1f{day}T{clock}\x1f{user_text}\x1f{label}\x1f{role}\x1f"
                f"{practitioner_text}\x1f{patient_text}\x1f{study_text}\x1f{uid}\x1f"
                f"{establishment}\x1f{action}\x1f{channel}\x1f{granted}\x1f{rule}\x1fcare\x1f"
                f"{grant_text}\x1f{emergency_text}\x1f{ip}\x1f{previous}"
            )
            current = sha256(hashed.encode()).hexdigest()
            if seq % 1000 == 1 and digest(_as_values(hashed)) != current:
                raise RuntimeError(f"La trace {seq} ne suit pas audit.chain.digest.")
            line = (
                f"{seq}\t{chain}\t{rank}\t{day} {clock}+00\t{user_text}\t{label}\t{role}\t"
                f"{practitioner_text or NULL}\t{patient_text}\t{study_text or NULL}\t{uid}\t"
                f"{establishment or NULL}\t{action}\t{channel}\t{'t' if granted == '1' else 'f'}\t"
                f"{rule}\tcare\t{grant_text or NULL}\t{emergency_text or NULL}\t{ip}\t"
                f"{previous}\t{current}\n"
            )
            heads[chain] = (rank, current)
            yield line, current, day


def _ip(user: int) -> str:
    return f"10.{user >> 16 & 255}.{user >> 8 & 255}.{user & 255}"


def _as_values(hashed: str) -> dict[str, Any]:
    """A row's hashed text back to typed values, for ``audit.chain.digest``."""
    values: dict[str, Any] = dict(zip(FIELDS, hashed.split(SEPARATOR), strict=True))
    values["recorded_at"] = datetime.datetime.fromisoformat(values["recorded_at"] + "+00:00")
    values["granted"] = values["granted"] == "1"
    for name in ("chain", "chain_seq", "actor_id", "patient_id"):
        values[name] = int(values[name])
    return values


# The trigger's hash (audit/sql/chain.sql), recomputed on stored rows: the seed's rows must be
# what the trigger would have written.
_TRIGGER_HASH = """encode(sha256(convert_to(concat_ws(chr(31),
    e.chain::text,
    e.chain_seq::text,
    to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    coalesce(e.actor_id::text, ''), e.actor_label, e.actor_role,
    coalesce(e.actor_practitioner_id::text, ''), coalesce(e.patient_id::text, ''),
    coalesce(e.study_id::text, ''), e.study_instance_uid, coalesce(e.establishment_id::text, ''),
    e.action, e.channel, CASE WHEN e.granted THEN '1' ELSE '0' END, e.rule, e.purpose,
    coalesce(e.grant_id::text, ''), coalesce(e.break_glass_id::text, ''),
    coalesce(host(e.source_ip), ''), e.prev_hash), 'UTF8')), 'hex')"""


def check_chain_sample(*, count: int, seed: int = 6) -> list[str]:
    """Links among ``count`` random ones of the chains (plus the first and last of each) whose
    hash is not the trigger's, whose previous hash is not the hash of the row before in its
    chain, or that is missing; as ``chain#rank`` (and how many are missing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, seq, hash FROM audit_chainhead WHERE seq > 0 ORDER BY id")
        heads = {chain: (seq, hash_) for chain, seq, hash_ in cursor.fetchall()}
        if not heads:
            return []
        rng = random.Random(seed)  # noqa: S311 - a sample, not a secret
        chains = sorted(heads)
        wanted = {(chain, 1) for chain in chains} | {(c, seq) for c, (seq, _h) in heads.items()}
        for _ in range(count):
            chain = rng.choice(chains)
            wanted.add((chain, rng.randrange(1, heads[chain][0] + 1)))
        links = sorted(wanted)
        chain_array = [chain for chain, _seq in links]
        seq_array = [seq for _chain, seq in links]
        cursor.execute(
            f"""SELECT e.chain, e.chain_seq FROM audit_accessevent e
            JOIN unnest(%s::smallint[], %s::bigint[]) AS w(chain, chain_seq)
                ON e.chain = w.chain AND e.chain_seq = w.chain_seq
            LEFT JOIN audit_accessevent b ON b.chain = e.chain AND b.chain_seq = e.chain_seq - 1
            LEFT JOIN audit_chainhead h ON h.id = e.chain AND h.seq = e.chain_seq
            WHERE e.hash <> {_TRIGGER_HASH}
                OR e.prev_hash <> coalesce(b.hash, %s)
                OR e.hash <> coalesce(h.hash, e.hash)""",
            [chain_array, seq_array, GENESIS_HASH],
        )
        bad = [f"{chain}#{seq}" for chain, seq in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM audit_accessevent e"
            " JOIN unnest(%s::smallint[], %s::bigint[]) AS w(chain, chain_seq)"
            " ON e.chain = w.chain AND e.chain_seq = w.chain_seq",
            [chain_array, seq_array],
        )
        (found,) = cursor.fetchone()
    missing = len(links) - found
    return bad + ([f"{missing} absents"] if missing else [])
