package io.sparsetrain.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The fixed thread pool the kernels split their work over. The calling thread takes part, so a
 * pool of T threads holds T - 1 daemon workers. Tasks are handed out dynamically (an atomic
 * counter), so uneven tasks balance. A kernel called from inside a pool task runs inline.
 *
 * <p>The shared pool has {@link #DEFAULT_THREADS} threads unless the system property
 * {@value #THREADS_PROPERTY} says otherwise, and can be replaced with {@link #setShared(int)}.
 */
public final class KernelThreads implements AutoCloseable {

    /** System property: number of kernel threads (>= 1). */
    public static final String THREADS_PROPERTY = "sparsetrain.kernel.threads";
    /** All cores. */
    public static final int DEFAULT_THREADS = Runtime.getRuntime().availableProcessors();

    private static final ThreadLocal<Boolean> IN_POOL = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static volatile KernelThreads shared;

    private final int threads;
    private final ExecutorService pool;

    /** A pool of {@code threads} threads (the caller plus threads - 1 workers). */
    public KernelThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("kernel threads must be >= 1, got threads=" + threads);
        }
        this.threads = threads;
        AtomicInteger id = new AtomicInteger();
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(() -> {
                IN_POOL.set(Boolean.TRUE);
                r.run();
            }, "sparsetrain-kernel-" + id.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The shared pool (created on first use from {@value #THREADS_PROPERTY} or all cores). */
    public static KernelThreads shared() {
        KernelThreads s = shared;
        if (s == null) {
            synchronized (KernelThreads.class) {
                s = shared;
                if (s == null) {
                    s = new KernelThreads(threadsFromProperty());
                    shared = s;
                }
            }
        }
        return s;
    }

    /** Replaces the shared pool by one of {@code threads} threads (the old one is shut down). */
    public static synchronized void setShared(int threads) {
        KernelThreads old = shared;
        if (old != null && old.threads == threads) {
            return;
        }
        shared = new KernelThreads(threads);
        if (old != null) {
            old.close();
        }
    }

    static int threadsFromProperty() {
        String v = System.getProperty(THREADS_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_THREADS;
        }
        try {
            int t = Integer.parseInt(v.trim());
            if (t < 1) {
                throw new IllegalArgumentException(THREADS_PROPERTY + " must be >= 1, got " + v);
            }
            return t;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(THREADS_PROPERTY + " must be an integer >= 1, got '" + v + "'", e);
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} with every {@link #parallelFor} inside it (on any pool) done on the calling thread: for
     * work too small to pay for handing tasks to the pool and waiting for them.
     */
    public static <T> T inline(Supplier<T> body) {
        Boolean was = IN_POOL.get();
        IN_POOL.set(Boolean.TRUE);
        try {
            return body.get();
        } finally {
            IN_POOL.set(was);
        }
    }

    /**
     * Runs {@code body.accept(i)} for i in [0, tasks) on the pool and the calling thread; returns
     * when all are done. The first exception thrown by a task is rethrown.
     */
    public void parallelFor(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        int workers = Math.min(threads, tasks) - 1;
        if (workers <= 0 || pool == null || IN_POOL.get()) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable runner = () -> {
            for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
                body.accept(i);
            }
        };
        List<Future<?>> futures = new ArrayList<>(workers);
        for (int w = 0; w < workers; w++) {
            futures.add(pool.submit(runner));
        }
        Throwable failure = null;
        IN_POOL.set(Boolean.TRUE);
        try {
            runner.run();
        } catch (RuntimeException | Error e) {
            failure = e;
            next.set(tasks); // stop handing out tasks
        } finally {
            IN_POOL.set(Boolean.FALSE);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException("kernel task failed", failure);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    @Override
    public String toString() {
        return "KernelThreads{threads=" + threads + "}";
    }
}
