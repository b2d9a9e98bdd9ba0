#!/bin/bash
# 20 interleaved sources, 200,000 jobs, the benchmark's default rounds (2,000 requests a query): c7fb552 and 8e265ff in turn, twice
cd /tmp/prof/il
for i in 1 2; do
  for v in base idx; do
    case $v in
      base) b=/tmp/prof/wt-c7fb552/build ;;
      idx) b=/work/main/build-bench ;;
    esac
    $b/tests/bench/cj-bench --copyjobd $b/daemon/copyjobd --jobs 200000 --ingest-jobs 0 --sync-jobs 0 --sources 20 --interleave --json read-$v-$i.json > read-$v-$i.txt 2>&1
    echo "$v $i done"
  done
done
