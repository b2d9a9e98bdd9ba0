/* SPDX-License-Identifier: MIT */
/* The TCP listener's rules for browsers: a request is answered only when its Host names the
 * listener by a loopback name (localhost, 127.0.0.1, [::1]) or by the address it was
 * accepted on, with the listener's port, so that a DNS-rebinding page learns nothing; and a
 * request that carries an Origin must come from one of those same origins (http://HOST), so
 * that another site can neither start a sync nor hold event streams open. Requests on the
 * Unix socket are not checked: its permissions are the access control. */
#pragma once

#include "server-internal.h"

/* Returns 0 when req may be answered; 1 when it is refused, with a 403 AccessDeniedException
 * filled in reply; a negative errno when it cannot be told (then reply is untouched). */
int api_check_origin(struct cj_request *req, struct cj_reply *reply);
