"""The test telephony directory of CHR Metz-Thionville, written as LDIF for slapadd.

Besides 120 generated staff entries (enough for three pages of 50), it holds the cases the sync
must handle: phones with spaces, accented names (in the DN too), an entry without RPPS found by
e-mail, two entries sharing one e-mail, and an RPPS nobody at the establishment has.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from stdnum import luhn

SUFFIX = "dc=chr-metz-thionville,dc=fr"
PEOPLE_BASE = f"ou=personnels,{SUFFIX}"
READER_DN = f"cn=portail-imagerie,ou=applications,{SUFFIX}"
READER_PASSWORD = "lecture-annuaire-2026"  # a throw-away test server
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "racine-annuaire-2026"  # a throw-away test server


def with_luhn(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


RPPS_KELLER = with_luhn("1099999901")
RPPS_MULLER = with_luhn("1099999902")
RPPS_DUPONT = with_luhn("1099999903")  # known to the portal, absent from the directory entry
RPPS_UNKNOWN = with_luhn("1099999904")  # in the directory, practises nowhere in the portal
RPPS_WEBER = with_luhn("1099999905")  # two entries carry it
SHARED_EMAIL = "imagerie@chr-metz-thionville.fr"
GENERATED = 120


def generated_rpps(number: int) -> str:
    return with_luhn(f"1097{number:06d}")


@dataclass(frozen=True)
class Person:
    cn: str
    sn: str
    given_name: str
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def dn(self) -> str:
        return f"cn={self.cn},{PEOPLE_BASE}"


KELLER = Person(
    "Nicolas Keller",
    "Keller",
    "Nicolas",
    {
        "employeeNumber": RPPS_KELLER,
        "mail": "nicolas.keller@chr-metz-thionville.fr",
        "telephoneNumber": "03 87 55 31 31",
        "mobile": "06 12 34 56 78",
        "departmentNumber": "Radiologie",
    },
)
MULLER = Person(
    "Hélène Müller-Éluard",
    "Müller-Éluard",
    "Hélène",
    {
        "employeeNumber": RPPS_MULLER,
        "mail": "helene.muller-eluard@chr-metz-thionville.fr",
        "telephoneNumber": "+33 3 87 55 40 12",
        "departmentNumber": "Médecine nucléaire",
    },
)
DUPONT = Person(  # no employeeNumber: found by e-mail, whatever its case
    "Jean Dupont",
    "Dupont",
    "Jean",
    {
        "mail": "Jean.Dupont@CHR-Metz-Thionville.fr",
        "telephoneNumber": "03 87 55 32 00",
        "departmentNumber": "Urgences",
    },
)
SCHMITT = Person(  # shares her e-mail with the imaging desk: ambiguous
    "Claire Schmitt",
    "Schmitt",
    "Claire",
    {"mail": SHARED_EMAIL, "telephoneNumber": "03 87 55 33 33"},
)
IMAGING_DESK = Person(
    "Accueil Imagerie",
    "Imagerie",
    "Accueil",
    {"mail": SHARED_EMAIL, "telephoneNumber": "03 87 55 30 00"},
)
HOFFMANN = Person(
    "Sophie Hoffmann",
    "Hoffmann",
    "Sophie",
    {
        "employeeNumber": RPPS_UNKNOWN,
        "mail": "sophie.hoffmann@chr-metz-thionville.fr",
        "telephoneNumber": "03 87 55 34 34",
    },
)
WEBER = Person(
    "Marc Weber",
    "Weber",
    "Marc",
    {"employeeNumber": RPPS_WEBER, "telephoneNumber": "03 87 55 35 35"},
)
WEBER_ON_CALL = Person(  # a second entry for the same practitioner: which phone is right?
    "Marc Weber (garde)",
    "Weber",
    "Marc",
    {"employeeNumber": RPPS_WEBER, "telephoneNumber": "03 87 55 35 99"},
)
NAMED = (KELLER, MULLER, DUPONT, SCHMITT, IMAGING_DESK, HOFFMANN, WEBER, WEBER_ON_CALL)


def generated(number: int) -> Person:
    return Person(
        f"Agent Numéro {number:03d}",
        f"Numéro {number:03d}",
        "Agent",
        {
            "employeeNumber": generated_rpps(number),
            "mail": f"agent{number:03d}@chr-metz-thionville.fr",
            "telephoneNumber": f"03 87 56 {number // 100:02d} {number % 100:02d}",
            "departmentNumber": "Pôle imagerie",
        },
    )


PEOPLE = (*NAMED, *(generated(number) for number in range(1, GENERATED + 1)))
ENTRY_COUNT = len(PEOPLE)


def _line(name: str, value: str) -> str:
    # LDIF (RFC 2849): values outside SAFE-STRING (non-ASCII, leading space or colon) in base64.
    if value.isascii() and not value.startswith((" ", ":", "<")) and not value.endswith(" "):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def _entry(dn: str, attributes: list[tuple[str, str]]) -> str:
    return "\n".join([_line("dn", dn), *(_line(name, value) for name, value in attributes)])


def directory_ldif() -> str:
    entries = [
        _entry(
            SUFFIX,
            [
                ("objectClass", "dcObject"),
                ("objectClass", "organization"),
                ("dc", "chr-metz-thionville"),
                ("o", "CHR Metz-Thionville"),
            ],
        ),
        _entry(
            f"ou=applications,{SUFFIX}",
            [("objectClass", "organizationalUnit"), ("ou", "applications")],
        ),
        _entry(
            READER_DN,
            [
                ("objectClass", "applicationProcess"),
                ("objectClass", "simpleSecurityObject"),
                ("cn", "portail-imagerie"),
                ("userPassword", READER_PASSWORD),
            ],
        ),
        _entry(PEOPLE_BASE, [("objectClass", "organizationalUnit"), ("ou", "personnels")]),
    ]
    for person in PEOPLE:
        entries.append(
            _entry(
                person.dn,
                [
                    ("objectClass", "inetOrgPerson"),
                    ("cn", person.cn),
                    ("sn", person.sn),
                    ("givenName", person.given_name),
                    *person.attributes.items(),
                ],
            )
        )
    return "\n\n".join(entries) + "\n"
