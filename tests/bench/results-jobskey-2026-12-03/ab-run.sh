#!/bin/bash
# EXPERIMENT (not committed code): `jobs` keyed by a 16-byte digest of the jobArn, against HEAD.
cd /work/main
B=/work/main/build-bench/tests/bench/cj-bench
head=/work/main/build-bench/daemon/copyjobd
exp=/tmp/expwt/build-bench/daemon/copyjobd
for i in 1 2; do
  for v in head exp; do
    bin=${!v}; B=/work/main/build-bench/tests/bench/cj-bench; [ $v = exp ] && B=/tmp/expwt/build-bench/tests/bench/cj-bench
    $B --copyjobd $bin --fake tests/fake-bedrock/server.mjs --jobs 2000 --ingest-jobs 0 --sync-jobs 1000000 \
      --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 --workdir /tmp/ab/wx-$v > /tmp/ab/x-$v-1m-$i.txt 2>&1
    echo "$v $i $(grep -A1 '1000000 jobs (stored' /tmp/ab/x-$v-1m-$i.txt | tr -s ' ' | tr '\n' ' ') | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
