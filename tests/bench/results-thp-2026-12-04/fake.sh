# Sourced by this folder's scripts: the fake serving N jobs (seed 7) on a free port, and
# /tmp/prof/c.conf (a [aws] endpoint line, the store in /tmp/prof/store) pointed at it.
out=/tmp/prof
fake_start() { # N
  rm -f $out/fake.json
  (node /work/main/tests/fake-bedrock/server.mjs --port 0 --https-port -1 --jobs $1 --seed 7 > $out/fake.json 2>/dev/null &)
  for i in $(seq 300); do [ -s $out/fake.json ] && break; sleep 0.2; done
  url=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' $out/fake.json)
  sed -i "s|^endpoint = .*|endpoint = $url|" $out/c.conf
}
fake_stop() { # N
  pkill -f "server.mjs --port 0 --https-port -1 --jobs $1 "
}
# The test keys of tests/integration/lib/harness.mjs; no other credentials are looked for.
daemon_env="AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true"
