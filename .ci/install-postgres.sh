#!/bin/sh
# Installs the PostgreSQL server for the test suite (test/support/postgres.ts), unless some version's
# binaries are already there. Idempotent; Debian/Ubuntu. Run as root (CI) or with sudo.
set -eu
for initdb in /usr/lib/postgresql/*/bin/initdb; do
  if [ -x "$initdb" ]; then
    echo "PostgreSQL server already installed: $initdb"
    exit 0
  fi
done
export DEBIAN_FRONTEND=noninteractive
apt-get update
# The package's post-install script may create and start a default cluster; the tests do not use it.
apt-get install -y --no-install-recommends postgresql
ls -d /usr/lib/postgresql/*/bin/initdb
