"""Models of the practitioners app, one module per sub-domain.

core: practitioners, practice sites, accreditation requests and accreditations;
directory: the establishments' telephony directories and their sync.
"""

from practitioners.models.core import *  # noqa: F403
from practitioners.models.directory import *  # noqa: F403
