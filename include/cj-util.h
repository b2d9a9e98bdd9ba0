/* SPDX-License-Identifier: MIT */
/* Small helpers shared by copyjobd and copyjobctl: scoped cleanup, array sizes, key-value
 * pairs. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define ELEMENTSOF(x)  (sizeof(x) / sizeof((x)[0]))
#define STRLEN(s)      (sizeof(s) - 1)

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

/* A borrowed key and value, e.g. a query parameter or a header. value NULL: the key has no
 * value. */
struct cj_kv {
    const char *key;
    const char *value;
};

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _taken = (p);                                                                \
        (p) = NULL;                                                                                \
        _taken;                                                                                    \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _taken = (fd);                                                                         \
        (fd) = -1;                                                                                 \
        _taken;                                                                                    \
    })

/* Overwrites memory that held a secret; the compiler may not elide it. */
static inline void cj_explicit_zero(void *p, size_t n)
{
    if (p && n) {
        __builtin_memset(p, 0, n);
        __asm__ __volatile__("" : : "r"(p) : "memory");
    }
}
