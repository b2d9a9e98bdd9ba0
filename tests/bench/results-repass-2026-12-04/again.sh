#!/bin/bash
# copyjobd --once against the fake of $2 jobs into the existing store (a second full pass): $1 = binary
# run after ../results-events-2026-12-03/io-1m.sh has synced the store once (same fake, same seed)
out=/tmp/prof; rm -f $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $2 --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
fp=$(pgrep -f "server.mjs --port 0 --https-port -1 --jobs $2 "); f0=$(awk '{print $14+$15}' /proc/$fp/stat)
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true /usr/bin/time -f "wall %e s, user %U s, sys %S s, maxrss %M KB, out %O blocks" $1 --config $out/c.conf --once 2> $out/d2.log
tail -1 $out/d2.log; grep -iE 'pass|unchanged|created|updated' $out/d2.log | tail -3
echo "fake cpu over the pass $(awk -v f0=$f0 '{printf "%.2f s", ($14+$15-f0)/100}' /proc/$fp/stat)"
pkill -f "server.mjs --port 0 --https-port -1 --jobs $2 "
ls -la $out/store/data.mdb | awk '{print "file", $5}'
