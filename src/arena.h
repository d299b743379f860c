/* arena.h — carving many buffers out of one allocation, in two passes (measure, then carve). */
#ifndef ATTN_ARENA_H
#define ATTN_ARENA_H

#include <stddef.h>

/* Returns base + *off (NULL while base is NULL: the measuring pass) and advances *off by n bytes
 * rounded up to 64, so that every piece of a 64-byte aligned base is 64-byte aligned. */
static inline void *attn_carve(char *base, size_t *off, size_t n)
{
    size_t at = *off;
    *off += (n + 63) & ~(size_t)63;
    return base ? base + at : NULL;
}

#endif
