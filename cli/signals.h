/* SPDX-License-Identifier: MIT */
#pragma once

/* SIGINT and SIGTERM end the request in flight (it returns -ECANCELED) instead of the
 * process, so a long-running command can clean up and choose its exit code. */
int ctl_catch_interrupts(void);
