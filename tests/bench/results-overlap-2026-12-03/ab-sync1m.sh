#!/bin/bash
# Alternating pairs of the 1M sync: base (HEAD before) and head (next page asked before storing).
cd /work/main
for i in 1 2 3; do
  for v in base head; do
    if [ $v = base ]; then bin=/tmp/base/build-bench/daemon/copyjobd; else bin=/work/main/build-bench/daemon/copyjobd; fi
    rm -rf /tmp/ab/w; mkdir -p /tmp/ab/w
    line=$(./build-bench/tests/bench/cj-bench --copyjobd $bin --fake tests/fake-bedrock/server.mjs --jobs 2000 --ingest-jobs 0 --sync-jobs 1000000 --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 --workdir /tmp/ab/w 2>/dev/null | grep "jobs (stored")
    echo "$v $i $line | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
