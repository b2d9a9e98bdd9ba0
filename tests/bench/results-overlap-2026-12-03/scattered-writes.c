/* SPDX-License-Identifier: MIT */
/* What the kernel charges for the bytes a 1,000,000-job sync writes, without LMDB: runs of 1-6
 * pages (4 KiB) written with pwritev at scattered offsets of a file that grows to F MiB, a
 * third of them at its end, from 256 MiB of source pages (cold in the caches, as a batch's
 * dirty pages are at commit), fdatasync every 3,000 calls. Usage: scattered-writes PATH
 * MIB_TO_WRITE FILE_MIB. Prints the process's user and system CPU. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

static double cpu_s(int system)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    struct timeval t = system ? r.ru_stime : r.ru_utime;
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    const size_t pg = 4096, nb = 65536;
    size_t total = strtoull(argv[2], NULL, 10) << 20;
    size_t file_pages = strtoull(argv[3], NULL, 10) << 8;
    char *buf = aligned_alloc(pg, pg * nb);
    if (!buf)
        return 1;
    memset(buf, 'y', pg * nb);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 1;
    unsigned long long x = 88172645463325252ULL, written = 0, calls = 0;
    double u0 = cpu_s(0), s0 = cpu_s(1);
    while (written < total) {
        size_t end = written / pg * file_pages / (total / pg); /* the file grows as writes go */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t run = 1 + x % 6, at = end > run ? (x >> 8) % (end - run + 1) : 0;
        if ((x >> 40) % 3 == 0)
            at = end;
        struct iovec iov[6];
        for (size_t i = 0; i < run; i++)
            iov[i] = (struct iovec){buf + ((calls * 7 + i) % nb) * pg, pg};
        if (pwritev(fd, iov, (int)run, (off_t)(at * pg)) < 0) {
            perror("pwritev");
            return 1;
        }
        written += run * pg;
        if (++calls % 3000 == 0)
            fdatasync(fd);
    }
    fdatasync(fd);
    printf("scattered: %llu MiB in %llu calls, file %zu MiB: user %.2f s sys %.2f s\n",
           written >> 20, calls, file_pages * pg >> 20, cpu_s(0) - u0, cpu_s(1) - s0);
    close(fd);
    unlink(argv[1]);
    return 0;
}
