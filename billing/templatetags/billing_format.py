"""Formatting of amounts on billing pages and documents."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def euros(value: Decimal | int | None) -> str:
    """``1234.5`` → "1 234,50 €" (in French; the active language's separators otherwise)."""
    if value is None or value == "":
        return ""
    return f"{number_format(Decimal(value), 2, force_grouping=True)}\u00a0€"


@register.filter
def volume(value: int | None) -> str:
    """A number of studies with thousands grouped."""
    if value is None:
        return ""
    return number_format(value, 0, force_grouping=True)
