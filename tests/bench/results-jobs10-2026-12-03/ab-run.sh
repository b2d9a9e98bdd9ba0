#!/bin/bash
# Schema 9 (ca076f9) against schema 10 (packed `jobs` keys), each with its own Release build of
# copyjobd and cj-bench, alternating: a sync of 1,000,000 jobs from the fake.
cd /work/main
out=${OUT:-/tmp/ab10}
for i in 1 2 3; do
  for v in base head; do
    if [ $v = base ]; then top=/tmp/ab-base; else top=/work/main; fi
    $top/build-bench/tests/bench/cj-bench --copyjobd $top/build-bench/daemon/copyjobd \
      --fake tests/fake-bedrock/server.mjs --jobs 2000 --ingest-jobs 0 --sync-jobs 1000000 \
      --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 \
      --workdir $out/w-$v > $out/x-$v-1m-$i.txt 2>&1
    echo "$v $i $(grep -A1 '1000000 jobs (stored' $out/x-$v-1m-$i.txt | tr -s ' ' | tr '\n' ' ') | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
