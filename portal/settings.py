"""Settings of the portal, read from the environment (see the table in README.md).

One file for every environment: ``PORTAL_ENV`` (production, development, test) chooses the
defaults and ``PORTAL_DEMO`` turns the embedded demonstration on. A malformed value stops
start-up with a message that names the variable (portal/envconfig.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.envconfig import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

PORTAL_ENV = env_choice("PORTAL_ENV", "production", ("production", "development", "test"))
PORTAL_DEMO = env_bool("PORTAL_DEMO", False)
PRODUCTION = PORTAL_ENV == "production" and not PORTAL_DEMO
TESTING = PORTAL_ENV == "test"

DEBUG = env_bool("DEBUG", PORTAL_ENV == "development")
if DEBUG and PORTAL_ENV == "production":
    raise ImproperlyConfigured("Variable d'environnement DEBUG invalide : interdit en production.")

_secret = env_secret("SECRET_KEY")
if not _secret:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "Variable d'environnement SECRET_KEY manquante (ou SECRET_KEY_FILE) : "
            "obligatoire en production."
        )
    _secret = "insecure-demo-and-test-only-key-never-use-it-in-production-0123456789"  # noqa: S105
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Variable d'environnement ALLOWED_HOSTS manquante : obligatoire en production "
        "(noms d'hôte séparés par des virgules)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where the portal is reached: links in e-mails sent by scheduled tasks, which have no request.
PORTAL_BASE_URL = env_url("PORTAL_BASE_URL", "http://127.0.0.1:8000", ("https", "http")).rstrip("/")

# --- Applications ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    # The portal's own apps, from the bottom of the stack up (see DESIGN.md).
    "portal",
    "audit",
    "establishments",
    "practitioners",
    "practitioners.psc",
    "imaging",
    "access",
    "billing",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.MfaEnrolmentMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Data ------------------------------------------------------------------------------------

_default_db = {
    "production": None,
    "development": f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
    "test": "postgres://postgres@127.0.0.1:5432/postgres",
}[PORTAL_ENV]
if PORTAL_DEMO:
    _default_db = f"sqlite:///{VAR_DIR / 'demo.sqlite3'}"
DATABASES = {"default": env_database("DATABASE_URL", _default_db)}
if (
    DATABASES["default"]["ENGINE"].endswith("sqlite3")
    and DATABASES["default"]["NAME"] != ":memory:"
):
    # An embedded database needs its folder; nothing else is written at start-up.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0))
# The hottest statements (access decision, archive callback) as prepared statements
# (portal/hot_sql.py); false behind a connection pooler in transaction mode.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
if TESTING and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Several checkouts may test at once on one machine: each names its own database.
    DATABASES["default"]["TEST"] = {"NAME": env_str("PORTAL_TEST_DATABASE", "test_portal")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))


def _redis_db(url: str, db: int) -> str:
    """The same Redis server on another database number (tests: one per xdist worker)."""
    base, _, _path = url.partition("?")[0].rpartition("/")
    return f"{base}/{db}"


# Parallel test workers each get their own Redis databases, so that one never flushes the
# other's cache nor sees the other's Celery workers.
_TEST_SLOT = (
    int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw") or 0) % 7
    if "PYTEST_XDIST_WORKER" in os.environ
    else env_int("PORTAL_TEST_REDIS_SLOT", 0, minimum=0) % 7
)

if PORTAL_DEMO:
    # The demonstration needs nothing but Python: memory cache, tasks run in-process.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    _cache_url = _redis_db(REDIS_URL, 1 + _TEST_SLOT) if TESTING else REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "portal",
        }
    }

# --- Accounts, sessions, MFA -----------------------------------------------------------------

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Portail imagerie] "
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_WINDOW_S = env_int("LOGIN_FAILURES_WINDOW_S", 300, minimum=1)
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins: per account (key = e-mail) and per address; the cache holds the counters.
    "login_failed": f"20/m/ip,{LOGIN_FAILURES_PER_ACCOUNT}/{LOGIN_FAILURES_WINDOW_S}s/key",
    "login": "30/m/ip",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/5m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Portail imagerie régional")
# Accept the code of the previous or next 30-second step too: a code typed as the step turns,
# or a phone clock a few seconds off, must not lock a clinician out. Codes stay single-use.
MFA_TOTP_TOLERANCE = 1
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or PORTAL_DEMO or TESTING
# MFA enrolment is enforced for staff and practitioners, never in the demonstration.
PORTAL_MFA_ENFORCED = not PORTAL_DEMO

SESSION_ENGINE = (
    "django.contrib.sessions.backends.db"
    if PORTAL_DEMO
    else "django.contrib.sessions.backends.cached_db"
)
# Inactivity timeout: the cookie is renewed on every request and dies after this many seconds.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_S", 30 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Absolute lifetime of a signed-in session, whatever the activity (portal/middleware.py).
SESSION_MAX_AGE_S = env_int("SESSION_MAX_AGE_S", 12 * 3600, minimum=60)

# --- Internationalisation --------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and private files ----------------------------------------------------------------

STATIC_URL = "/static/"
# Production serves what collectstatic gathered there; elsewhere files come from their sources.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static"))) if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded proofs and generated documents are personal data: never under a public URL.
PRIVATE_STORAGE_ROOT = Path(env_str("PRIVATE_STORAGE_ROOT", str(VAR_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_STORAGE_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production the files are served straight from the source folders.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail ----------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Portail imagerie <ne-pas-repondre@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if PORTAL_DEMO or PORTAL_ENV == "development"
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS et EMAIL_USE_SSL s'excluent : n'en activez qu'un.")

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # A browser's session (CSRF enforced), else an ``Authorization: Api-Key <key>`` header
    # (portal/api_key_auth.py; no cookie, hence no CSRF). The session comes first: a call with
    # no credentials at all keeps its 403, and a presented key that fails answers 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "portal.api_key_auth.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API du portail régional d'imagerie",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two apps call their status field "status": give each enum its own name.
    "ENUM_NAME_OVERRIDES": {
        "EstablishmentStatusEnum": "establishments.models.Establishment.Status",
        "PurchaseOrderStatusEnum": "billing.models.orders.PurchaseOrder.Status",
        "AccreditationRequestStatusEnum": ("practitioners.models.core.AccreditationRequest.Status"),
    },
}

# API keys (portal/api_keys.py): the longest lifetime a user may give a key, the lifetime the
# form offers, and how many usable keys one user may hold at once.
API_KEY_MAX_DAYS = env_int("API_KEY_MAX_DAYS", 365, minimum=1)
API_KEY_DEFAULT_DAYS = env_int("API_KEY_DEFAULT_DAYS", min(90, API_KEY_MAX_DAYS), minimum=1)
if API_KEY_DEFAULT_DAYS > API_KEY_MAX_DAYS:
    raise ImproperlyConfigured(
        f"Variable d'environnement API_KEY_DEFAULT_DAYS invalide : « {API_KEY_DEFAULT_DAYS} » "
        f"(attendu : au plus API_KEY_MAX_DAYS, {API_KEY_MAX_DAYS})."
    )
API_KEY_MAX_PER_USER = env_int("API_KEY_MAX_PER_USER", 10, minimum=1)
# Refused API keys one address may present in a window before every key it presents is
# refused with 429 until the window ends (keys are unguessable: this keeps the database and the
# logs from a client that tries).
API_KEY_FAILURES_PER_IP = env_int("API_KEY_FAILURES_PER_IP", 20, minimum=1)
API_KEY_FAILURES_WINDOW_S = env_int("API_KEY_FAILURES_WINDOW_S", 900, minimum=1)

# --- Pro Santé Connect, the national practitioner login (practitioners/psc) ------------------

SOCIALACCOUNT_ADAPTER = "practitioners.psc.adapter.SocialAccountAdapter"
PSC_CLIENT_ID = env_str("PSC_CLIENT_ID", "")
PSC_DISCOVERY_URL = env_url(
    "PSC_DISCOVERY_URL",
    "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet/.well-known/wallet-openid-configuration",
    ("https", "http"),
)
_psc_secret = env_secret("PSC_CLIENT_SECRET") or ""
if PRODUCTION and not PSC_DISCOVERY_URL.startswith("https://"):
    raise ImproperlyConfigured(
        f"Variable d'environnement PSC_DISCOVERY_URL invalide : « {PSC_DISCOVERY_URL} » "
        "(attendu : une URL https://… en production)."
    )
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if PSC_CLIENT_ID:  # the login button appears only then
    if not _psc_secret:
        raise ImproperlyConfigured(
            "Variable d'environnement PSC_CLIENT_SECRET manquante (ou PSC_CLIENT_SECRET_FILE) : "
            "obligatoire avec PSC_CLIENT_ID."
        )
    SOCIALACCOUNT_PROVIDERS["pro_sante_connect"] = {
        "APPS": [
            {
                "name": "Pro Santé Connect",
                "client_id": PSC_CLIENT_ID,
                "secret": _psc_secret,
                "settings": {"server_url": PSC_DISCOVERY_URL},
            }
        ],
        "SCOPE": ["openid", "scope_all"],
        "AUTH_PARAMS": {"acr_values": "eidas1"},
        "OAUTH_PKCE_ENABLED": True,
    }

# --- Per-patient access and the access trail (access/, audit/) ---------------------------------

# The longest time any cache (the archive's included) may keep an access decision: revocation,
# expiry and opposition take effect within it.
ACCESS_DECISION_VALIDITY_S = env_int("ACCESS_DECISION_VALIDITY_S", 10, minimum=1)
# How long a process serving the archive's callback keeps what it read about a viewer token and
# a study (access.fact_cache; 0: never). Any change is heard at once; this bounds the rest.
# Below the validity, which answers from kept facts are shortened by their age. The test suite
# keeps none, but for the tests of that memory: its transactions never commit nor notify.
ACCESS_FACTS_CACHE_S = env_int(
    "ACCESS_FACTS_CACHE_S", 0 if TESTING else min(5, ACCESS_DECISION_VALIDITY_S - 1), minimum=0
)
if ACCESS_FACTS_CACHE_S and ACCESS_FACTS_CACHE_S >= ACCESS_DECISION_VALIDITY_S:
    raise ImproperlyConfigured(
        "ACCESS_FACTS_CACHE_S doit être inférieur à ACCESS_DECISION_VALIDITY_S."
    )
ACCESS_GRANT_MAX_DAYS = env_int("ACCESS_GRANT_MAX_DAYS", 366, minimum=1)
BREAK_GLASS_DURATION_S = env_int("BREAK_GLASS_DURATION_S", 4 * 3600, minimum=60)
BREAK_GLASS_JUSTIFICATION_MIN_LENGTH = env_int(
    "BREAK_GLASS_JUSTIFICATION_MIN_LENGTH", 30, minimum=1
)
# The patient portal's access codes: days a printed code stays valid, wrong birth dates before
# it locks, and activation attempts one account or address may make per quarter of an hour.
PATIENT_ACCESS_CODE_DAYS = env_int("PATIENT_ACCESS_CODE_DAYS", 30, minimum=1)
PATIENT_ACCESS_CODE_MAX_FAILURES = env_int("PATIENT_ACCESS_CODE_MAX_FAILURES", 5, minimum=1)
PATIENT_ACTIVATION_ATTEMPTS = env_int("PATIENT_ACTIVATION_ATTEMPTS", 10, minimum=1)
AUDIT_RETENTION_MONTHS = env_int("AUDIT_RETENTION_MONTHS", 12, minimum=1)
AUDIT_EXPORT_DIR = Path(env_str("AUDIT_EXPORT_DIR", str(VAR_DIR / "audit-exports")))

# --- Permissions per object ------------------------------------------------------------------

ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row, anonymous users get nothing

# --- Background tasks (portal/celery.py) ------------------------------------------------------

PORTAL_TASKS_EAGER = env_bool("PORTAL_TASKS_EAGER", PORTAL_DEMO or TESTING)
_celery_url = _redis_db(REDIS_URL, 8 + _TEST_SLOT) if TESTING else REDIS_URL
CELERY_BROKER_URL = "memory://" if PORTAL_DEMO else _celery_url
CELERY_RESULT_BACKEND = "cache+memory://" if PORTAL_DEMO else _celery_url
CELERY_TASK_ALWAYS_EAGER = PORTAL_TASKS_EAGER
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", 15 * 60, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Every periodic task of every app is declared here, in one place.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "practitioners-expire-accreditations": {
        "task": "practitioners.expire_accreditations",
        "schedule": crontab(hour=0, minute=5),
    },
    "practitioners-send-renewal-reminders": {
        "task": "practitioners.send_renewal_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    "practitioners-sync-telephony-directories": {
        "task": "practitioners.sync_telephony_directories",
        "schedule": crontab(minute=20),  # hourly; the referent's page says so
    },
    "imaging-sync-due-sources": {"task": "imaging.sync_due_sources", "schedule": 60.0},
    "imaging-reconcile-nightly": {
        "task": "imaging.reconcile_all_sources",
        "schedule": crontab(hour=2, minute=30),
    },
    "audit-ensure-partitions": {
        "task": "audit.ensure_partitions",
        "schedule": crontab(hour=1, minute=10),
    },
    "billing-apply-due-terminations": {
        "task": "billing.apply_due_terminations",
        "schedule": crontab(hour=0, minute=15),
    },
    # Dashboards read the rollups: today's figures are at most a quarter of an hour old.
    "reporting-update-rollups": {
        "task": "reporting.update_rollups",
        "schedule": crontab(minute="*/15"),
    },
}

# --- Security --------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging: operational facts only, never patient data -------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
