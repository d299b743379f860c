/* threadpool.c — worker threads that share a task counter (see threadpool.h). */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Spin iterations before a waiting thread sleeps or yields (a few tens of microseconds). */
#define TP_SPIN 20000

struct tp_worker {
    struct tp_pool *pool;
    int index;                      /* 1..n_threads-1 */
};

struct tp_pool {
    int n_threads;
    pthread_t *workers;             /* (n_threads - 1) */
    struct tp_worker *args;         /* (n_threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;         /* bumped by each tp_run */
    atomic_int next_task;
    atomic_int finished;            /* workers done with the current generation */
    atomic_int stop;
    int n_tasks;
    tp_fn fn;
    void *ctx;
};

/* Tells the CPU that this is a spin-wait loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs tasks of the current generation until none is left. */
static void run_tasks(tp_pool *p, int thread)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next_task, 1);
        if (t >= p->n_tasks)
            return;
        p->fn(p->ctx, t, thread);
    }
}

/* A worker: waits for a new generation, helps run it, reports completion; returns at stop. */
static void *worker_main(void *arg)
{
    struct tp_worker *me = arg;
    tp_pool *p = me->pool;
    unsigned seen = 0;
    for (;;) {
        int spin = 0;
        while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop) && spin < TP_SPIN) {
            cpu_relax();
            spin++;
        }
        if (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = atomic_load(&p->generation);
        run_tasks(p, me->index);
        atomic_fetch_add(&p->finished, 1);
    }
}

int tp_open(tp_pool **out, int n_threads)
{
    *out = NULL;
    if (n_threads < 1)
        return -1;
    tp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->n_threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        p->args = calloc((size_t)n_threads - 1, sizeof *p->args);
        if (!p->workers || !p->args) {
            tp_free(p);
            return -1;
        }
        for (int i = 0; i < n_threads - 1; i++) {
            p->args[i].pool = p;
            p->args[i].index = i + 1;
            if (pthread_create(&p->workers[i], NULL, worker_main, &p->args[i]) != 0) {
                tp_free(p);
                return -1;
            }
            p->n_threads++;
        }
    }
    *out = p;
    return 0;
}

void tp_free(tp_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->args);
    free(p);
}

void tp_run(tp_pool *p, tp_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks <= 0)
        return;
    if (p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->next_task, 0);
    atomic_store(&p->finished, 0);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    int spin = 0;
    while (atomic_load(&p->finished) < p->n_threads - 1) {
        if (++spin < TP_SPIN)
            cpu_relax();
        else
            sched_yield();
    }
}

int tp_threads(const tp_pool *p)
{
    return p->n_threads;
}
