/* alloc_count.h — allocation counting for the tests that check that a loop allocates nothing.
 *
 * A test program includes it once: it replaces malloc, calloc, realloc and aligned_alloc (glibc
 * allows it) with counters around glibc's own allocator.  While counting is 1, every call adds
 * one to n_allocs.  Under AddressSanitizer, which owns malloc, nothing is replaced and
 * COUNT_ALLOCS is 0: the tests skip the check and say so.
 */
#ifndef ATTN_TEST_ALLOC_COUNT_H
#define ATTN_TEST_ALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
static int counting;
static long n_allocs;

void *malloc(size_t n)
{
    n_allocs += counting;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    n_allocs += counting;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    n_allocs += counting;
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    n_allocs += counting;
    return __libc_memalign(align, n);
}
#endif

#endif
