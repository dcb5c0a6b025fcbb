"""The access cast (a patient known at two establishments, the care team, a city GP) serves the
reporting tests too."""

from tests.access.conftest import clinic, gp, radiologist, record  # noqa: F401 - fixtures
