/* threadpool.c: a process-wide pool of worker threads for batches.
 *
 * Created lazily on first use and grown on demand up to the configured
 * thread count.  The calling thread always works too (worker 0).  One job
 * runs at a time: a caller that finds the pool busy (another Python thread
 * with the GIL released) runs its job alone instead of waiting.
 * fork(): pthread_atfork handlers hold the pool's lock across fork() (never
 * a job: see busy); the child forgets the parent's threads (they do not
 * exist there) and starts its own on first use, so a forked child does not
 * deadlock.  The Python package also calls hfo_pool_shutdown before
 * os.fork() (register_at_fork), so a parent with no job running has no
 * idle workers when it forks (Python 3.12+ warns when a process with
 * several threads forks); the pool restarts on next use. */
#include "tok.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* One job at a time: 1 while a caller runs one (pool_acquire).  A flag, not
 * a mutex, because fork() must not wait for it: a job that streams lists
 * takes the GIL between rows, and the thread forking holds the GIL. */
static atomic_int busy;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;  /* pool state */
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_done = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define HFO_POOL_MAX 1024
static unsigned long start_gen[HFO_POOL_MAX + 1]; /* generation a worker was created in */
static pthread_t threads[HFO_POOL_MAX + 1];
static int stopping;           /* workers exit at the next wake-up (hfo_pool_shutdown) */
static int n_started;          /* background threads running (workers 1..n_started) */
static int configured;         /* 0: default */
static unsigned long generation;
static int job_pending;        /* background workers still busy with the job */
/* What a job is: written when it starts, then only read.  The words the
 * threads write while a job runs (the ranges' counters, wake_seq,
 * job_active) each have a cache line of their own, apart from it and from
 * each other: a thread polling one of them then does not pull away the line
 * another thread is about to write. */
static _Alignas(64) struct {
    hfo_pool_fn fn;
    void *ctx;
    int workers;               /* workers taking part, caller included */
    int n_ranges;              /* workers, or 1 for all (hfo_pool_run_in_order) */
    size_t share;              /* a claim: what is left in a range / share */
} job;
/* The items of worker w (run_items); one range for all in order */
typedef struct {
    _Alignas(64) atomic_size_t next;
    size_t end;
} pool_range;
static pool_range ranges[HFO_POOL_MAX + 1];
/* Bumped with every job and on shutdown: idle workers spin on it for a
 * moment before sleeping, so a caller tokenizing batch after batch does not
 * pay a wake-up per batch. */
static _Alignas(64) atomic_ulong wake_seq;
/* background workers still running items: the caller spins on it */
static _Alignas(64) atomic_int job_active;

#define SPIN_NS 150000   /* how long an idle worker spins before sleeping */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin (without the lock) until wake_seq moves past seq (seq_wait) or
 * job_active reaches 0 (!seq_wait), or SPIN_NS pass. */
static void spin_wait(int seq_wait, unsigned long seq)
{
    uint64_t until = 0;
    for (unsigned k = 1;; k++) {
        if (seq_wait ? atomic_load_explicit(&wake_seq, memory_order_acquire) != seq
                     : atomic_load_explicit(&job_active, memory_order_acquire) == 0)
            return;
        cpu_relax();
        if ((k & 63) == 0) {
            uint64_t t = now_ns();
            if (until == 0)
                until = t + SPIN_NS;
            else if (t >= until)
                return;
        }
    }
}

/* Each worker has a contiguous range of the items, [w n / W, (w + 1) n / W),
 * with a counter on a cache line of its own: it claims its items from the
 * front of its range in runs (a quarter of what is left there, at most
 * CLAIM_MAX, at least one), then helps the others, claiming from the fronts
 * of their ranges.  A worker thus takes the same rows of every job: the fill
 * of a batch's arrays runs on the core that encoded the rows, and memory a
 * worker wrote in one call (its rows' output, malloc'd again at the same
 * place) is still in its cache in the next.  With one counter for all
 * (rows going to whichever worker came first), English numpy calls on two
 * threads ran 10% slower.  Jobs whose items are consumed from the front
 * while they run (hfo_pool_run_in_order) keep one range that all share, in
 * runs of a quarter of each worker's share of what is left. */
#define CLAIM_MAX 32

static void run_range(pool_range *r, int worker)
{
    size_t end = r->end, share = job.share;
    hfo_pool_fn fn = job.fn;
    void *ctx = job.ctx;
    for (;;) {
        size_t seen = atomic_load_explicit(&r->next, memory_order_relaxed);
        if (seen >= end)
            return;
        size_t run = (end - seen) / share;
        run = run < 1 ? 1 : run > CLAIM_MAX ? CLAIM_MAX : run;
        size_t i = atomic_fetch_add_explicit(&r->next, run, memory_order_relaxed);
        size_t stop = i + run < end ? i + run : end;
        for (; i < stop; i++)
            fn(ctx, i, worker);
    }
}

static void run_items(int worker)
{
    for (int k = 0; k < job.n_ranges; k++)
        run_range(&ranges[(worker + k) % job.n_ranges], worker);
}

