#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl) are installed for the index tests, which start a
# throwaway cluster of their own: install Debian's postgresql when missing and root; otherwise say what to do.
# Nothing is started here, and Debian's own cluster (if the package starts one) is not used by the tests.
set -euo pipefail

have_initdb() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1
}

if have_initdb; then
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "PostgreSQL (initdb, pg_ctl) is not installed and this is not root." >&2
  echo "Install it (e.g. 'sudo apt-get install postgresql'), then run this again; or set" >&2
  echo "CROWDCOMPUTE_TEST_POSTGRES=0 to leave the PostgreSQL-backed index tests out." >&2
  exit 1
fi

echo "Installing PostgreSQL (Debian postgresql)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null

if ! have_initdb; then
  echo "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
