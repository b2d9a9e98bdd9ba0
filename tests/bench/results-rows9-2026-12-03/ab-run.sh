#!/bin/bash
# A/B: schema 7 (bcf5b72) against schema 9 (this tree), alternating, the same cj-bench.
cd /work/main
BNEW=/work/main/build-bench/tests/bench/cj-bench; BOLD=/tmp/oldwt/build-bench/tests/bench/cj-bench
old=/tmp/oldwt/build-bench/daemon/copyjobd
new=/work/main/build-bench/daemon/copyjobd
for i in; do
  for v in old new; do
    bin=${!v}
    B=$BNEW; [ $v = old ] && B=$BOLD; $B --copyjobd $bin --fake tests/fake-bedrock/server.mjs --jobs 10000 --ingest-jobs 100000 --sync-jobs 200000 \
      --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 --workdir /tmp/ab/w-$v > /tmp/ab/$v-200k-$i.txt 2>&1
    echo "$v $i $(grep -E 'ingest: 100000' /tmp/ab/$v-200k-$i.txt | sed 's/.*daemon CPU/CPU/' | head -1) | $(grep -A1 '200000 jobs (stored' /tmp/ab/$v-200k-$i.txt | tr -s ' ' | tr '\n' ' ') | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
for i in 1 2 3; do
  for v in old new; do
    bin=${!v}
    B=$BNEW; [ $v = old ] && B=$BOLD; $B --copyjobd $bin --fake tests/fake-bedrock/server.mjs --jobs 2000 --ingest-jobs 0 --sync-jobs 1000000 \
      --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 --workdir /tmp/ab/w-$v > /tmp/ab/s9-$v-1m-$i.txt 2>&1
    echo "$v $i $(grep -A1 '1000000 jobs (stored' /tmp/ab/s9-$v-1m-$i.txt | tr -s ' ' | tr '\n' ' ') | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
