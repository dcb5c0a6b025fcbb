"""Facts about Pro Santé Connect shared by the provider and the pre-fill (DOMAIN.md)."""

from __future__ import annotations

PROVIDER_ID = "pro_sante_connect"
PROVIDER_NAME = "Pro Santé Connect"

# Its discovery document is at issuer + this path, not at /.well-known/openid-configuration.
WALLET_DISCOVERY_PATH = "/.well-known/wallet-openid-configuration"
PRODUCTION_ISSUER = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
SANDBOX_ISSUER = "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet"
PRODUCTION_DISCOVERY_URL = PRODUCTION_ISSUER + WALLET_DISCOVERY_PATH

SCOPES = ("openid", "scope_all")
# Authentication level asked for (eIDAS "substantial"), and required back in the ID token.
ACR_EIDAS1 = "eidas1"

# The userinfo claim that carries the national professional id (IDNPS): users are keyed on it,
# never on `sub`, which is only the login service's technical identifier of the end-user.
IDNPS_CLAIM = "SubjectNameID"
