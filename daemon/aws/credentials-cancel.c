/* SPDX-License-Identifier: MIT */
/* A lookup that another thread may abandon. The flag is per thread, so that the sources that
 * wait (a credential_process, an HTTP request) can poll it without a parameter threaded
 * through every source of the chain. */
#include <errno.h>

#include "credentials-internal.h"

static _Thread_local const atomic_bool *cancel_flag;

bool aws_cred_cancelled(void)
{
    return cancel_flag && atomic_load_explicit(cancel_flag, memory_order_acquire);
}

const atomic_bool *aws_cred_set_cancel(const atomic_bool *cancel)
{
    const atomic_bool *old = cancel_flag;
    cancel_flag = cancel;
    return old;
}

int cj_credentials_load_cancellable(const char *profile, const atomic_bool *cancel,
                                    struct cj_aws_credentials *ret, char *source, size_t sourcelen)
{
    const struct cj_credentials_options o = {.profile = profile, .cancel = cancel};
    return cj_credentials_load_with(&o, ret, source, sourcelen);
}
