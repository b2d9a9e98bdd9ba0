#!/bin/bash
# A/B: the row prefetch (this tree) against HEAD without it, 200,000 jobs, query CPU only.
cd /work/main
B=/work/main/build-bench/tests/bench/cj-bench
base=/tmp/headwt/build-bench/daemon/copyjobd
pf=/work/main/build-bench/daemon/copyjobd
for i in 4 5; do
  for v in base pf; do
    bin=${!v}
    $B --copyjobd $bin --jobs 200000 --ingest-jobs 0 --sync-jobs 0 --ready-runs 1 --duration 0.1 \
      --workdir /tmp/ab/wpf-$v --json /tmp/ab/pf-$v-$i.json > /tmp/ab/pf-$v-$i.txt 2>&1
    echo "$v $i $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
