# Runs cj-bench --smoke and checks that it wrote well-formed JSON with every part present.
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
if(NOT jobs EQUAL 10000 OR NOT nq EQUAL 13 OR NOT stored EQUAL 2000 OR ready LESS 1)
  message(FATAL_ERROR "cj-bench JSON incomplete: jobs=${jobs} queries=${nq} stored=${stored} ready=${ready}")
endif()
foreach(q newest_100 failed_30d_100 account_month_100 source_model_100 name_contains_100
          walk_failed_1000 get_by_arn time_window_100 oldest_100 status_account_100
          status_model_100 account_model_100 all_filters_asc_100)
  string(JSON same GET "${json}" sizes 0 queries ${q} same_bytes)
  if(NOT same)
    message(FATAL_ERROR "cj-bench: copyjobd and SQLite answered ${q} differently")
  endif()
endforeach()
# The filter combinations are chosen to match jobs: an empty answer compares nothing.
foreach(q time_window_100 oldest_100 status_account_100 status_model_100 account_model_100
          all_filters_asc_100)
  string(JSON rows GET "${json}" sizes 0 queries ${q} rows)
  if(rows LESS 1)
    message(FATAL_ERROR "cj-bench: ${q} matched no jobs")
  endif()
endforeach()
message(STATUS "cj-bench smoke: JSON well formed, 13 queries, answers identical")
