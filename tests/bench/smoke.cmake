# Runs cj-bench --smoke and checks that it wrote well-formed JSON with every part present; then
# again with two sources and a third of the jobs added after their passes (--growth).
file(REMOVE ${OUT})
execute_process(COMMAND ${BENCH} --smoke --copyjobd ${COPYJOBD} --node ${NODE} --fake ${FAKE}
                        --json ${OUT}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cj-bench --smoke exited with ${rc}")
endif()
file(READ ${OUT} json)
string(JSON jobs GET "${json}" sizes 0 jobs)
string(JSON nq LENGTH "${json}" sizes 0 queries)
string(JSON stored GET "${json}" ingest stored)
string(JSON ready LENGTH "${json}" sizes 0 ready_ms)
if(NOT jobs EQUAL 10000 OR NOT nq EQUAL 15 OR NOT stored EQUAL 2000 OR ready LESS 1)
  message(FATAL_ERROR "cj-bench JSON incomplete: jobs=${jobs} queries=${nq} stored=${stored} ready=${ready}")
endif()
foreach(q newest_100 failed_30d_100 account_month_100 source_model_100 name_contains_100
          walk_failed_1000 get_by_arn time_window_100 oldest_100 status_account_100
          status_model_100 account_model_100 all_filters_asc_100 region_100
          region_failed_30d_100)
  string(JSON same GET "${json}" sizes 0 queries ${q} same_bytes)
  if(NOT same)
    message(FATAL_ERROR "cj-bench: copyjobd and SQLite answered ${q} differently")
  endif()
endforeach()
# The filter combinations are chosen to match jobs: an empty answer compares nothing.
foreach(q time_window_100 oldest_100 status_account_100 status_model_100 account_model_100
          all_filters_asc_100 region_100 region_failed_30d_100)
  string(JSON rows GET "${json}" sizes 0 queries ${q} rows)
  if(rows LESS 1)
    message(FATAL_ERROR "cj-bench: ${q} matched no jobs")
  endif()
endforeach()
# CPU per answer: every query has the daemon's and the floor's figures, read from schedstat.
foreach(q newest_100 failed_30d_100 account_month_100 source_model_100 name_contains_100
          walk_failed_1000 get_by_arn time_window_100 oldest_100 status_account_100
          status_model_100 account_model_100 all_filters_asc_100 region_100
          region_failed_30d_100)
  string(JSON d GET "${json}" sizes 0 queries ${q} cpu daemon_us)
  string(JSON f GET "${json}" sizes 0 queries ${q} cpu floor_us)
  string(JSON s GET "${json}" sizes 0 queries ${q} cpu sqlite_us)
  string(JSON o GET "${json}" sizes 0 queries ${q} cpu over_floor_us)
  string(JSON w GET "${json}" sizes 0 queries ${q} floor p50_us)
  if(NOT d GREATER 0 OR NOT f GREATER 0 OR NOT s GREATER 0 OR NOT w GREATER 0)
    message(FATAL_ERROR "cj-bench: ${q}: no CPU figures (daemon ${d}, floor ${f}, SQLite ${s}, floor wall ${w})")
  endif()
endforeach()
string(JSON pages LENGTH "${json}" sizes 0 queries walk_failed_1000 cpu page_over_floor_us)
string(JSON walk_pages GET "${json}" sizes 0 queries walk_failed_1000 pages)
if(NOT pages EQUAL walk_pages)
  message(FATAL_ERROR "cj-bench: the walk has ${walk_pages} pages but ${pages} CPU figures")
endif()
# Memory after a sync from the fake endpoint.
string(JSON synced GET "${json}" sync_memory 0 stored)
string(JSON sync_anon GET "${json}" sync_memory 0 anon_kib)
if(NOT synced EQUAL 2000 OR NOT sync_anon GREATER 0)
  message(FATAL_ERROR "cj-bench: memory after a sync: stored=${synced} anon=${sync_anon}")
endif()
# The second full pass over the same jobs changes none of them, and costs the daemon CPU.
string(JSON resync_changed GET "${json}" sync_memory 0 resync changed)
string(JSON resync_cpu GET "${json}" sync_memory 0 resync cpu_s)
if(NOT resync_changed EQUAL 0 OR NOT resync_cpu GREATER 0)
  message(FATAL_ERROR "cj-bench: the repeated full pass: changed=${resync_changed} cpu=${resync_cpu}")
endif()
# The store's size by LMDB database, the change log apart from the rest. Its database's name
# is cj-bench's --changelog-db: a store that renames it gets a warning here, not a failure.
string(JSON ndb LENGTH "${json}" sizes 0 store_size databases)
string(JSON found GET "${json}" sizes 0 store_size changelog_found)
string(JSON log_bytes GET "${json}" sizes 0 store_size changelog_bytes)
string(JSON rest GET "${json}" sizes 0 store_size jobs_indexes_bytes)
string(JSON whole GET "${json}" sizes 0 store_size whole_bytes)
if(ndb LESS 2 OR NOT rest GREATER 0 OR whole LESS rest OR (found AND NOT log_bytes GREATER 0))
  message(FATAL_ERROR "cj-bench: store size split: ${ndb} databases, change log ${found} "
                      "${log_bytes} B, jobs+indexes ${rest} B of ${whole} B")
endif()
if(NOT found)
  message(WARNING "cj-bench: no change log database of the name cj-bench --changelog-db expects")
endif()

# Two sources, a third of the jobs added by quick puts after the passes: the daemon configured
# with both serves the same bytes for every query.
set(OUT2 ${OUT}.sources2.json)
file(REMOVE ${OUT2})
execute_process(COMMAND ${BENCH} --smoke --sources 2 --growth 33 --ingest-jobs 0 --sync-jobs 0
                        --copyjobd ${COPYJOBD} --json ${OUT2}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cj-bench --smoke --sources 2 exited with ${rc}")
endif()
file(READ ${OUT2} json2)
string(JSON n2 GET "${json2}" sources)
string(JSON smin GET "${json2}" sizes 0 source_jobs min)
string(JSON smax GET "${json2}" sizes 0 source_jobs max)
string(JSON growth GET "${json2}" sizes 0 growth_pct)
math(EXPR both "${smin} + ${smax}")
if(NOT n2 EQUAL 2 OR smin LESS 1 OR NOT both EQUAL 10000 OR NOT growth EQUAL 33)
  message(FATAL_ERROR "cj-bench --sources 2 --growth 33: sources=${n2}, jobs per source "
                      "${smin}..${smax}, growth ${growth}")
endif()
string(JSON nq2 LENGTH "${json2}" sizes 0 queries)
math(EXPR last "${nq2} - 1")
foreach(i RANGE ${last})
  string(JSON q MEMBER "${json2}" sizes 0 queries ${i})
  string(JSON same GET "${json2}" sizes 0 queries ${q} same_bytes)
  string(JSON rows GET "${json2}" sizes 0 queries ${q} rows)
  if(NOT same OR rows LESS 1)
    message(FATAL_ERROR "cj-bench --sources 2: ${q}: same bytes ${same}, ${rows} rows")
  endif()
endforeach()
message(STATUS "cj-bench smoke: JSON well formed, answers identical with 1 source and with 2 and growth, CPU, sync and store size figures present")
