#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real, when they are missing.
#   chromium: browser journeys (Playwright drives /usr/bin/chromium; never `playwright install`)
#   gettext:  makemessages for translators
#   poppler-utils: pdftotext, to read back the PDFs the portal generates
#   slapd, ldap-utils: the telephony directory tests run a real OpenLDAP server
#   orthanc (+ dicomweb, python plugins): the imaging tests run a real archive
#   nodejs, npm: the Pro Santé Connect tests run a real OpenID Connect provider (oidc-provider)
#   wrk: the load benchmark of the archive's authorization web service (bench/orthanc_auth_load.py)
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v msgfmt >/dev/null || missing+=(gettext)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
[ -x /usr/sbin/slapd ] || missing+=(slapd ldap-utils)
[ -x /usr/sbin/Orthanc ] || missing+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || missing+=(orthanc-dicomweb)
[ -e /usr/share/orthanc/plugins/libOrthancPython.so ] || missing+=(orthanc-python)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v wrk >/dev/null || missing+=(wrk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "system-deps.sh: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "Installation des paquets Debian : ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
