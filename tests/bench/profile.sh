#!/usr/bin/env bash
# Where copyjobd's time goes (perf counters are "not supported" on these VMs, so:)
#   callgrind: user-space instructions per request and per ingested job, by function;
#   strace -c: system calls per request (the kernel time that callgrind cannot see).
# Usage: tests/bench/profile.sh [JOBS]   (default 100000; needs scripts/bench's build-bench)
# Output: /var/tmp/cj-profile/*.txt
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
jobs=${1:-100000}
out=/var/tmp/cj-profile
bin=build-bench/daemon/copyjobd
rm -rf "$out" && mkdir -p "$out"

# A store of JOBS jobs (kept), the same data set as the benchmark.
build-bench/tests/bench/cj-bench --copyjobd "$bin" --jobs "$jobs" --ingest-jobs 0 --iterations 16 \
  --walk-iterations 1 --ready-runs 1 --duration 0.05 --keep --workdir "$out/data" >/dev/null
dir="$out/data/n$jobs"

serve() { # tool... : start copyjobd on the kept store under a tool, wait for its socket
  rm -f "$dir/copyjobd.sock"
  AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 \
    AWS_EC2_METADATA_DISABLED=true "$@" "$bin" --config "$dir/copyjobd.conf" 2>>"$out/daemon.log" &
  tool=$!
  for _ in $(seq 600); do [ -S "$dir/copyjobd.sock" ] && break; sleep 0.1; done
  # valgrind runs the daemon in its own process; strace runs it as a child.
  pid=$(pgrep -P "$tool" -x copyjobd || echo "$tool")
}
stop() { kill -TERM "$pid"; wait "$tool" || true; }

# Start-up alone (to READY): callgrind from exec until the socket serves, then stop; and the
# system calls of the start with their times.
serve valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.start" -q
stop
callgrind_annotate --inclusive=yes "$out/callgrind.start" 2>/dev/null | head -60 >"$out/callgrind-start.txt" || true
serve strace -f -r -o "$out/strace-start.txt"
stop

for kind in failed newest get; do
  serve valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$kind" -q
  python3 tests/bench/profile-drive.py "$dir/copyjobd.sock" "$kind" 2000 >/dev/null
  stop
  callgrind_annotate --inclusive=yes "$out/callgrind.$kind" 2>/dev/null | head -60 >"$out/callgrind-$kind.txt" || true
  serve strace -c -f -o "$out/strace-$kind.txt"
  python3 tests/bench/profile-drive.py "$dir/copyjobd.sock" "$kind" 2000 >/dev/null
  stop
done

# Ingest: copyjobd --once against the fake endpoint, under callgrind.
node tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs 20000 --seed 7 >"$out/fake.json" 2>/dev/null &
fake=$!
for _ in $(seq 600); do [ -s "$out/fake.json" ] && break; sleep 0.1; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' "$out/fake.json")
sed -e "s|^endpoint = .*|endpoint = $url|" -e "s|^directory = .*|directory = $out/ingest-store|" \
  -e "s|^socket = .*|socket = $out/ingest.sock|" "$dir/copyjobd.conf" >"$out/ingest.conf"
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 \
  AWS_EC2_METADATA_DISABLED=true valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.ingest" -q \
  "$bin" --config "$out/ingest.conf" --once 2>>"$out/daemon.log"
kill -TERM "$fake"; wait "$fake" || true
callgrind_annotate --inclusive=yes "$out/callgrind.ingest" 2>/dev/null | head -80 >"$out/callgrind-ingest.txt" || true
echo "profiles in $out"
