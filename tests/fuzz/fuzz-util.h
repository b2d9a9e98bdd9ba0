/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: the entry points' prototypes, CHECK, and the usual
 * initialisation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Not assert(): release builds define NDEBUG, and a fuzz check must always run. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Defines an LLVMFuzzerInitialize that only silences the logs below LOG_CRIT: the inputs
 * make the code under test log an error for nearly every run. */
#define FUZZ_QUIET_INITIALIZE()                                                                    \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        cj_log_set_max_level(LOG_CRIT);                                                            \
        return 0;                                                                                  \
    }
