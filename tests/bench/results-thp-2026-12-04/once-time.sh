#!/bin/bash
# copyjobd --once syncing N jobs from the fake into an empty store: $1 binary, $2 jobs; user/sys CPU by GNU time (whole process, exit included)
out=/tmp/prof; rm -rf $out/store $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $2 --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
env $EXTRA AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true /usr/bin/time -f "user %U sys %S wall %e maxrss %M KiB" $PERF $1 --config $out/c.conf --once 2> $out/d.log
echo rc=$?; tail -1 $out/d.log
pkill -f "server.mjs --port 0 --https-port -1 --jobs $2 "
