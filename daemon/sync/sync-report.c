/* SPDX-License-Identifier: MIT */
#include "sync-report.h"

#include <inttypes.h>

#include "log.h"

void sync_report_log(const struct cj_sync_report *r)
{
    const char *kind = r->kind ? r->kind : "quick";
    const char *type = r->error_type && r->error_type[0] ? r->error_type : "Error";
    const char *source = r->source ? r->source : "";
    const char *open = r->source ? " [" : "", *close = r->source ? "]" : "";
    const struct cj_log_field *fields = CJ_LOG_FIELDS(
        CJ_LOG_STR("MESSAGE_ID", r->result == 0 ? CJ_SYNC_MESSAGE_OK : CJ_SYNC_MESSAGE_FAILED),
        CJ_LOG_STR(r->source ? "SYNC_SOURCE" : "", source), CJ_LOG_STR("SYNC_KIND", kind),
        CJ_LOG_STR("SYNC_RESULT", r->result == 0 ? "ok" : "failed"),
        CJ_LOG_NUM("JOB_COUNT", r->jobs), CJ_LOG_NUM("JOBS_CREATED", r->created),
        CJ_LOG_NUM("JOBS_UPDATED", r->updated), CJ_LOG_NUM("JOBS_REMOVED", r->removed),
        CJ_LOG_NUM("JOBS_SKIPPED", r->skipped), CJ_LOG_NUM("API_REQUESTS", r->requests),
        CJ_LOG_NUM("PAGES", r->pages), CJ_LOG_NUM("SYNC_DURATION_USEC", r->duration_usec),
        /* A bad key is dropped, so on success these two vanish from the entry. */
        CJ_LOG_STR(r->result == 0 ? "" : "ERROR_TYPE", type));

    if (r->result == 0) {
        log_struct(LOG_INFO, fields,
                   "sync: %s pass ok%s%s%s: %" PRIu64 " jobs (%" PRIu64 " created, %" PRIu64
                   " updated, %" PRIu64 " removed) in %" PRIu64 " ms, %" PRIu64 " requests",
                   kind, open, source, close, r->jobs, r->created, r->updated, r->removed,
                   r->duration_usec / 1000, r->requests);
        if (r->skipped)
            log_warning("sync: %" PRIu64 " invalid job summaries were skipped (not stored)%s%s%s",
                        r->skipped, open, source, close);
    } else {
        log_struct_errno(LOG_WARNING, r->result, fields,
                         "sync: %s pass failed%s%s%s after %" PRIu64 " requests (%" PRIu64
                         " pages kept, %s): %s: %s",
                         kind, open, source, close, r->requests, r->pages,
                         r->removed ? "only jobs found gone removed" : "nothing removed", type,
                         r->error_message ? r->error_message : "");
    }
}
