#!/bin/bash
# Alternating read runs at $1 jobs: schema 7 (a15e3fa, its own cj-bench) and HEAD.
n=$1
for i in 1 2; do
  for v in s7 head; do
    if [ $v = s7 ]; then dir=/tmp/s7; else dir=/work/main; fi
    rm -rf /tmp/ab/r; mkdir -p /tmp/ab/r
    (cd $dir && ./build-bench/tests/bench/cj-bench --copyjobd build-bench/daemon/copyjobd --jobs $n --ingest-jobs 0 --sync-jobs 0 --ready-runs 1 --workdir /tmp/ab/r 2>/dev/null) > /tmp/ab/read-$v-$i.txt
    echo "== $v $i $(cut -d' ' -f1-3 /proc/loadavg)"
    grep -A17 "^query                 daemon" /tmp/ab/read-$v-$i.txt | awk '{print $1, $4, $6}' | head -17 | paste -sd' '
  done
done
