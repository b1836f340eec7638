#!/usr/bin/env bash
# The whole test suite (the README's second command). Needs the .NET SDK; installs Chromium when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
# The Workbench's browser tests drive the system Chromium (Playwright downloads no browser).
if ! command -v chromium >/dev/null; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi
dotnet build Latch.slnx -c Release
dotnet test Latch.slnx -c Release --no-build "$@"
