#!/bin/bash
# Fresh clone -> first cited answer, timed: what a new user's README command does.
#
#   benchmarks/first_run.sh cold   # empty pip cache and wheelhouse: llama-cpp-python is compiled
#   benchmarks/first_run.sh warm   # a second clone reusing the caches the cold run filled
#
# Clones this repository's HEAD into $FRESH (default /tmp/citewire-fresh) with a new CITEWIRE_HOME; the caches
# live under $CACHES (default /tmp/citewire-first-run). Prints setup time, setup CPU and the time to the answer.
set -euo pipefail
mode=${1:?usage: first_run.sh cold|warm}
repo=$(cd "$(dirname "$0")/.." && pwd)
fresh=${FRESH:-/tmp/citewire-fresh}
caches=${CACHES:-/tmp/citewire-first-run}
rm -rf "$fresh" "$caches/home"
[ "$mode" = cold ] && rm -rf "$caches/pip" "$caches/wheels"
mkdir -p "$caches/pip" "$caches/wheels"
export PIP_CACHE_DIR=$caches/pip WHEELHOUSE=$caches/wheels CITEWIRE_HOME=$caches/home
git clone -q "$repo" "$fresh"
cd "$fresh"
start=$(date +%s.%N)
/usr/bin/time -f "setup: %e s wall, %U s user, %S s sys" make setup > "$caches/setup-$mode.log" 2>&1 \
  || { tail -n 20 "$caches/setup-$mode.log"; exit 1; }
tail -n 1 "$caches/setup-$mode.log"
setup_done=$(date +%s.%N)
.venv/bin/citewire ingest > "$caches/ingest-$mode.log" 2>&1
.venv/bin/citewire ask "How many drones and missiles did Russia launch?"
end=$(date +%s.%N)
python3 -c "print('$mode: setup %.0f s, first cited answer at %.0f s after the clone' % ($setup_done - $start, $end - $start))"
