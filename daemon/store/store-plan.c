/* SPDX-License-Identifier: MIT */
/* Which index answers a query. A source model ARN names few jobs, an account more, a
 * status a third of everything; time alone is the fallback. The filters the chosen index
 * does not serve are checked on the row header. */
#include "store-internal.h"

enum cj_index cj_query_plan(const struct cj_query *q)
{
    if (q->source_model_arn)
        return CJ_INDEX_MODEL_TIME;
    if (q->source_account)
        return CJ_INDEX_ACCOUNT_TIME;
    if (q->has_status)
        return CJ_INDEX_STATUS_TIME;
    return CJ_INDEX_TIME;
}
