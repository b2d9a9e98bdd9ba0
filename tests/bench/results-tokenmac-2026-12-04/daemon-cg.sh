#!/bin/bash
# callgrind of a copyjobd binary serving N requests of KIND from profile-drive.py on the kept 10k store
# $1 binary $2 kind $3 out
dir=/tmp/prof/s10k/n10000; rm -f $dir/copyjobd.sock
AWS_ACCESS_KEY_ID=AKIDCOPYJOBDTEST0001 AWS_SECRET_ACCESS_KEY=cjTest/SecretKey+DoNotLeak000000000000000 AWS_EC2_METADATA_DISABLED=true valgrind --tool=callgrind --callgrind-out-file=$3 -q $1 --config $dir/copyjobd.conf 2>/dev/null &
pid=$!
for i in $(seq 300); do [ -S $dir/copyjobd.sock ] && break; sleep 0.1; done
python3 /work/main/tests/bench/profile-drive.py $dir/copyjobd.sock $2 2000 > /dev/null
kill -TERM $pid; wait $pid
callgrind_annotate --inclusive=yes $3 2>/dev/null | grep -E "PROGRAM TOTALS| api_access_handler| cj_store_list|api_reply_send|vfprintf-internal|_dl_start "
