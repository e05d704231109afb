package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(120) // a lost wake-up would hang the pool: fail instead
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

    /** Both ways of waiting: parking at once, and spinning (jobs back to back find the worker awake). */
    @ParameterizedTest
    @ValueSource(longs = {0, 1000})
    void runsManyJobsBackToBackOnBothThreads(long spinMicros) {
        try (KernelThreads pool = new KernelThreads(2, spinMicros)) {
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            for (int job = 0; job < 2000; job++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(3);
                CountDownLatch both = new CountDownLatch(2);
                pool.parallelFor(3, i -> {
                    hits.incrementAndGet(i);
                    seen.add(Thread.currentThread());
                    if (i < 2) {
                        both.countDown(); // the first two tasks meet: two threads take part
                        try {
                            both.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                for (int i = 0; i < 3; i++) {
                    assertEquals(1, hits.get(i), "job " + job + " task " + i);
                }
                assertEquals(0, both.getCount(), "job " + job + ": its first two tasks ran at the same time");
            }
            assertEquals(2, seen.size(), "the caller and the worker");
        }
    }

    @Test
    void concurrentCallersEachRunAllTheirTasks() throws Exception {
        try (KernelThreads pool = new KernelThreads(2)) {
            int callers = 4;
            CyclicBarrier start = new CyclicBarrier(callers);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            AtomicIntegerArray hits = new AtomicIntegerArray(callers * 500 * 8);
            for (int c = 0; c < callers; c++) {
                int caller = c;
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        for (int job = 0; job < 500; job++) {
                            int base = (caller * 500 + job) * 8;
                            pool.parallelFor(8, i -> hits.incrementAndGet(base + i));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join(60_000);
                assertTrue(!t.isAlive(), "caller finished");
            }
            assertEquals(null, failure.get());
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(1, hits.get(i), "task " + i);
            }
        }
    }

    @Test
    void closeStopsTheWorkersAndLaterJobsRunOnTheCaller() throws InterruptedException {
        KernelThreads pool = new KernelThreads(3, 1000);
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        CountDownLatch all = new CountDownLatch(3);
        pool.parallelFor(3, i -> {
            ran.add(Thread.currentThread());
            all.countDown(); // each task waits for the other two: three threads
            try {
                all.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        ran.remove(Thread.currentThread());
        assertEquals(2, ran.size(), "two workers besides the caller");
        pool.close();
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        pool.parallelFor(6, i -> seen.add(Thread.currentThread()));
        assertEquals(Set.of(Thread.currentThread()), seen, "after close every task on the caller");
        for (Thread t : ran) {
            t.join(10_000);
            assertTrue(!t.isAlive(), t.getName() + " ended after close");
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
            System.setProperty(KernelThreads.THREADS_PROPERTY, "3000000000");
            assertEquals(KernelThreads.THREADS_PROPERTY + " must be an integer >= 1, got '3000000000'",
                    assertThrows(IllegalArgumentException.class, KernelThreads::threadsFromProperty).getMessage());
            assertEquals(Long.MAX_VALUE, new KernelThreads(1, Long.MAX_VALUE).spinNanos(), "saturates");
            System.setProperty(KernelThreads.SPIN_PROPERTY, "250");
            assertEquals(250, KernelThreads.spinMicrosFromProperty());
            assertEquals(250_000, new KernelThreads(1).spinNanos());
            System.setProperty(KernelThreads.SPIN_PROPERTY, "-1");
            IllegalArgumentException spin = assertThrows(IllegalArgumentException.class, KernelThreads::spinMicrosFromProperty);
            assertEquals(KernelThreads.SPIN_PROPERTY + " must be >= 0, got -1", spin.getMessage());
            System.setProperty(KernelThreads.SPIN_PROPERTY, "soon");
            assertThrows(IllegalArgumentException.class, KernelThreads::spinMicrosFromProperty);
            System.clearProperty(KernelThreads.SPIN_PROPERTY);
            assertEquals(KernelThreads.DEFAULT_SPIN_MICROS, KernelThreads.spinMicrosFromProperty());
            assertThrows(IllegalArgumentException.class, () -> new KernelThreads(2, -5));
        } finally {
            System.clearProperty(KernelThreads.SPIN_PROPERTY);
            if (old == null) {
                System.clearProperty(KernelThreads.THREADS_PROPERTY);
            } else {
                System.setProperty(KernelThreads.THREADS_PROPERTY, old);
            }
        }
    }
}
