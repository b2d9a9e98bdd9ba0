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

int cj_credentials_load_cancellable(const char *profile, const atomic_bool *cancel,
                                    struct cj_aws_credentials *ret, char *source, size_t sourcelen)
{
    cancel_flag = cancel;
    int r = cj_credentials_load_for_profile(profile, ret, source, sourcelen);
    bool cancelled = aws_cred_cancelled();
    cancel_flag = NULL;
    if (cancelled) {
        cj_credentials_done(ret);
        if (source && sourcelen > 0)
            source[0] = '\0';
        return -ECANCELED;
    }
    return r;
}
