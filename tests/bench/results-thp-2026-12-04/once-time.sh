#!/bin/bash
# copyjobd --once syncing N jobs from the fake into an empty store: $1 binary, $2 jobs; user/sys CPU by GNU time (whole process, exit included)
. "$(dirname "$0")/fake.sh"
rm -rf $out/store $out/fake.json
fake_start $2
env $EXTRA $daemon_env /usr/bin/time -f "user %U sys %S wall %e maxrss %M KiB" $PERF $1 --config $out/c.conf --once 2> $out/d.log
echo rc=$?; tail -1 $out/d.log
fake_stop $2
