# Generates the register-blocked gather kernels of NmGatherKernels.java
def kernel(V, R, direct=False):
    # direct: the entries carry int offsets into the operand (a padded image for the direct
    # convolution) instead of byte positions in a packed panel: address = idx[e] + bo
    # R = 1: only the one-row method (the direct convolution runs 8-vector panels a row at a time)
    L = []
    if R == 1:
        return row(V, direct)
    p = "d" if direct else ""
    name = f"{p}gather{V}"
    itype = "int[]" if direct else "byte[]"
    addr = (lambda e: f"idx[{e}] + bo") if direct else (lambda e: f"idx[{e}] * pw + bo")
    if direct:
        L.append(f"    /** Like {{@link #gather{V}}}, entries as operand offsets ({{@code xp[idx[e] + bo]}}): the direct convolution. */")
    else:
        L.append(f"    /** Panel of {V} vector(s) ({V} x L columns), {R} output rows at a time: {V*R} accumulators. */")
    L.append(f"    static void {name}(int[] ptr, int pb, {itype} idx, float[] val, int o0, int o1, int bo, float[] xp, float[] ybuf, int yoff) {{")
    L.append(f"        final int pw = {V} * L;")
    L.append(f"        int o = o0;")
    L.append(f"        for (; o <= o1 - {R}; o += {R}) {{")
    for i in range(R):
        L.append(f"            int e{i} = ptr[pb + o + {i}];")
        L.append(f"            int n{i} = ptr[pb + o + {i} + 1] - e{i};")
    L.append(f"            int common = " + ("Math.min(" * (R - 1)) + "n0" + "".join(f", n{i})" for i in range(1, R)) + ";")
    L.append(f"            int yo = yoff + (o - o0) * pw;")
    for i in range(R):
        for v in range(V):
            L.append(f"            FloatVector a{i}{v} = FloatVector.fromArray(S, ybuf, yo + {i} * pw + {v} * L);")
    L.append(f"            for (int j = 0; j < common; j++) {{")
    for i in range(R):
        L.append(f"                int x{i} = {addr(f'e{i} + j')};")
        L.append(f"                FloatVector w{i} = FloatVector.broadcast(S, val[e{i} + j]);")
        for v in range(V):
            L.append(f"                a{i}{v} = w{i}.fma(FloatVector.fromArray(S, xp, x{i} + {v} * L), a{i}{v});")
    L.append(f"            }}")
    for i in range(R):
        for v in range(V):
            L.append(f"            a{i}{v}.intoArray(ybuf, yo + {i} * pw + {v} * L);")
    for i in range(R):
        L.append(f"            if (n{i} > common) {{ // a row with more kept entries in this block than the others")
        L.append(f"                {p}row{V}(idx, val, e{i} + common, e{i} + n{i}, bo, xp, ybuf, yo + {i} * pw);")
        L.append(f"            }}")
    L.append(f"        }}")
    L.append(f"        for (; o < o1; o++) {{ // row tail")
    L.append(f"            {p}row{V}(idx, val, ptr[pb + o], ptr[pb + o + 1], bo, xp, ybuf, yoff + (o - o0) * pw);")
    L.append(f"        }}")
    L.append(f"    }}")
    L.append(f"")
    return "\n".join(L) + "\n" + row(V, direct)


def row(V, direct):
    L = []
    p = "d" if direct else ""
    itype = "int[]" if direct else "byte[]"
    addr = (lambda e: f"idx[{e}] + bo") if direct else (lambda e: f"idx[{e}] * pw + bo")
    L.append(f"    /** Kept entries [e, e1) of one row into its {V} accumulator vectors at {{@code ybuf[yo]}}. */")
    L.append(f"    static void {p}row{V}({itype} idx, float[] val, int e, int e1, int bo, float[] xp, float[] ybuf, int yo) {{")
    L.append(f"        final int pw = {V} * L;")
    for v in range(V):
        L.append(f"        FloatVector a{v} = FloatVector.fromArray(S, ybuf, yo + {v} * L);")
    L.append(f"        for (; e < e1; e++) {{")
    L.append(f"            int x = {addr('e')};")
    L.append(f"            FloatVector w = FloatVector.broadcast(S, val[e]);")
    for v in range(V):
        L.append(f"            a{v} = w.fma(FloatVector.fromArray(S, xp, x + {v} * L), a{v});")
    L.append(f"        }}")
    for v in range(V):
        L.append(f"        a{v}.intoArray(ybuf, yo + {v} * L);")
    L.append(f"    }}")
    return "\n".join(L)

out = []
out.append('''package io.sparsetrain.kernels.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The N:M gather micro-kernels, one per panel width (generated: the accumulators must be named
 * locals to live in registers). For R output rows at a time and each kept entry (index, value) of
 * the current reduction block, the value is broadcast and multiplied into V accumulators with the
 * V vectors of the packed panel row {@code xp[index]}, which is L1-resident (the slab of the block
 * was packed just before). The R rows advance in lock step (R x V accumulators hide the FMA
 * latency and the loop overhead is shared); the index decoding is one load and multiply per entry.
 *
 * <p>The entries come block-major ({@code NmLayout.Gather}): those of output {@code o} in the
 * current block are {@code [ptr[pb + o], ptr[pb + o + 1])}, so a sweep over the outputs of a block
 * reads them in order. An entry's index is its position inside the reduction block (0..63, one
 * byte: 5 bytes per kept entry with its value);
 * {@code xp[index * pw + bo]} is the first float of its panel row; {@code ybuf} holds
 * the accumulators of rows [o0, o1) from {@code yoff} on. Both sit 64-byte aligned in the
 * workspace (see {@code VectorGemm.Workspace}): unaligned 512-bit loads cost 1.5x here.
 *
 * <p>Rows with more kept entries in a block than their neighbours, and the rows left over when the
 * row count is not a multiple of R, go through a small one-row method after the lock-step loop has
 * stored its accumulators (the same additions in the same order). That keeps each kernel small
 * enough for C1: a kernel C1 cannot compile ("out of virtual registers") can get stuck in tier-2
 * code, where every Vector API call runs its Java fallback, about 100x slower (measured:
 * ResNet-20 2:4 batch-1 inference at 17-40 images/s instead of ~125 in one of two fresh-JVM runs; BENCHMARKS.md,
 * session 8).
 *
 * <p>The {@code dgather} kernels are the same with {@code int} entry offsets into the operand
 * ({@code xp[idx[e] + bo]}) instead of panel-row positions: the direct convolution reads the padded
 * input image itself, each kept entry (channel, kernel row, kernel column) at its own offset, with
 * no im2col copy (see {@code DirectConv}). Its 8-vector panels run one row at a time ({@code drow8}:
 * 8 accumulators are enough to hide the FMA latency, and the input gradient's rows, whose kept counts
 * per block differ, need not pair up): measured 1.07-1.12x faster than two rows in lock step for the
 * input gradient and 1.01-1.07x for the forward, interleaved in one JVM (BENCHMARKS.md, session 12).
 * Generated by {@code core/src/main/scripts/gen_nm_gather.py}; do not edit by hand.
 */
final class NmGatherKernels {

    static final VectorSpecies<Float> S = VectorGemm.S;
    static final int L = VectorGemm.L;

    private NmGatherKernels() {
    }
''')
for direct in (False, True):
    for V, R in [(8, 1 if direct else 2), (4, 4), (2, 4), (1, 8)]:
        out.append(kernel(V, R, direct))
        out.append("")
out.append("}")
open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), '../java/io/sparsetrain/kernels/vector/NmGatherKernels.java'),'w').write("\n".join(out) + "\n")
