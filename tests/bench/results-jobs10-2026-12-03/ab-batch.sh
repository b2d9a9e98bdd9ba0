#!/bin/bash
# Batches of 50,000 jobs / 1 s (HEAD) against 100,000 / 2 s (/tmp/ab-b100), a sync of 1,000,000,
# alternating; a poller records the syncing daemon's peak RssAnon.
cd /work/main
out=/tmp/ab10
for i in 1 2; do
  for v in head b100; do
    if [ $v = b100 ]; then top=/tmp/ab-b100; else top=/work/main; fi
    peakf=$out/peak-$v-$i; echo 0 > $peakf
    ( peak=0; while true; do for p in $(pgrep -x copyjobd); do a=$(awk '/RssAnon/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a && echo $peak > $peakf; done; sleep 0.1; done ) &
    poller=$!
    $top/build-bench/tests/bench/cj-bench --copyjobd $top/build-bench/daemon/copyjobd \
      --fake tests/fake-bedrock/server.mjs --jobs 2000 --ingest-jobs 0 --sync-jobs 1000000 \
      --iterations 20 --walk-iterations 1 --duration 0.05 --ready-runs 1 \
      --workdir $out/b-$v > $out/batch-$v-$i.txt 2>&1
    kill $poller
    echo "$v $i $(grep -A1 '1000000 jobs (stored' $out/batch-$v-$i.txt | tr -s ' ' | tr '\n' ' ') peak anon $(cat $peakf) KiB | $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
echo DONE
