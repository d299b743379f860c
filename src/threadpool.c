/* threadpool.c — worker threads that share a task counter (see threadpool.h).
 *
 * One 64-bit atomic word holds the run's generation (high half) and the next unclaimed task (low
 * half).  A thread claims a task with a compare-and-swap that succeeds only while the generation
 * is unchanged, so a worker that wakes late can never run a task of another run.  The caller waits
 * until every task is done, not until every worker has checked in: a worker that the OS has
 * descheduled (the machine may be busy with other processes) delays a run only if it holds a task.
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Spin iterations before a waiting thread sleeps or yields (tens of microseconds). */
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
    _Atomic uint64_t state;         /* generation << 32 | next task */
    atomic_int done;                /* tasks finished in the current generation */
    atomic_int stop;
    int n_tasks;                    /* of the current generation; set before state publishes it */
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

/* Claims and runs tasks of generation gen until none is left or the generation changes. */
static void run_tasks(tp_pool *p, uint32_t gen, int thread)
{
    uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(s >> 32) != gen)
            return;
        uint32_t t = (uint32_t)s;
        /* read before the claim: they cannot change while a task of gen is unclaimed */
        int n = p->n_tasks;
        tp_fn fn = p->fn;
        void *ctx = p->ctx;
        if (t >= (uint32_t)n)
            return;
        if (atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            fn(ctx, (int)t, thread);
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
            s = atomic_load_explicit(&p->state, memory_order_acquire);
        }
    }
}

/* A worker: waits for a new generation, helps run it; returns at stop. */
static void *worker_main(void *arg)
{
    struct tp_worker *me = arg;
    tp_pool *p = me->pool;
    uint32_t seen = 0;
    for (;;) {
        int spin = 0;
        uint32_t gen;
        while ((gen = (uint32_t)(atomic_load(&p->state) >> 32)) == seen && !atomic_load(&p->stop)) {
            if (++spin < TP_SPIN) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while ((uint32_t)(atomic_load(&p->state) >> 32) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen;
        run_tasks(p, gen, me->index);
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
    /* retire the previous run before its fields change: a worker that read that run's state word
     * (every task claimed) and then this run's larger n_tasks could otherwise claim a task past
     * its end; now that compare-and-swap fails, and a worker reading the retired word finds no
     * task left (UINT32_MAX >= any n_tasks) */
    uint32_t gen = (uint32_t)(atomic_load(&p->state) >> 32) + 1;
    atomic_store(&p->state, (uint64_t)gen << 32 | UINT32_MAX);
    gen++;
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->state, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, gen, 0);
    int spin = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks) {
        if (++spin < TP_SPIN / 10)
            cpu_relax();
        else
            sched_yield();
    }
}

int tp_threads(const tp_pool *p)
{
    return p->n_threads;
}
