#!/bin/bash
# One cj-bench run of a copyjobd binary (the variant's build), with the load average before and
# after, every copyjobd the bench starts polled for RssAnon/RssFile every 100 ms (peak per
# process, in the order started: the query daemon, the --once ingest, the sync daemon), and the
# sync store's size on disk (apparent and allocated) before the work dir is removed.
# usage: run.sh VARIANT RUN COPYJOBD OUTDIR
set -u
variant=$1 run=$2 bin=$3 out=$4
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/wm-bench.XXXXXX)
txt=$out/$variant-$run.txt
{
  echo "variant $variant run $run binary $bin"
  echo "loadavg before: $(cat /proc/loadavg)"
} >"$txt"
"$repo/build-bench/tests/bench/cj-bench" --copyjobd "$bin" --fake "$repo/tests/fake-bedrock/server.mjs" \
  --jobs 2000 --ingest-jobs 100000 --sync-jobs 1000000 --ready-runs 1 --duration 0.05 \
  --iterations 64 --walk-iterations 1 --workdir "$work" --keep >"$out/$variant-$run.bench.txt" 2>"$out/$variant-$run.bench.err" &
bench=$!
declare -A peak_anon peak_file samples
order=()
for ((i = 0; i < 36000; i++)); do   # at most 1 h
  kill -0 $bench 2>/dev/null || break
  for pid in $(pgrep -P $bench -x copyjobd); do
    read -r a f < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} END{print a+0, f+0}' /proc/$pid/status 2>/dev/null) || continue
    [ -z "${samples[$pid]:-}" ] && { order+=("$pid"); samples[$pid]=0; peak_anon[$pid]=0; peak_file[$pid]=0; }
    samples[$pid]=$((samples[$pid] + 1))
    ((a > peak_anon[$pid])) && peak_anon[$pid]=$a
    ((f > peak_file[$pid])) && peak_file[$pid]=$f
  done
  sleep 0.1
done
wait $bench
rc=$?
{
  echo "cj-bench exit $rc"
  echo "loadavg after: $(cat /proc/loadavg)"
  for pid in "${order[@]}"; do
    echo "copyjobd pid $pid: samples ${samples[$pid]} (~0.1 s each), peak RssAnon ${peak_anon[$pid]} KiB, peak RssFile ${peak_file[$pid]} KiB"
  done
  st=$(ls -d "$work"/sync*/store 2>/dev/null | head -1)
  [ -n "$st" ] && { echo "sync store files (ls -l, du -k):"; ls -l "$st"; du -k "$st"/*; }
  grep -E "^ingest:|jobs \(stored" "$out/$variant-$run.bench.txt"
} >>"$txt"
rm -rf "$work"
cat "$txt"
