package io.sparsetrain.benchmarks;

import org.nd4j.linalg.factory.Nd4j;

/** ND4J thread settings and the record of which OpenBLAS core type the run used. */
final class Nd4jSupport {

    private Nd4jSupport() {
    }

    /** Limits ND4J's native threads (OpenMP and OpenBLAS) to {@code threads}. */
    static void threads(int threads) {
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }

    static String coreType() {
        String ct = System.getenv("OPENBLAS_CORETYPE");
        return ct == null ? "(unset: OpenBLAS autodetect)" : ct;
    }
}
