"""The FINESS reference import (``manage.py import_finess FILE``).

Reads an extract of the national FINESS file, in the data.gouv JSON shape or as the etalab
CSV (recognised from the content), validates every row and upserts
:class:`establishments.models.FinessEntry` keyed on the FINESS number.

- :func:`parse_finess_file` reads and validates a file without writing;
- :func:`finess_import` imports it in one transaction and returns an :class:`ImportReport`.
"""

from establishments.finess.importer import (
    FinessRejectedRowsError,
    ImportReport,
    finess_import,
    parse_finess_file,
)
from establishments.finess.records import (
    FinessFileError,
    FinessImportError,
    FinessRecord,
    ImportIssue,
    ParsedExtract,
    department_of,
)

__all__ = [
    "FinessFileError",
    "FinessImportError",
    "FinessRecord",
    "FinessRejectedRowsError",
    "ImportIssue",
    "ImportReport",
    "ParsedExtract",
    "department_of",
    "finess_import",
    "parse_finess_file",
]
