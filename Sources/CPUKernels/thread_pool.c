// The CPU backend's workers: threads that stay awake for a moment after each
// parallel loop, so the next one starts at once.
//
// libdispatch's concurrentPerform, which the loops used before, hands work to
// threads that have gone to sleep: on the 2-core VMs the second share of every
// loop started ~40 µs late (a futex wake and a vCPU reschedule), the loop's
// whole time when an op lasts 0.1–0.5 ms (BERT at 128 tokens: ~150 loops per
// forward). Here workers spin on a generation counter for `SPIN_NS` after
// their last task, then sleep on it as a futex; the caller wakes sleepers
// only when there are any. An idle process therefore burns no CPU after a
// fraction of a millisecond, unlike OpenBLAS's threads (0.1 s of sched_yield).
//
// One loop at a time: a caller that finds the pool busy (a nested loop, or a
// second thread of the process computing) gets 0 back and runs its loop
// another way.
#define _GNU_SOURCE
#include "cpu_kernels.h"

#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_WORKERS = 255,
    PARTICIPANT_BITS = 9,  // a loop's word: its serial number above, its participants below
    SPIN_NS = 300 * 1000,  // long enough to bridge the serial ops between two loops
};

static struct {
    pthread_mutex_t lock;          // held by the thread running a loop
    int threads;                   // workers started (the caller is not one)
    // One word per loop, the futex word: a serial number and how many take
    // part (the caller and workers 1…n-1), published together so that a
    // worker slow to wake can never pair one loop's count with another's.
    _Atomic unsigned generation;
    _Atomic int sleepers;          // workers waiting on the futex
    _Atomic int pending;           // participating workers still running this loop
    sdgen_pool_task task;          // stable until every participant is done
    void *context;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void futex_wait(_Atomic unsigned *word, unsigned expected) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *word) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *worker_main(void *argument) {
    // The index, and the loop word when the thread was made: a loop may be
    // published before the thread first looks, and it must not miss it.
    const int index = (int)((uintptr_t)argument & 0xffff);
    unsigned seen = (unsigned)((uintptr_t)argument >> 32);
    for (;;) {
        // Spin for the next loop, checking the clock every 64 pauses…
        const uint64_t start = now_ns();
        unsigned generation;
        for (int spins = 1;; spins++) {
            generation = atomic_load_explicit(&pool.generation, memory_order_acquire);
            if (generation != seen) break;
            _mm_pause();
            if (spins % 64 == 0 && now_ns() - start > SPIN_NS) {
                // …then sleep. Counting ourselves a sleeper before the last
                // look at the generation pairs with the caller bumping it
                // before looking at the sleepers: one of the two sees the other.
                atomic_fetch_add(&pool.sleepers, 1);
                while ((generation = atomic_load(&pool.generation)) == seen) futex_wait(&pool.generation, seen);
                atomic_fetch_sub(&pool.sleepers, 1);
                break;
            }
        }
        seen = generation;
        if (index < (int)(generation & ((1u << PARTICIPANT_BITS) - 1))) {
            pool.task(pool.context, index);
            atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
        }
    }
    return NULL;
}

int sdgen_pool_run(int participants, sdgen_pool_task task, void *context) {
    if (participants < 2 || participants > MAX_WORKERS + 1) return 0;
    if (pthread_mutex_trylock(&pool.lock) != 0) return 0;
    while (pool.threads < participants - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 8 << 20);  // Swift closures run here, as on the caller
        const int started = pthread_create(&thread, &attributes, worker_main,
                                           (void *)((uintptr_t)atomic_load(&pool.generation) << 32
                                                    | (uintptr_t)(pool.threads + 1)));
        pthread_attr_destroy(&attributes);
        if (started != 0) {
            pthread_mutex_unlock(&pool.lock);
            return 0;
        }
        pool.threads++;
    }
    pool.task = task;
    pool.context = context;
    atomic_store(&pool.pending, participants - 1);
    const unsigned serial = (atomic_load(&pool.generation) >> PARTICIPANT_BITS) + 1;
    atomic_store(&pool.generation, serial << PARTICIPANT_BITS | (unsigned)participants);  // publishes the fields above
    if (atomic_load(&pool.sleepers) > 0) futex_wake_all(&pool.generation);
    task(context, 0);
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) _mm_pause();
    pthread_mutex_unlock(&pool.lock);
    return 1;
}
