#!/bin/bash
# 20 interleaved sources, 1,000,000 jobs: base (c7fb552) then this (8e265ff)
cd /tmp/prof/il
for v in base idx; do
  case $v in
    base) b=/tmp/prof/wt-c7fb552/build ;;
    idx) b=/work/main/build-bench ;;
  esac
  $b/tests/bench/cj-bench --copyjobd $b/daemon/copyjobd --jobs 1000000 --ingest-jobs 0 --sync-jobs 0 --sources 20 --interleave --iterations 10 --walk-iterations 1 --ready-runs 1 --json 1m-$v.json > 1m-$v.txt 2>&1
  echo "$v $(grep -o 'copyjobd store [0-9.]* s' 1m-$v.txt | head -1) | $(grep -E '^store \(jobs' 1m-$v.txt | head -1) | $(grep 'without its free' 1m-$v.txt)"
done
