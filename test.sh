#!/usr/bin/env bash
# The whole test suite (the README's second command). Needs the .NET SDK; installs Chromium when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
# The Workbench's browser tests drive the system Chromium (Playwright downloads no browser).
if ! command -v chromium >/dev/null; then
  for attempt in 1 2 3; do
    if apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; then break; fi
    echo "Installing Chromium failed (attempt $attempt); retrying" >&2
    sleep 10
  done
  command -v chromium >/dev/null || { echo "Chromium is required by the Workbench tests and could not be installed" >&2; exit 1; }
fi
dotnet build Latch.slnx -c Release
# The storage contract and multi-instance tests need PostgreSQL: a private cluster on 127.0.0.1:55432 (exports LATCH_TEST_POSTGRES).
source tests/postgres.sh
dotnet test Latch.slnx -c Release --no-build "$@"
