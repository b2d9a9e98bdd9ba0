#!/bin/bash
# copyjobd --once syncing N jobs from the fake into an empty store, RssAnon sampled every 0.05 s: $1 binary, $2 jobs; $EXTRA in its environment
. "$(dirname "$0")/fake.sh"
rm -rf $out/store $out/fake.json
fake_start $2
env $EXTRA $daemon_env $1 --config $out/c.conf --once 2> $out/d.log &
pid=$!
peak=0; huge=0
while kill -0 $pid 2>/dev/null; do
  a=$(awk '/^RssAnon/{print $2}' /proc/$pid/status 2>/dev/null); [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
  h=$(awk '/^AnonHugePages/{print $2}' /proc/$pid/smaps_rollup 2>/dev/null); [ -n "$h" ] && [ "$h" -gt "$huge" ] && huge=$h
  sleep 0.05
done
wait $pid; echo "rc=$? peak RssAnon ${peak} KiB, peak AnonHugePages ${huge} KiB"
fake_stop $2
