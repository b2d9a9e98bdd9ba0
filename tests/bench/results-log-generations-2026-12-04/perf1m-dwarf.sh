#!/bin/bash
# perf record of copyjobd --once syncing N jobs from the fake into an empty store: $1 binary, $2 jobs, $3 perf output
out=/tmp/prof; rm -rf $out/store $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $2 --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -o $3 $1 --config $out/c.conf --once 2> $out/d.log
echo rc=$?
pkill -f "server.mjs --port 0 --https-port -1 --jobs $2 "
