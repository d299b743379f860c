/* threadpool.h — a small pool of worker threads that run numbered tasks in parallel.
 *
 * tp_run(pool, fn, ctx, n_tasks) calls fn(ctx, task, thread) for every task in [0, n_tasks) on the
 * caller's thread (thread 0) and the pool's workers (threads 1..n-1), each task exactly once, and
 * returns when all are done.  The thread index lets tasks use per-thread scratch memory.
 * Tasks are claimed one at a time from a shared counter, so uneven or descheduled threads
 * balance themselves.  Workers spin briefly between runs (a decoder step runs dozens of short
 * parallel regions) and then sleep.  One pool serves one caller thread at a time.
 *
 * The pool is the only place libattn starts threads: the engine's layers, the model-file
 * loader's inflate jobs and the writer's compress jobs all run on one.
 */
#ifndef ATTN_THREADPOOL_H
#define ATTN_THREADPOOL_H

typedef struct tp_pool tp_pool;
typedef void (*tp_fn)(void *ctx, int task, int thread);

/* Starts a pool of n_threads - 1 workers (the caller is the n-th); returns 0, or -1 when memory
 * or threads cannot be had. */
int tp_open(tp_pool **out, int n_threads);

/* Stops and frees the pool (NULL is fine). */
void tp_free(tp_pool *p);

/* Runs fn(ctx, task, thread) for each task in [0, n_tasks) on all threads; returns when all are
 * done. */
void tp_run(tp_pool *p, tp_fn fn, void *ctx, int n_tasks);

/* Returns the number of threads, the caller included. */
int tp_threads(const tp_pool *p);

#endif
