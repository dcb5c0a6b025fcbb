"""Models of the billing app, one module per sub-domain.

catalogue: offers and versioned price lists; orders: purchase orders, their lines,
signatures, documents and history.
"""

from billing.models.catalogue import *  # noqa: F403
from billing.models.orders import *  # noqa: F403
