package io.sparsetrain.kernels;

import java.lang.reflect.Constructor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the kernel implementation once, at class initialisation (like Lucene's
 * VectorizationProvider): the Vector API kernels ({@code io.sparsetrain.kernels.vector.VectorGemm})
 * when the {@code jdk.incubator.vector} module is present (run with
 * {@code --add-modules=jdk.incubator.vector}), else {@link ScalarGemm} with a logged warning.
 */
public final class KernelProvider {

    private static final Logger LOG = LoggerFactory.getLogger(KernelProvider.class);
    static final String VECTOR_CLASS = "io.sparsetrain.kernels.vector.VectorGemm";

    private static final GemmKernels DEFAULT = lookup();

    private KernelProvider() {
    }

    /** The kernels chosen at start-up, on the shared {@link KernelThreads} pool. */
    public static GemmKernels get() {
        return DEFAULT;
    }

    /** True when the Vector API kernels are in use. */
    public static boolean isVectorized() {
        return !(DEFAULT instanceof ScalarGemm);
    }

    /**
     * Vector API kernels on a given pool, for benchmarks and callers that manage their own threads.
     *
     * @throws UnsupportedOperationException when {@code jdk.incubator.vector} is absent
     */
    public static GemmKernels vector(KernelThreads threads) {
        try {
            Class<?> c = Class.forName(VECTOR_CLASS);
            Constructor<?> ctor = c.getConstructor(KernelThreads.class);
            return (GemmKernels) ctor.newInstance(threads);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new UnsupportedOperationException("Vector API kernels unavailable (run with "
                    + "--add-modules=jdk.incubator.vector): " + e, e);
        }
    }

    private static GemmKernels lookup() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.warn("jdk.incubator.vector is not available: N:M and dense kernels fall back to slow scalar "
                    + "loops; run the JVM with --add-modules=jdk.incubator.vector");
            return new ScalarGemm();
        }
        try {
            Class<?> c = Class.forName(VECTOR_CLASS);
            return (GemmKernels) c.getConstructor(KernelThreads.class).newInstance((Object) null);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            LOG.warn("could not load the Vector API kernels ({}): falling back to slow scalar loops", e.toString());
            return new ScalarGemm();
        }
    }
}
