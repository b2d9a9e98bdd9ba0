#!/bin/bash
# copyjobd --once syncing N jobs from the fake into an empty store, RssAnon sampled every 0.05 s: $1 binary, $2 jobs; $EXTRA in its environment
out=/tmp/prof; rm -rf $out/store $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $2 --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
env $EXTRA AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true $1 --config $out/c.conf --once 2> $out/d.log &
pid=$!
peak=0; huge=0
while kill -0 $pid 2>/dev/null; do
  a=$(awk '/^RssAnon/{print $2}' /proc/$pid/status 2>/dev/null); [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
  h=$(awk '/^AnonHugePages/{print $2}' /proc/$pid/smaps_rollup 2>/dev/null); [ -n "$h" ] && [ "$h" -gt "$huge" ] && huge=$h
  sleep 0.05
done
wait $pid; echo "rc=$? peak RssAnon ${peak} KiB, peak AnonHugePages ${huge} KiB"
pkill -f "server.mjs --port 0 --https-port -1 --jobs $2 "
