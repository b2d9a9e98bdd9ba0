#!/bin/bash
# callgrind of copyjobd --once syncing N jobs from the fake: $1 = binary, $2 = out file
cd /tmp/prof && rm -rf store && rm -f fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $3 --seed 7 > fake.json 2>/dev/null &)
for i in $(seq 600); do [ -s fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' fake.json); sed -i "s|^endpoint = .*|endpoint = $url|" c.conf
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true timeout 600 valgrind --tool=callgrind --callgrind-out-file=$2 $1 --config c.conf --once 2>/dev/null
pkill -f "jobs $3 --seed 7"
callgrind_annotate $2 2>/dev/null | grep -E "PROGRAM TOTALS"
