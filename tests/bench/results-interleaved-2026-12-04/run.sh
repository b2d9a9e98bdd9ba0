#!/bin/bash
# 20 interleaved sources, 200,000 jobs: base (c7fb552), rows (a910ea3), rows+entries (working tree), alternating
cd /tmp/prof/il
for i in 1 2 3; do
  for v in base rows idx; do
    case $v in
      base) b=/tmp/prof/wt-c7fb552/build ;;
      rows) b=/tmp/prof/wt-a910ea3/build ;;
      idx) b=/work/main/build-bench ;;
    esac
    $b/tests/bench/cj-bench --copyjobd $b/daemon/copyjobd --jobs 200000 --ingest-jobs 0 --sync-jobs 0 --sources 20 --interleave --iterations 10 --walk-iterations 1 --ready-runs 1 --json $v-$i.json > $v-$i.txt 2>&1
    echo "$v $i $(grep -o 'copyjobd store [0-9.]* s' $v-$i.txt | head -1) | $(grep -E '^store \(jobs' $v-$i.txt | head -1) | $(grep 'without its free' $v-$i.txt)"
  done
done
