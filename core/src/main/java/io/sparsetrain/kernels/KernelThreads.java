package io.sparsetrain.kernels;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The fixed thread pool the kernels split their work over. The calling thread takes part, so a
 * pool of T threads holds T - 1 daemon workers. Tasks are handed out dynamically (an atomic
 * counter), so uneven tasks balance. A kernel called from inside a pool task runs inline, and so
 * does one called while another thread's {@link #parallelFor} holds the pool (its cores are busy).
 *
 * <p>Between jobs a worker waits for the next one by spinning for {@link #spinNanos()} (yielding the
 * core to other runnable threads after the first few microseconds), then parks. A parked worker
 * takes about 50-90 microseconds to wake up on this machine's virtual CPUs (measured:
 * BENCHMARKS.md, session 15), a tenth of a ResNet-20 convolution's time on two threads;
 * back-to-back kernels find a spinning worker awake. The caller waits for the workers' last tasks
 * the same way. {@value #SPIN_PROPERTY} = 0 parks at once.
 *
 * <p>The shared pool has {@link #DEFAULT_THREADS} threads unless the system property
 * {@value #THREADS_PROPERTY} says otherwise, and can be replaced with {@link #setShared(int)}.
 */
public final class KernelThreads implements AutoCloseable {

    /** System property: number of kernel threads (>= 1). */
    public static final String THREADS_PROPERTY = "sparsetrain.kernel.threads";
    /** System property: microseconds an idle worker (or a caller waiting for the workers) spins before parking. */
    public static final String SPIN_PROPERTY = "sparsetrain.kernel.spinMicros";
    /** All cores. */
    public static final int DEFAULT_THREADS = Runtime.getRuntime().availableProcessors();
    /** Default spin before parking: 1 ms. */
    public static final long DEFAULT_SPIN_MICROS = 1000;
    /** Pure spinning (no yield) for this long at the start of a wait. */
    private static final long BUSY_NANOS = 20_000;

    private static final ThreadLocal<Boolean> IN_POOL = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static volatile KernelThreads shared;

    private final int threads;
    private final long spinNanos;
    private final Worker[] workers;
    /** Held by the caller whose job the workers are running. */
    private final ReentrantLock dispatch = new ReentrantLock();
    /** The job the workers are to run next (or are running); each job is a new object. */
    private final AtomicReference<Job> current = new AtomicReference<>();
    private volatile boolean closed;

    /** A pool of {@code threads} threads (the caller plus threads - 1 workers), spinning as the system property says. */
    public KernelThreads(int threads) {
        this(threads, spinMicrosFromProperty());
    }

    /** A pool of {@code threads} threads whose idle workers spin for {@code spinMicros} before parking. */
    public KernelThreads(int threads, long spinMicros) {
        if (threads < 1) {
            throw new IllegalArgumentException("kernel threads must be >= 1, got threads=" + threads);
        }
        if (spinMicros < 0) {
            throw new IllegalArgumentException("kernel spin must be >= 0 microseconds, got spinMicros=" + spinMicros);
        }
        this.threads = threads;
        this.spinNanos = TimeUnit.MICROSECONDS.toNanos(spinMicros); // saturates
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i);
        }
        for (Worker w : workers) {
            w.thread.start();
        }
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
        return (int) longProperty(THREADS_PROPERTY, DEFAULT_THREADS, 1, Integer.MAX_VALUE);
    }

    static long spinMicrosFromProperty() {
        return longProperty(SPIN_PROPERTY, DEFAULT_SPIN_MICROS, 0, Long.MAX_VALUE);
    }

    /** System property {@code name} as a whole number in [min, max], or {@code dflt} when unset. */
    private static long longProperty(String name, long dflt, long min, long max) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        long t;
        try {
            t = Long.parseLong(v.trim());
            if (t > max) {
                throw new NumberFormatException("past " + max);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer >= " + min + ", got '" + v + "'", e);
        }
        if (t < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", got " + v);
        }
        return t;
    }

    public int threads() {
        return threads;
    }

    /** Nanoseconds an idle worker spins before parking. */
    public long spinNanos() {
        return spinNanos;
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
        int helpers = Math.min(threads, tasks) - 1;
        if (helpers <= 0 || IN_POOL.get() || !dispatch.tryLock()) {
            runInline(tasks, body);
            return;
        }
        Job job = new Job(tasks, body, helpers, Thread.currentThread());
        try {
            if (closed) {
                runInline(tasks, body);
                return;
            }
            current.set(job);
            for (int w = 0; w < helpers; w++) {
                workers[w].wake();
            }
            IN_POOL.set(Boolean.TRUE);
            try {
                job.run();
            } finally {
                IN_POOL.set(Boolean.FALSE);
            }
            job.awaitHelpers(spinNanos);
        } finally {
            current.set(null);
            dispatch.unlock();
        }
        Throwable failure = job.failure.get();
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

    private static void runInline(int tasks, IntConsumer body) {
        for (int i = 0; i < tasks; i++) {
            body.accept(i);
        }
    }

    /** Stops the workers (after the job in progress, if any); later jobs run on their callers. */
    @Override
    public void close() {
        dispatch.lock();
        try {
            closed = true;
        } finally {
            dispatch.unlock();
        }
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
    }

    @Override
    public String toString() {
        return "KernelThreads{threads=" + threads + ", spinMicros=" + spinNanos / 1000 + "}";
    }

    /** Waits while {@code idle} holds: spins, then spins yielding, then (after {@code spinNanos}) parks. */
    private static void await(BooleanSupplier idle, long spinNanos, Runnable beforePark, Runnable afterPark,
                              BooleanSupplier stop) {
        long start = System.nanoTime();
        while (idle.getAsBoolean() && !stop.getAsBoolean()) {
            long spent = System.nanoTime() - start;
            if (spent < BUSY_NANOS && spent < spinNanos) {
                Thread.onSpinWait();
            } else if (spent < spinNanos) {
                Thread.yield();
            } else {
                beforePark.run();
                try {
                    if (idle.getAsBoolean() && !stop.getAsBoolean()) {
                        LockSupport.park();
                    }
                } finally {
                    afterPark.run();
                }
            }
        }
    }

    /** One parallelFor: its tasks, the workers still to finish, the first failure. */
    private static final class Job {
        final int tasks;
        final IntConsumer body;
        /** Workers 0 .. helpers - 1 take part. */
        final int helpers;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger helpersLeft;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread caller;
        volatile boolean callerParked;

        Job(int tasks, IntConsumer body, int helpers, Thread caller) {
            this.tasks = tasks;
            this.body = body;
            this.helpers = helpers;
            this.helpersLeft = new AtomicInteger(helpers);
            this.caller = caller;
        }

        /** Takes tasks until none are left; a failure stops the handing out. */
        void run() {
            try {
                for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
                    body.accept(i);
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
                next.set(tasks);
            }
        }

        void helperDone() {
            if (helpersLeft.decrementAndGet() == 0 && callerParked) {
                LockSupport.unpark(caller);
            }
        }

        void awaitHelpers(long spinNanos) {
            KernelThreads.await(() -> helpersLeft.get() > 0, spinNanos, () -> callerParked = true,
                    () -> callerParked = false, () -> false);
        }
    }

    /** A worker: runs each new job once (worker i joins only the jobs that ask for more than i helpers). */
    private final class Worker {
        final Thread thread;
        final int index;
        volatile boolean parked;
        private Job last;

        Worker(int index) {
            this.index = index;
            this.thread = new Thread(this::loop, "sparsetrain-kernel-" + (index + 1));
            thread.setDaemon(true);
        }

        void wake() {
            if (parked) {
                LockSupport.unpark(thread);
            }
        }

        /** The current job if this worker is one of its helpers and has not run it yet, else null. */
        private Job mine() {
            Job j = current.get();
            return j == null || j == last || index >= j.helpers ? null : j;
        }

        private void loop() {
            IN_POOL.set(Boolean.TRUE);
            while (!closed) {
                await(() -> mine() == null, spinNanos, () -> parked = true, () -> parked = false, () -> closed);
                Job j = mine(); // close() waits for a job in progress, so a job posted before it is still run
                if (j != null) {
                    last = j;
                    j.run();
                    j.helperDone();
                }
            }
        }
    }
}
