#!/bin/bash
# copyjobd --once against the fake serving N jobs: $1 "first" (into an empty store) or "again"
# (over the store the last run filled), $2 binary, $3 jobs. $EXTRA goes into the daemon's
# environment. CPU from the last /proc/PID/stat before exit (user, system), bytes from
# /proc/PID/io; not exact for runs shorter than the 0.1 s sampling (once-time.sh then).
. "$(dirname "$0")/fake.sh"
[ "$1" = first ] && rm -rf $out/store
fake_start $3
env $EXTRA $daemon_env $2 --config $out/c.conf --once 2> $out/d.log &
pid=$!
tck=$(getconf CLK_TCK)
while kill -0 $pid 2>/dev/null; do
  s=$(cat /proc/$pid/stat 2>/dev/null) && io=$(cat /proc/$pid/io 2>/dev/null) && last_s="$s" && last_io="$io"
  sleep 0.1
done
wait $pid; echo rc=$?
echo "$last_s" | awk -v t=$tck '{printf "user %.2f sys %.2f cpu %.2f\n", $14/t, $15/t, ($14+$15)/t}'
echo "$last_io" | egrep "wchar|syscw|write_bytes"
fake_stop $3
