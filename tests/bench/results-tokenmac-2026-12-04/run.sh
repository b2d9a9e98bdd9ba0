#!/bin/bash
# Instructions per query of the store alone (no HTTP): callgrind of cj-profile-store on a
# 10,000-job store kept by cj-bench, 500 queries of each kind, for one build's cj-profile-store.
# Usage: run.sh CJ_PROFILE_STORE STORE_DIR OUT_PREFIX
# (the store: cj-bench --copyjobd build-bench/daemon/copyjobd --jobs 10000 --ingest-jobs 0
#  --sync-jobs 0 --iterations 16 --walk-iterations 1 --ready-runs 1 --duration 0.05 --keep
#  --workdir DIR; STORE_DIR is DIR/n10000/store)
set -eu
for k in newest failed account model get; do
  valgrind --tool=callgrind --toggle-collect=measure --callgrind-out-file="$3-$k.out" \
    "$1" "$2" "$k" 500 >/dev/null 2>&1
  echo "$k $(callgrind_annotate "$3-$k.out" 2>/dev/null | grep 'PROGRAM TOTALS' |
    awk '{gsub(",", "", $1); printf "%.0f", $1 / 501}')"
done