static void *worker_main(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned long seen;
    pthread_mutex_lock(&lock);
    /* created by a job that bumps the generation after creating us: that job
     * is ours too */
    seen = start_gen[me];
    for (;;) {
        while (generation == seen && !stopping)
            pthread_cond_wait(&cv_work, &lock);
        if (stopping)
            break;
        seen = generation;
        int mine = me < job.workers;
        if (mine) {
            pthread_mutex_unlock(&lock);
            run_items(me);
            pthread_mutex_lock(&lock);
            if (--job_pending == 0)
                pthread_cond_signal(&cv_done);
        }
        /* Done: the lock is let go before the caller (spinning on
         * job_active) can see it, so that the caller does not find it
         * taken and sleep on it; then wait for the next job spinning. */
        unsigned long seq = atomic_load_explicit(&wake_seq, memory_order_relaxed);
        pthread_mutex_unlock(&lock);
        if (mine)
            atomic_fetch_sub_explicit(&job_active, 1, memory_order_release);
        spin_wait(1, seq);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int pool_try_acquire(void)
{
    int idle = 0;
    return atomic_compare_exchange_strong(&busy, &idle, 1);
}

static void pool_release(void)
{
    atomic_store_explicit(&busy, 0, memory_order_release);
}

/* fork(): the pool's lock is only ever held for a moment (never while
 * waiting for anything else), so it is taken to fork a consistent state.  A
 * job running in the parent goes on there; the child, where only the
 * forking thread exists, forgets it and the parent's workers. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void atfork_child(void)
{
    n_started = 0;
    stopping = 0;
    atomic_store(&busy, 0);
    pthread_cond_init(&cv_work, NULL);
    pthread_cond_init(&cv_done, NULL);
    pthread_mutex_unlock(&lock);
}

static void init_once(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void hfo_pool_shutdown(void)
{
    pthread_once(&once, init_once);
    if (!pool_try_acquire())
        return;   /* a job runs: its workers stay */
    pthread_mutex_lock(&lock);
    int n = n_started;
    stopping = 1;
    atomic_fetch_add_explicit(&wake_seq, 1, memory_order_release);
    pthread_cond_broadcast(&cv_work);
    pthread_mutex_unlock(&lock);
    for (int i = 1; i <= n; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_lock(&lock);
    n_started = 0;
    stopping = 0;
    pthread_mutex_unlock(&lock);
    pool_release();
}

int hfo_pool_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void hfo_pool_set_threads(int n)
{
    pthread_mutex_lock(&lock);
    configured = n > 0 ? n : 0;
    pthread_mutex_unlock(&lock);
}

int hfo_pool_get_threads(void)
{
    pthread_mutex_lock(&lock);
    int n = configured;
    pthread_mutex_unlock(&lock);
    return n > 0 ? n : hfo_pool_default_threads();
}

static void pool_run(size_t n, int nthreads, hfo_pool_fn fn, void *ctx, int in_order)
{
    pthread_once(&once, init_once);
    if (nthreads > 1 && (size_t)nthreads > n)
        nthreads = (int)n;
    if (nthreads <= 1 || n < 2 || !pool_try_acquire()) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&lock);
    if (nthreads > HFO_POOL_MAX)
        nthreads = HFO_POOL_MAX;
    while (n_started < nthreads - 1) {
        start_gen[n_started + 1] = generation;
        int rc = pthread_create(&threads[n_started + 1], NULL, worker_main,
                                (void *)(intptr_t)(n_started + 1));
        if (rc != 0)
            break;
        n_started++;
    }
    if (nthreads - 1 > n_started)
        nthreads = n_started + 1;
    job.fn = fn;
    job.ctx = ctx;
    job.workers = nthreads;
    job.n_ranges = in_order ? 1 : nthreads;
    job.share = in_order ? 4 * (size_t)nthreads : 4;
    job_pending = nthreads - 1;
    atomic_store(&job_active, nthreads - 1);
    size_t per = n / (size_t)job.n_ranges, extra = n % (size_t)job.n_ranges, start = 0;
    for (int w = 0; w < job.n_ranges; w++) {
        atomic_store_explicit(&ranges[w].next, start, memory_order_relaxed);
        start += per + ((size_t)w < extra);
        ranges[w].end = start;
    }
    generation++;
    pthread_cond_broadcast(&cv_work);
    pthread_mutex_unlock(&lock);
    /* after the lock is let go: a spinning worker that sees this takes the
     * lock without finding it held */
    atomic_fetch_add_explicit(&wake_seq, 1, memory_order_release);
    run_items(0);
    spin_wait(0, 0);
    if (atomic_load_explicit(&job_active, memory_order_acquire) != 0) {
        pthread_mutex_lock(&lock);
        while (job_pending > 0)
            pthread_cond_wait(&cv_done, &lock);
        pthread_mutex_unlock(&lock);
        /* each worker is between its unlock and its job_active decrement,
         * which must land before the next job resets job_active */
        while (atomic_load_explicit(&job_active, memory_order_acquire) != 0)
            sched_yield();
    }
    pool_release();
}

void hfo_pool_run(size_t n, int nthreads, hfo_pool_fn fn, void *ctx)
{
    pool_run(n, nthreads, fn, ctx, 0);
}

void hfo_pool_run_in_order(size_t n, int nthreads, hfo_pool_fn fn, void *ctx)
{
    pool_run(n, nthreads, fn, ctx, 1);
}
