#!/usr/bin/env bash
# Runs the load benchmark (see benchmarks/README.md) and draws docs/perf/*.svg from its results (CHARTS_DIR=… to draw
# them elsewhere). Arguments are passed on, e.g. --scenario common --repeat 3; --aot (taken here) runs the server as a
# Native AOT binary instead.
#
# 10,000 connections need as many file descriptors in this process and in the server it starts (which inherits the
# limit), so the open-file limit is raised first: to 65535 when allowed, else to the hard limit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ulimit -n 65535 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  echo "note: could not raise the open-file limit to 65535 (raising the hard limit needs CAP_SYS_RESOURCE)"
fi
echo "open-file limit: $(ulimit -n) (hard $(ulimit -Hn))"

args=()
json=""
aot=false
while (( $# )); do
  case "$1" in
    --aot) aot=true ;;
    --json) json="$2"; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
json=${json:-benchmarks/results/$(date -u +%Y%m%d-%H%M%S)Z.json}

# The reference bridge (benchmarks/reference/pgws-bun.js) runs on Bun, installed from npm into a cache of this
# repository, never globally.
bun_version=${BUN_VERSION:-1.4.4}
bun_dir=benchmarks/.cache/bun-$bun_version
bun=$bun_dir/node_modules/@oven/bun-linux-x64/bin/bun
if [[ ! -x $bun ]]; then
  command -v npm >/dev/null || { echo "npm is needed to install Bun: apt-get install -y nodejs npm" >&2; exit 2; }
  echo "installing Bun $bun_version into $bun_dir"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$bun_dir" "@oven/bun-linux-x64@$bun_version"
fi
echo "bun: $("$bun" --version)"

if $aot; then
  # The AOT toolchain links with clang and zlib.
  command -v clang >/dev/null && [[ -e /usr/include/zlib.h ]] || { echo "Native AOT needs clang and zlib1g-dev: apt-get install -y clang zlib1g-dev" >&2; exit 2; }
  dotnet publish src/PgNotifyHub.Server -c Release -r linux-x64 -p:PublishAot=true -o benchmarks/.cache/aot
  args+=(--server-dll benchmarks/.cache/aot/PgNotifyHub.Server)
fi

# The tables as printed go next to the JSON (<name>.txt), and the charts from the JSON into docs/perf.
mkdir -p "$(dirname "$json")"
status=0
dotnet run -c Release --project benchmarks/PgNotifyHub.LoadTest -- --bun "$bun" --json "$json" "${args[@]}" 2>&1 | tee "${json%.json}.txt" || status=${PIPESTATUS[0]}
if [[ -f $json ]]; then
  command -v node >/dev/null || { echo "node is needed to draw the charts: apt-get install -y nodejs" >&2; exit 2; }
  node benchmarks/charts.mjs "$json" "${CHARTS_DIR:-docs/perf}"
fi
echo "results: $json, tables: ${json%.json}.txt, charts: ${CHARTS_DIR:-docs/perf}/*.svg"
exit "$status"
