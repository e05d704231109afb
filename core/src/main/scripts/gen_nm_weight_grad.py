# Generates the sampled weight-gradient micro-kernels of NmWeightGradKernels.java:
#   python3 core/src/main/scripts/gen_nm_weight_grad.py
# Two methods per panel width V (1..8 vectors): acc<V> (vector partial sums kept in a lane buffer)
# and tree<V> (last panel: transpose-reduction to one output vector per 16 entries). See the class
# comment below for the design.
import os

G = 16  # kept entries per group (one tree-reduced output vector with 16 lanes)


def comb(res, a, b, h):
    """One tree step, written out: lanes with bit h clear get a[i] + a[i ^ h], lanes with bit h set
    get b[i] + b[i ^ h]. (A helper method taking the mask and shuffle as parameters is not inlined
    into the large kernels, and then C2 cannot intrinsify them: boxed vectors, ~30x slower.)"""
    return f"FloatVector {res} = {a}.blend({b}, M{h}).add({b}.blend({a}, M{h}).rearrange(P{h}));"


def entry(V, j, lb_expr):
    """Accumulator a<j> of entry j over the panel's V vectors, starting from the lane buffer
    (from zeros on the first panel: a branch between mul and fma would merge vectors in a phi)."""
    b = [f"int x{j} = idx[e + {j}] * pw + xBase;"]
    b.append(f"FloatVector a{j} = d0.fma(FloatVector.fromArray(S, xp, x{j}), FloatVector.fromArray(S, in, {lb_expr}));")
    for v in range(1, V):
        b.append(f"a{j} = d{v}.fma(FloatVector.fromArray(S, xp, x{j} + {v} * L), a{j});")
    return b


def tree_body(V):
    """The 16 entries in the post-order of the reduction tree, so that at most one partial per
    level and two accumulators are live next to the V dY vectors."""
    b = []

    def build(j, h):
        if h == G // 2:
            for jj in (j, j + h):
                b.extend(entry(V, jj, f"li + {jj} * L"))
            name = f"s{j}_{h}"
            b.append(comb(name, f"a{j}", f"a{j + h}", h))
            return name
        lo = build(j, h * 2)
        hi = build(j + h, h * 2)
        name = f"s{j}_{h}"
        b.append(comb(name, lo, hi, h))
        return name

    root = build(0, 1)
    b.append(f"{root}.intoArray(out, e);")
    return b


def kernel(V, tree):
    L = []
    name = f"tree{V}" if tree else f"acc{V}"
    if tree:
        L.append(f"    /** Last panel of {V} vector(s): finishes 16 entries at a time and writes their sums to out[e..e+16). */")
    else:
        L.append(f"    /** Panel of {V} vector(s) before the last: adds each entry's vector partial sum into the lane buffer. */")
    extra = ", float[] out" if tree else ""
    L.append(f"    static void {name}(int r0, int r1, int b, int nb, int[] ptr, int[] idx, float[] xp, int xBase, float[] dyp, int dyBase,")
    L.append(f"                    float[] lb, int lbOff, int lbRow, boolean first{extra}) {{")
    L.append(f"        final int pw = {V} * L;")
    L.append(f"        final float[] in = first ? ZERO : lb;")
    L.append(f"        for (int r = r0; r < r1; r++) {{")
    L.append(f"            int e0 = ptr[r * nb + b];")
    L.append(f"            int end = ptr[r * nb + b + 1];")
    L.append(f"            int dyo = dyBase + r * pw;")
    for v in range(V):
        L.append(f"            FloatVector d{v} = FloatVector.fromArray(S, dyp, dyo + {v} * L);")
    L.append(f"            for (int e = e0; e < end; e += {G}) {{")
    L.append(f"                int lo = lbOff + (r - r0) * lbRow + (e - e0) * L;")
    L.append(f"                int li = first ? 0 : lo; // the first panel starts from zeros (no vector phi)")
    if tree:
        body = tree_body(V)
    else:
        body = []
        for j in range(G):
            body.extend(entry(V, j, f"li + {j} * L"))
            body.append(f"a{j}.intoArray(lb, lo + {j} * L);")
    for s in body:
        L.append("                " + s)
    L.append(f"            }}")
    L.append(f"        }}")
    L.append(f"    }}")
    return "\n".join(L)


