"""The region of the access benchmark: its counts at each scale and the names it uses.

At scale 1 (issue 6): 1,000,000 patients, 3,000,000 studies over 30 establishments (the three
founders first), 10,000 practitioners (30 % at a hospital, the rest in city practices),
200,000 grants (some expired, some revoked), 5,000 oppositions, 2,000 break-the-glass accesses
and 20,000,000 access events over the last twelve months.

Ids are explicit and laid out here, so the seed knows every relation without reading it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from establishments.models import Establishment


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


UID_PREFIX = "1.2.250.1.999.1."  # StudyInstanceUID = prefix + study id
STAFF_PER_ESTABLISHMENT = 3  # director, referent, staff: user ids 3(e-1)+1 .. 3(e-1)+3
PRACTITIONER_USER_BASE = 1_000  # practitioner n -> user 1000 + n
PATIENT_USER_EVERY = 50  # patient p has an account when p % 50 == 0
HOSPITAL_SHARE = 0.30
EVENT_DAYS = 365
COPY_CHUNK = 1_000_000  # trail rows per COPY (one transaction each)

FAMILY_NAMES = _words(
    "MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL "
    "LEFEBVRE LEROY ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT "
    "FONTAINE ROUSSEAU VINCENT MULLER LEFEVRE FAURE ANDRE MERCIER BLANC GUERIN BOYER "
    "GARNIER CHEVALIER FRANCOIS LEGRAND GAUTHIER GARCIA PERRIN ROBIN CLEMENT MORIN NICOLAS "
    "HENRY ROUSSEL MATHIEU GAUTIER MASSON SCHMITT WEBER KLEIN MEYER HOFFMANN SCHNEIDER "
    "WAGNER BECKER KELLER HUMBERT"
)
GIVEN_F = _words(
    "Hélène Marie Nathalie Isabelle Sylvie Catherine Françoise Anne Christine Sophie Julie "
    "Camille Léa Manon Emma Chloé Inès Louise Jeanne Élise Mathilde Claire Odile Agnès "
    "Lucie"
)
GIVEN_M = _words(
    "Jean Pierre Michel André Philippe Alain Nicolas Christophe Patrick Daniel Thomas "
    "Julien Lucas Hugo Louis Gabriel Arthur Théo Paul Étienne Bernard Marc François Émile "
    "Gérard"
)
TOWNS = (
    ("Lunéville", "54300"),
    ("Toul", "54200"),
    ("Pont-à-Mousson", "54700"),
    ("Briey", "54150"),
    ("Longwy", "54400"),
    ("Verdun", "55100"),
    ("Bar-le-Duc", "55000"),
    ("Commercy", "55200"),
    ("Thionville", "57100"),
    ("Sarreguemines", "57200"),
    ("Forbach", "57600"),
    ("Sarrebourg", "57400"),
    ("Saint-Avold", "57500"),
    ("Épinal", "88000"),
    ("Saint-Dié-des-Vosges", "88100"),
    ("Vittel", "88800"),
    ("Gérardmer", "88400"),
    ("Nancy", "54000"),
    ("Metz", "57000"),
    ("Essey-lès-Nancy", "54270"),
    ("Laxou", "54520"),
    ("Montigny-lès-Metz", "57950"),
    ("Hayange", "57700"),
    ("Creutzwald", "57150"),
    ("Mirecourt", "88500"),
    ("Neufchâteau", "88300"),
    ("Remiremont", "88200"),
)
ESTABLISHMENT_KINDS = (
    [Establishment.Kind.GENERAL_HOSPITAL] * 14
    + [
        Establishment.Kind.PRIVATE_CLINIC,
        Establishment.Kind.IMAGING_PRACTICE,
    ]
    * 6
    + [Establishment.Kind.CANCER_CENTRE]
)
MODALITIES = ("CT", "MR", "DX", "CR", "US", "MG", "PT,CT", "NM", "XA", "CT,SR")
DESCRIPTIONS = (
    "Scanner thoraco-abdomino-pelvien avec injection",
    "IRM cérébrale sans et avec injection",
    "Radiographie du thorax de face",
    "Échographie abdominale",
    "Mammographie bilatérale de dépistage",
    "TEP-scanner au FDG corps entier",
    "IRM du genou droit",
    "Scanner des sinus",
    "Scintigraphie osseuse",
    "Coronarographie",
)


@dataclass(frozen=True)
class Shape:
    """The counts of one scale of the region (scale 1 = the regional target of issue 6)."""

    scale: float
    establishments: int
    practitioners: int
    patients: int
    studies: int
    grants: int
    oppositions: int
    break_glass: int
    events: int

    @classmethod
    def of(cls, scale: float) -> Shape:
        patients = max(1_000, round(1_000_000 * scale))
        return cls(
            scale=scale,
            establishments=3 + len(TOWNS),  # the three founders and 27 others
            practitioners=max(50, round(10_000 * scale)),
            patients=patients,
            studies=3 * patients,
            grants=max(100, round(200_000 * scale)),
            oppositions=patients // 200,
            break_glass=max(20, round(2_000 * scale)),
            events=max(10_000, round(20_000_000 * scale)),
        )

    @property
    def hospital_practitioners(self) -> int:
        return max(10, round(self.practitioners * HOSPITAL_SHARE))

    @property
    def patient_users(self) -> int:
        return self.patients // PATIENT_USER_EVERY

    @property
    def patient_user_base(self) -> int:
        return PRACTITIONER_USER_BASE + self.practitioners + 1_000

    def as_key(self) -> dict[str, Any]:
        return asdict(self)
