package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class KernelThreadsTest {

    @Test
    void runsEveryTaskOnceIncludingNested() {
        try (KernelThreads pool = new KernelThreads(3)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.parallelFor(10, i -> pool.parallelFor(10, j -> hits.incrementAndGet(i * 10 + j)));
            for (int i = 0; i < 100; i++) {
                assertEquals(1, hits.get(i), "task " + i);
            }
        }
    }

    @Test
    void inlineRunsEveryTaskOnTheCallerAndThenThePoolAgain() throws InterruptedException {
        try (KernelThreads pool = new KernelThreads(2)) {
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            AtomicIntegerArray hits = new AtomicIntegerArray(20);
            int r = KernelThreads.inline(() -> {
                pool.parallelFor(20, i -> {
                    seen.add(Thread.currentThread());
                    hits.incrementAndGet(i);
                });
                return 7;
            });
            assertEquals(7, r);
            assertEquals(Set.of(Thread.currentThread()), seen, "inline: every task on the calling thread");
            for (int i = 0; i < 20; i++) {
                assertEquals(1, hits.get(i), "task " + i);
            }
            // afterwards two tasks run at the same time again: each waits until both have started
            CountDownLatch both = new CountDownLatch(2);
            Set<Boolean> met = ConcurrentHashMap.newKeySet();
            pool.parallelFor(2, i -> {
                both.countDown();
                try {
                    met.add(both.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertEquals(Set.of(true), met, "after inline the pool runs tasks in parallel");
        }
    }

    @Test
    void rethrowsTaskFailures() {
        try (KernelThreads pool = new KernelThreads(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.parallelFor(8, i -> {
                if (i == 5) {
                    throw new IllegalStateException("task 5 failed");
                }
            }));
            assertEquals("task 5 failed", e.getMessage());
        }
    }

    @Test
    void validatesThreadCounts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KernelThreads(0));
        assertEquals("kernel threads must be >= 1, got threads=0", e.getMessage());
        String old = System.getProperty(KernelThreads.THREADS_PROPERTY);
        try {
            System.setProperty(KernelThreads.THREADS_PROPERTY, "3");
            assertEquals(3, KernelThreads.threadsFromProperty());
            System.setProperty(KernelThreads.THREADS_PROPERTY, "many");
            assertThrows(IllegalArgumentException.class, KernelThreads::threadsFromProperty);
        } finally {
            if (old == null) {
                System.clearProperty(KernelThreads.THREADS_PROPERTY);
            } else {
                System.setProperty(KernelThreads.THREADS_PROPERTY, old);
            }
        }
    }
}
