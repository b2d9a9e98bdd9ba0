#!/bin/bash
# Alternating copyjobd --once of $1 jobs into an empty store, $2 pairs: base (376f2dd, its own
# Release build in /tmp/base) and head (6346682, build-bench). Each line: build, user s,
# system s. Config: ../results-repass-2026-12-04/c.conf (in /tmp/prof, the store beside it).
jobs=$1 pairs=$2 out=/tmp/prof
rm -f $out/fake.json
(node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $jobs --seed 7 > $out/fake.json 2>/dev/null &)
for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
for i in $(seq $pairs); do
  for v in base head; do
    if [ $v = base ]; then b=/tmp/base/build-bench/daemon/copyjobd; else b=/work/main/build-bench/daemon/copyjobd; fi
    rm -rf $out/store
    AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true /usr/bin/time -f "$v %U %S" $b --config $out/c.conf --once 2>&1 >/dev/null | tail -1
  done
done
pkill -f "server.mjs --port 0 --https-port -1 --jobs $jobs "
