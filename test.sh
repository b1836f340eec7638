#!/usr/bin/env bash
# The whole test suite (the README's second command). Installs nothing yet: the foundation needs only the .NET SDK.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Latch.slnx -c Release
dotnet test Latch.slnx -c Release --no-build "$@"
