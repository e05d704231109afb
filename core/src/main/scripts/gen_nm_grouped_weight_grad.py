# Generates the pattern-grouped weight-gradient micro-kernels of NmGroupedWeightGradKernels.java:
#   python3 core/src/main/scripts/gen_nm_grouped_weight_grad.py
# One method n<N>r<R> per (kept positions N, rows R): N X vectors and R dY vectors loaded per column
# vector for R * N FMAs into R * N named accumulators (named locals so that C2 keeps them in
# registers), then one lane reduction per accumulator. See the class comment below for the design.
import os

# Most rows generated per kept-position count (R * N accumulators + N X vectors + 1 dY vector
# stay within 32 vector registers); the driver picks the block size at run time (<= these).
MAX_ROWS = {1: 16, 2: 12, 3: 8, 4: 6}


def idx(q):
    return "i" if q == 0 else f"i + {q}"


def kernel(n, r):
    xs = ", ".join(f"int x{p}" for p in range(n))
    L = []
    xr = "x0" if n == 1 else f"x0..x{n - 1}"
    L.append(f"    /** {n} kept x {r} row(s): rows[i .. i + {r}), X rows at {xr}, slots slot[i + q] + j0 + p. */")
    L.append(f"    static void n{n}r{r}(float[] dy, float[] x, int cols, int c0, int c1, int[] rows, int[] slot, int i,")
    L.append(f"                    {xs}, int j0, float[] dw) {{")
    for q in range(r):
        L.append(f"        int d{q} = rows[{idx(q)}] * cols;")
    first = True
    for q in range(r):
        for p in range(n):
            if first:
                L.append(f"        FloatVector a{q}_{p} = FloatVector.zero(S);")
                first = False
            else:
                L.append(f"        FloatVector a{q}_{p} = a0_0;")
    L.append(f"        for (int c = c0; c < c1; c += L) {{")
    for p in range(n):
        L.append(f"            FloatVector u{p} = FloatVector.fromArray(S, x, x{p} + c);")
    for q in range(r):
        decl = "FloatVector y" if q == 0 else "y"
        L.append(f"            {decl} = FloatVector.fromArray(S, dy, d{q} + c);")
        for p in range(n):
            L.append(f"            a{q}_{p} = y.fma(u{p}, a{q}_{p});")
    L.append(f"        }}")
    for q in range(r):
        decl = "int s" if q == 0 else "s"
        L.append(f"        {decl} = slot[{idx(q)}] + j0;")
        for p in range(n):
            off = f"s + {p}" if p else "s"
            L.append(f"        dw[{off}] += a{q}_{p}.reduceLanes(VectorOperators.ADD);")
    L.append(f"    }}")
    return "\n".join(L)


def dispatcher():
    L = []
    L.append("    /**")
    L.append("     * Runs the kernel for {@code n} kept positions (1..4) and {@code r} rows (1..{@link #MAX_ROWS}[n]);")
    L.append("     * x0..x3 are the X row offsets (k * cols) of the positions (unused ones ignored).")
    L.append("     */")
    L.append("    static void block(int n, int r, float[] dy, float[] x, int cols, int c0, int c1, int[] rows, int[] slot, int i,")
    L.append("                      int x0, int x1, int x2, int x3, int j0, float[] dw) {")
    L.append("        switch (n) {")
    for n in sorted(MAX_ROWS):
        L.append(f"            case {n}:")
        L.append(f"                switch (r) {{")
        args = ", ".join(f"x{p}" for p in range(n))
        for r in range(1, MAX_ROWS[n] + 1):
            L.append(f"                    case {r} -> n{n}r{r}(dy, x, cols, c0, c1, rows, slot, i, {args}, j0, dw);")
        L.append(f"                    default -> throw new IllegalArgumentException(\"rows per block \" + r + \" out of 1..{MAX_ROWS[n]} for {n} kept\");")
        L.append(f"                }}")
        L.append(f"                break;")
    L.append("            default:")
    L.append("                throw new IllegalArgumentException(\"kept positions per kernel \" + n + \" out of 1..4\");")
    L.append("        }")
    L.append("    }")
    return "\n".join(L)


out = []
out.append('''package io.sparsetrain.kernels.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The pattern-grouped weight-gradient micro-kernels ({@link NmGroupedWeightGrad}):
 * dW[r, k] += sum_c dY[r, c] X[k, c] over the column range [c0, c1) (a multiple of the vector
 * length) for a block of R rows that keep the same N positions of one group of M.
 *
 * <p>Per column vector the N X vectors {@code x[k * cols + c]} of the pattern are loaded once and
 * shared by the R rows, each row's dY vector {@code dy[row * cols + c]} is loaded once and shared by
 * its N positions: N + R loads for R * N FMAs (2:4 with R = 8: 10 loads per 16 FMAs, like a dense
 * register block), into R * N accumulators held in registers across the whole column range (named
 * locals, generated). At the end each accumulator is reduced ({@code reduceLanes}) and added to the
 * slot {@code slot[i + q] + j0 + p} of row q, position p (the slots of one row and group are
 * consecutive, in ascending position order).
 *
 * <p>{@link #MAX_ROWS}[N] rows at most: R * N accumulators + N X vectors + 1 dY vector within 32
 * vector registers (AVX-512); the driver uses fewer rows with 16 registers. Generated by
 * {@code core/src/main/scripts/gen_nm_grouped_weight_grad.py}; do not edit by hand.
 */
final class NmGroupedWeightGradKernels {

    static final VectorSpecies<Float> S = VectorGemm.S;
    static final int L = VectorGemm.L;
    /** Most kept positions per kernel (larger patterns are split into chunks of at most this many). */
    static final int MAX_KEPT = ''' + str(max(MAX_ROWS)) + ''';
    /** Most rows per kernel, indexed by kept positions (1..MAX_KEPT). */
    static final int[] MAX_ROWS = {0, ''' + ", ".join(str(MAX_ROWS[n]) for n in sorted(MAX_ROWS)) + '''};

    private NmGroupedWeightGradKernels() {
    }
''')
out.append(dispatcher())
out.append("")
for n in sorted(MAX_ROWS):
    for r in range(1, MAX_ROWS[n] + 1):
        out.append(kernel(n, r))
        out.append("")
out.append("}")
here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, '../java/io/sparsetrain/kernels/vector/NmGroupedWeightGradKernels.java')
with open(target, 'w') as f:
    f.write("\n".join(out) + "\n")
