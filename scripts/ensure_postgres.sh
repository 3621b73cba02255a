#!/usr/bin/env bash
# The test suite starts a throwaway PostgreSQL server of its own (emulators/postgres.py), from the
# server binaries (initdb, pg_ctl). Install Debian's `postgresql` package when they are missing.
set -euo pipefail
if [ -n "${PG_BIN:-}" ] && [ -x "${PG_BIN}/initdb" ]; then exit 0; fi
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then exit 0; fi
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then exit 0; fi
sudo_if_needed=""
if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "PostgreSQL's server binaries are missing and this user cannot install them:" >&2
        echo "run 'apt-get install postgresql' as root, or set PG_BIN to their directory." >&2
        exit 1
    fi
    sudo_if_needed="sudo"
fi
echo "Installing PostgreSQL's server binaries for the tests (Debian's postgresql package)..."
$sudo_if_needed apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq postgresql >/dev/null
