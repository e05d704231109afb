package io.sparsetrain.kernels;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * A weight matrix W [rows, K] compressed in an N:M format (see {@link NmFormat}); a conv weight
 * [Cout, Cin, kh, kw] is W [Cout, Cin*kh*kw].
 *
 * <h2>Layout</h2>
 * K is padded to a multiple of M ({@code groups = ceil(K / M)}; the virtual positions past K in the
 * last group are never kept). Every group of every row has exactly N <em>slots</em>:
 * <ul>
 *   <li>{@code values[(row * groups + group) * N + j]}: the kept value of slot j, and</li>
 *   <li>its in-group index (0..M-1) in {@code indexBits = ceil(log2 M)} bits, bit-packed in the same
 *       slot order into a {@code long[]} (2:4: 2 floats + 4 bits per group; 4:8: 4 floats + 12 bits).</li>
 * </ul>
 * Real slots hold strictly increasing indices. A group may keep <em>fewer</em> than N entries
 * (e.g. a mask from a method that drops a group entirely); its spare slots are padding with value 0:
 * a padding slot repeats the previous slot's index, and an empty group (N >= 2) is encoded as a
 * descending pair {@code 1, 0, 0...}. The only unrepresentable case: an empty group in a 1:M
 * format reads back as keeping in-group index 0 with value 0 (there is no spare bit for it).
 *
 * <h2>Serialization</h2>
 * {@link #writeTo(DataOutput)}: magic {@code 0x4E4D4D58} ("NMMX"), format version {@value #VERSION},
 * then N, M, rows, K, the values and the packed metadata. {@link #readFrom(DataInput)} rejects other
 * magics and versions with a message naming both.
 *
 * <p>Instances are immutable. The kernel layouts ({@link #layout()}, CSR and transposed CSR) are
 * derived once per mask and shared by {@link #withValues(float[])}, which refreshes the values from
 * an updated dense weight (one training step) without re-validating the mask.
 */
public final class NmMatrix {

    /** "NMMX". */
    public static final int MAGIC = 0x4E4D4D58;
    /** Current serialization version. */
    public static final int VERSION = 1;

    private final NmFormat format;
    private final int rows;
    private final int k;
    private final int groups;
    private final float[] values;
    private final long[] meta;
    // derived, shared between matrices with the same mask
    private final Pattern pattern;
    private volatile NmLayout layout;

    private NmMatrix(NmFormat format, int rows, int k, float[] values, long[] meta, Pattern pattern) {
        this.format = format;
        this.rows = rows;
        this.k = k;
        this.groups = format.groups(k);
        this.values = values;
        this.meta = meta;
        this.pattern = pattern != null ? pattern : new Pattern();
    }

    /**
     * Compresses dense {@code w} [rows, K] (row-major) under a 0/1 {@code mask} of the same shape.
     *
     * @throws IllegalArgumentException if the shapes disagree, a mask entry is not 0 or 1, or a
     *     group keeps more than N entries (naming the row and group)
     */
    public static NmMatrix fromDense(float[] w, float[] mask, int rows, int k, int n, int m) {
        NmFormat format = NmFormat.of(n, m);
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(mask, "mask");
        if (rows < 1 || k < 1) {
            throw new IllegalArgumentException("N:M matrix needs rows >= 1 and K >= 1, got rows=" + rows + ", K=" + k);
        }
        long size = (long) rows * k;
        if (w.length != size) {
            throw new IllegalArgumentException("w has " + w.length + " entries, expected rows*K=" + rows + "*" + k + "=" + size);
        }
        if (mask.length != size) {
            throw new IllegalArgumentException("mask has " + mask.length + " entries, expected rows*K=" + rows + "*" + k + "=" + size);
        }
        int groups = format.groups(k);
        int bits = format.indexBits();
        float[] values = new float[rows * groups * n];
        long[] meta = new long[(int) (((long) rows * groups * n * bits + 63) / 64)];
        int[] kept = new int[m];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int c = 0;
                int base = r * k + g * m;
                int width = Math.min(m, k - g * m);
                for (int i = 0; i < width; i++) {
                    float mv = mask[base + i];
                    if (mv == 1f) {
                        if (c < m) {
                            kept[c] = i;
                        }
                        c++;
                    } else if (mv != 0f) {
                        throw new IllegalArgumentException("mask row " + r + " column " + (g * m + i)
                                + " is " + mv + ", expected 0 or 1");
                    }
                }
                if (c > n) {
                    throw new IllegalArgumentException("mask row " + r + " group " + g + " keeps " + c + " of "
                            + m + ", expected at most " + n + " (" + format + ")");
                }
                int slot0 = (r * groups + g) * n;
                for (int j = 0; j < n; j++) {
                    int idx;
                    if (j < c) {
                        idx = kept[j];
                        values[slot0 + j] = w[base + idx];
                    } else if (c > 0) {
                        idx = kept[c - 1]; // padding repeats the previous index
                    } else {
                        idx = (j == 0 && n >= 2) ? 1 : 0; // empty group: descending 1, 0, 0...
                    }
                    putBits(meta, (long) (slot0 + j) * bits, bits, idx);
                }
            }
        }
        return new NmMatrix(format, rows, k, values, meta, null);
    }

    /** The format N:M. */
    public NmFormat format() {
        return format;
    }

    public int rows() {
        return rows;
    }

    /** Length of the reduction dimension (unpadded). */
    public int k() {
        return k;
    }

    /** ceil(K / M). */
    public int groups() {
        return groups;
    }

    /** Number of slots: rows * groups * N (real and padding). */
    public int slots() {
        return values.length;
    }

    /** The slot values (length {@link #slots()}); a copy. */
    public float[] values() {
        return values.clone();
    }

    /** In-group index (0..M-1) of slot j of (row, group). */
    public int index(int row, int group, int j) {
        return (int) getBits(meta, (long) ((row * groups + group) * format.n() + j) * format.indexBits(), format.indexBits());
    }

    /** Number of real (non-padding) slots of (row, group): 0..N. */
    public int keptCount(int row, int group) {
        int n = format.n();
        if (n == 1) {
            return 1;
        }
        int prev = index(row, group, 0);
        if (index(row, group, 1) < prev) {
            return 0;
        }
        int c = 1;
        for (int j = 1; j < n; j++) {
            int idx = index(row, group, j);
            if (idx <= prev) {
                break;
            }
            prev = idx;
            c++;
        }
        return c;
    }

    /** Decompresses to dense W [rows, K]: the kept values in place, zeros elsewhere. */
    public float[] toDense() {
        float[] w = new float[rows * k];
        scatterSlots(values, w);
        return w;
    }

    /** The 0/1 mask [rows, K] this matrix was built from (see the class note on empty 1:M groups). */
    public float[] mask() {
        float[] mask = new float[rows * k];
        int n = format.n();
        int m = format.m();
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int c = keptCount(r, g);
                for (int j = 0; j < c; j++) {
                    mask[r * k + g * m + index(r, g, j)] = 1f;
                }
            }
        }
        return mask;
    }

    /**
     * Scatters per-slot values (laid out like {@link #values()}) into a dense [rows, K] array at the
     * kept positions; other entries of {@code dense} are set to zero.
     */
    public void scatterSlots(float[] slotValues, float[] dense) {
        if (slotValues.length != values.length) {
            throw new IllegalArgumentException("slot values have " + slotValues.length + " entries, expected " + values.length);
        }
        if (dense.length != rows * k) {
            throw new IllegalArgumentException("dense has " + dense.length + " entries, expected rows*K=" + (rows * k));
        }
        Arrays.fill(dense, 0f);
        int perRow = groups * format.n();
        int[] pos = new int[perRow];
        for (int r = 0, s0 = 0; r < rows; r++, s0 += perRow) {
            slotPositions(r, pos);
            for (int j = 0; j < perRow; j++) {
                if (pos[j] >= 0) {
                    dense[pos[j]] = slotValues[s0 + j];
                }
            }
        }
    }

    /**
     * The positions in dense [rows, K] of row {@code r}'s slots into {@code pos} (length groups * N, laid out like the
     * row's slots), -1 for a spare slot. Each group's N index fields are read at once; slot j is real while the
     * indices ascend, as {@link #keptCount} defines it (a descending first pair is an empty group; 1:M slots are
     * always real). Per-slot {@link #index} calls and {@link #keptCount}, which re-reads every field, made
     * {@link #gatherSlots} and {@link #scatterSlots} ~9 ns a slot (10.7 ms for a 512 x 4608 weight).
     */
    private void slotPositions(int r, int[] pos) {
        int n = format.n();
        int m = format.m();
        int bits = format.indexBits();
        int fieldMask = (1 << bits) - 1;
        long bitPos = (long) r * groups * n * bits;
        if (n == 2) { // 2:4 and 2:8: the general loop below measured about 1.5x slower for 2:4
            for (int g = 0, base = r * k, p = 0; g < groups; g++, base += m, p += 2, bitPos += 2 * bits) {
                int f = (int) getBits(meta, bitPos, 2 * bits);
                int i0 = f & fieldMask;
                int i1 = f >>> bits;
                pos[p] = i1 >= i0 ? base + i0 : -1;
                pos[p + 1] = i1 > i0 ? base + i1 : -1;
            }
            return;
        }
        for (int g = 0, base = r * k, p = 0; g < groups; g++, base += m, p += n, bitPos += (long) n * bits) {
            long fields = getBits(meta, bitPos, n * bits); // n * bits <= 8 * 3: one or two words
            int prev = (int) fields & fieldMask;
            boolean real = n == 1 || ((int) (fields >>> bits) & fieldMask) >= prev;
            pos[p] = real ? base + prev : -1;
            for (int j = 1; j < n; j++) {
                int idx = (int) (fields >>> (j * bits)) & fieldMask;
                real = real && idx > prev;
                pos[p + j] = real ? base + idx : -1;
                prev = idx;
            }
        }
    }

    /**
     * The inverse of {@link #scatterSlots}: the values of dense [rows, K] at the kept positions, laid out like
     * {@link #values()} (spare slots of groups keeping fewer than N get 0).
     */
    public void gatherSlots(float[] dense, float[] slotValues) {
        if (slotValues.length < values.length) {
            throw new IllegalArgumentException("slot values have " + slotValues.length + " entries, expected " + values.length);
        }
        if (dense.length < rows * k) {
            throw new IllegalArgumentException("dense has " + dense.length + " entries, expected rows*K=" + (rows * k));
        }
        int perRow = groups * format.n();
        int[] pos = new int[perRow];
        for (int r = 0, s0 = 0; r < rows; r++, s0 += perRow) {
            slotPositions(r, pos);
            for (int j = 0; j < perRow; j++) {
                slotValues[s0 + j] = pos[j] >= 0 ? dense[pos[j]] : 0f;
            }
        }
    }

    /**
     * A matrix with the same mask and the values of dense {@code w} [rows, K] at the kept
     * positions (values elsewhere in {@code w} are ignored). Shares the derived kernel index layout.
     */
    public NmMatrix withValues(float[] w) {
        if (w.length != rows * k) {
            throw new IllegalArgumentException("w has " + w.length + " entries, expected rows*K=" + rows + "*" + k + "=" + (rows * k));
        }
        float[] v = new float[values.length];
        NmLayout.Index ix = pattern.index(this);
        int[] slot = ix.slot();
        int[] kIdx = ix.kIdx();
        int[] rowPtr = ix.rowPtr();
        for (int r = 0; r < rows; r++) {
            for (int e = rowPtr[r]; e < rowPtr[r + 1]; e++) {
                v[slot[e]] = w[r * k + kIdx[e]];
            }
        }
        return new NmMatrix(format, rows, k, v, meta, pattern);
    }

    /** The kernel layout (CSR by row and by column of the real slots), built once and cached. */
    public NmLayout layout() {
        NmLayout l = layout;
        if (l == null) {
            synchronized (this) {
                l = layout;
                if (l == null) {
                    l = new NmLayout(pattern.index(this), values, rows, k, format);
                    layout = l;
                }
            }
        }
        return l;
    }

    /** Writes magic, version, N, M, rows, K, the slot values and the packed metadata. */
    public void writeTo(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(format.n());
        out.writeInt(format.m());
        out.writeInt(rows);
        out.writeInt(k);
        out.writeInt(values.length);
        for (float v : values) {
            out.writeFloat(v);
        }
        out.writeInt(meta.length);
        for (long word : meta) {
            out.writeLong(word);
        }
    }

    /**
     * Reads a matrix written by {@link #writeTo(DataOutput)}.
     *
     * @throws IOException on a wrong magic, an unknown version or inconsistent sizes
     */
    public static NmMatrix readFrom(DataInput in) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new IOException(String.format("not a compressed N:M matrix: magic 0x%08X, expected 0x%08X", magic, MAGIC));
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("unsupported N:M matrix format version " + version + ", this build reads version " + VERSION);
        }
        int n = in.readInt();
        int m = in.readInt();
        int rows = in.readInt();
        int k = in.readInt();
        NmFormat format;
        try {
            format = NmFormat.of(n, m);
        } catch (IllegalArgumentException e) {
            throw new IOException("corrupt N:M matrix header: " + e.getMessage(), e);
        }
        if (rows < 1 || k < 1) {
            throw new IOException("corrupt N:M matrix header: rows=" + rows + ", K=" + k);
        }
        long slots = (long) rows * format.groups(k) * n;
        int nValues = in.readInt();
        if (nValues != slots) {
            throw new IOException("corrupt N:M matrix: " + nValues + " values, expected " + slots);
        }
        float[] values = new float[nValues];
        for (int i = 0; i < nValues; i++) {
            values[i] = in.readFloat();
        }
        int nMeta = in.readInt();
        long expectedMeta = (slots * format.indexBits() + 63) / 64;
        if (nMeta != expectedMeta) {
            throw new IOException("corrupt N:M matrix: " + nMeta + " metadata words, expected " + expectedMeta);
        }
        long[] meta = new long[nMeta];
        for (int i = 0; i < nMeta; i++) {
            meta[i] = in.readLong();
        }
        NmMatrix result = new NmMatrix(format, rows, k, values, meta, null);
        result.validateIndices();
        return result;
    }

    private void validateIndices() throws IOException {
        int m = format.m();
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int width = Math.min(m, k - g * m);
                int c = keptCount(r, g);
                for (int j = 0; j < c; j++) {
                    if (index(r, g, j) >= width) {
                        throw new IOException("corrupt N:M matrix: row " + r + " group " + g + " slot " + j
                                + " has index " + index(r, g, j) + " beyond K=" + k);
                    }
                }
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NmMatrix other)) {
            return false;
        }
        return format.equals(other.format) && rows == other.rows && k == other.k
                && Arrays.equals(values, other.values) && Arrays.equals(meta, other.meta);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, rows, k, Arrays.hashCode(values), Arrays.hashCode(meta));
    }

    @Override
    public String toString() {
        return "NmMatrix{" + format + ", rows=" + rows + ", K=" + k + ", groups=" + groups + "}";
    }

    private static void putBits(long[] words, long bitPos, int bits, int value) {
        int w = (int) (bitPos >>> 6);
        int off = (int) (bitPos & 63);
        long v = value & ((1L << bits) - 1);
        words[w] |= v << off;
        if (off + bits > 64) {
            words[w + 1] |= v >>> (64 - off);
        }
    }

    private static long getBits(long[] words, long bitPos, int bits) {
        int w = (int) (bitPos >>> 6);
        int off = (int) (bitPos & 63);
        long v = words[w] >>> off;
        if (off + bits > 64) {
            v |= words[w + 1] << (64 - off);
        }
        return v & ((1L << bits) - 1);
    }

    /** Holder of the index layout shared by all matrices with the same mask. */
    private static final class Pattern {
        private volatile NmLayout.Index index;

        NmLayout.Index index(NmMatrix owner) {
            NmLayout.Index ix = index;
            if (ix == null) {
                synchronized (this) {
                    ix = index;
                    if (ix == null) {
                        ix = NmLayout.Index.build(owner);
                        index = ix;
                    }
                }
            }
            return ix;
        }
    }
}
