package io.sparsetrain.learn.alloc;

/**
 * The FCPTS reconstruction loss (METHODS.md section 3): L_rec = KL(softmax(Y_dense) || softmax(Y_sparse)),
 * averaged over the batch:
 * <pre>
 *   L = 1/B sum_b sum_k p_bk (log p_bk - log q_bk),   p = softmax(dense logits), q = softmax(sparse logits)
 *   dL / d(sparse logit)_bk = (q_bk - p_bk) / B
 * </pre>
 * Logits are row-major {@code [batch, classes]}; computed in double with log-sum-exp, so large logits do
 * not overflow. Classes with p = 0 contribute nothing (0 log 0 = 0).
 */
public final class KlDivergence {
    private KlDivergence() {
    }

    /** Batch-mean KL(p || q); logits row-major [batch, classes]. */
    public static double loss(double[] pDenseLogits, double[] qSparseLogits, int classes) {
        int batch = check(pDenseLogits, qSparseLogits, classes);
        double total = 0;
        double[] lp = new double[classes];
        double[] lq = new double[classes];
        for (int b = 0; b < batch; b++) {
            logSoftmax(pDenseLogits, b * classes, classes, lp);
            logSoftmax(qSparseLogits, b * classes, classes, lq);
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(lp[c]);
                if (p > 0) {
                    total += p * (lp[c] - lq[c]);
                }
            }
        }
        return total / batch;
    }

    /** dL/d(sparse logits), row-major [batch, classes]. */
    public static double[] gradient(double[] pDenseLogits, double[] qSparseLogits, int classes) {
        int batch = check(pDenseLogits, qSparseLogits, classes);
        double[] g = new double[qSparseLogits.length];
        double[] lp = new double[classes];
        double[] lq = new double[classes];
        for (int b = 0; b < batch; b++) {
            logSoftmax(pDenseLogits, b * classes, classes, lp);
            logSoftmax(qSparseLogits, b * classes, classes, lq);
            for (int c = 0; c < classes; c++) {
                g[b * classes + c] = (Math.exp(lq[c]) - Math.exp(lp[c])) / batch;
            }
        }
        return g;
    }

    private static int check(double[] p, double[] q, int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        }
        if (p.length != q.length) {
            throw new IllegalArgumentException("dense logits have length " + p.length + ", sparse logits " + q.length);
        }
        if (p.length == 0 || p.length % classes != 0) {
            throw new IllegalArgumentException("logits of length " + p.length + " are not a non-empty [batch, "
                    + classes + "] array");
        }
        return p.length / classes;
    }

    private static void logSoftmax(double[] x, int off, int n, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        double lse = max + Math.log(sum);
        for (int i = 0; i < n; i++) {
            out[i] = x[off + i] - lse;
        }
    }
}
