#!/bin/bash
# wchar of copyjobd --once syncing 1M jobs from the fake: $1 = copyjobd binary
out=/tmp/prof; rm -rf $out/store $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs 1000000 --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true $1 --config $out/c.conf --once 2> $out/d.log &
pid=$!
last=""
while kill -0 $pid 2>/dev/null; do l=$(grep -E 'wchar|syscw|write_bytes' /proc/$pid/io 2>/dev/null | tr '\n' ' '); [ -n "$l" ] && last=$l; sleep 0.2; done
wait $pid; echo "rc=$? $last"
pkill -f 'server.mjs --port 0 --https-port -1 --jobs 1000000'
ls -la $out/store/data.mdb | awk '{print "file", $5}'
