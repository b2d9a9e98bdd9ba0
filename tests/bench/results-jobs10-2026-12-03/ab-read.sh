#!/bin/bash
# Reads at 200,000 jobs: schema 9 (ca076f9) against schema 10, each its own Release build.
cd /work/main
out=/tmp/ab10
for i in 1 2; do
  for v in base head; do
    if [ $v = base ]; then top=/tmp/ab-base; else top=/work/main; fi
    $top/build-bench/tests/bench/cj-bench --copyjobd $top/build-bench/daemon/copyjobd \
      --fake tests/fake-bedrock/server.mjs --jobs 200000 --ingest-jobs 0 --sync-jobs 0 \
      --workdir $out/r-$v > $out/read-$v-$i.txt 2>&1
    echo "$v $i done $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