out = []
out.append('''package io.sparsetrain.kernels.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sampled weight-gradient micro-kernels: dW[r, k] = sum_c dY[r, c] X[k, c] at the kept (r, k)
 * only (generated: the accumulators must be named locals to live in registers).
 *
 * <p>For output row r and the current reduction block, the V vectors of dY[r, panel] stay in
 * registers; the kept entries of (r, block) are taken 16 at a time, each with its own vector
 * accumulator over the panel's columns: one L1 load of the packed X row
 * {@code xp[idx * pw + xBase]} per FMA (the slab of the block and panel is L1-resident, packed and
 * 64-byte aligned like the forward slabs), the dY operand shared by the 16 entries. Lanes are not
 * reduced per panel: {@code acc<V>} adds the vector partial sums into a lane buffer
 * ({@code lb}, 16 floats per entry, L2-resident), and only on the last panel {@code tree<V>}
 * turns the 16 accumulators into one vector whose lane i is the full sum of entry i, by a
 * transpose-reduction tree of 15 steps (2 blends, 1 permute, 1 add each; lanes with bit h clear
 * get a[i] + a[i ^ h], lanes with bit h set get b[i] + b[i ^ h]), stored to {@code out[e..e+16)}.
 * One tree per 16 entries whatever the number of columns; a lane reduction per entry
 * ({@code reduceLanes}) costs more than the FMAs on narrow panels. Entry lists are padded to
 * multiples of 16 per (row, block) ({@code NmLayout.WeightGradLayout}).
 *
 * <p>Written for 16 lanes (AVX-512); other vector lengths use the dense route
 * ({@code VectorGemm.nmBackwardWeightViaDense}). Each method stays well below C2's 8000-byte limit
 * for compiling a method. Generated by {@code core/src/main/scripts/gen_nm_weight_grad.py}; do not
 * edit by hand.
 */
final class NmWeightGradKernels {

    static final VectorSpecies<Float> S = VectorGemm.S;
    static final int L = VectorGemm.L;
    /** Entries per group: one output vector of 16 lanes. */
    static final int G = 16;
    /** Whether the kernels fit the vector length (16 lanes). */
    static final boolean SUPPORTED = L == G;

    static final VectorMask<Float> M8 = laneBit(8);
    static final VectorMask<Float> M4 = laneBit(4);
    static final VectorMask<Float> M2 = laneBit(2);
    static final VectorMask<Float> M1 = laneBit(1);
    static final VectorShuffle<Float> P8 = swap(8);
    static final VectorShuffle<Float> P4 = swap(4);
    static final VectorShuffle<Float> P2 = swap(2);
    static final VectorShuffle<Float> P1 = swap(1);

    /** Initial partial sums of the first panel. */
    private static final float[] ZERO = new float[G * L];

    private NmWeightGradKernels() {
    }

    /** Lanes whose index has bit h set. */
    private static VectorMask<Float> laneBit(int h) {
        boolean[] m = new boolean[L];
        for (int i = 0; i < L; i++) {
            m[i] = (i & h) != 0;
        }
        return VectorMask.fromArray(S, m, 0);
    }

    /** Lane i takes lane i ^ h (identity when h >= L). */
    private static VectorShuffle<Float> swap(int h) {
        int[] s = new int[L];
        for (int i = 0; i < L; i++) {
            s[i] = h < L ? i ^ h : i;
        }
        return VectorShuffle.fromArray(S, s, 0);
    }
''')
for V in range(1, 9):
    out.append(kernel(V, False))
    out.append("")
for V in range(1, 9):
    out.append(kernel(V, True))
    out.append("")
out.append("}")
here = os.path.dirname(os.path.abspath(__file__))
target = os.environ.get("DW_OUT", os.path.join(here, '../java/io/sparsetrain/kernels/vector/NmWeightGradKernels.java'))
text = "\n".join(out) + "\n"
if os.environ.get("DW_CLASS"):  # probes: a renamed copy
    text = text.replace("NmWeightGradKernels", os.environ["DW_CLASS"])
with open(target, 'w') as f:
    f.write(text)
