#!/usr/bin/env bash
# Runs the load benchmark (see benchmarks/README.md). Arguments are passed on, e.g. --scenario latency --repeat 3.
#
# 10,000 idle connections need as many file descriptors in this process and in the server it starts (which
# inherits the limit), so the open-file limit is raised first: to 65535 when allowed, else to the hard limit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ulimit -n 65535 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  echo "note: could not raise the open-file limit to 65535 (raising the hard limit needs CAP_SYS_RESOURCE)"
fi
echo "open-file limit: $(ulimit -n) (hard $(ulimit -Hn))"

exec dotnet run -c Release --project benchmarks/PgNotifyHub.LoadTest -- "$@"
