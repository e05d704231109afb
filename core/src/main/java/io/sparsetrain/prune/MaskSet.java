package io.sparsetrain.prune;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable set of named layer masks (insertion order kept), the unit the driver broadcasts to the
 * workers, with a versioned binary form.
 *
 * <p>Format version 1 (big-endian, {@link DataOutputStream}):
 * <pre>
 *   int   magic 0x53544D53 ("STMS")
 *   int   version (1)
 *   int   mask count
 *   per mask, in insertion order:
 *     UTF   name (DataOutput.writeUTF)
 *     byte  layout code ({@link LayerShape.Layout#code()})
 *     byte  rank, then rank x int storage dimensions
 *     int   kept count (checked on read)
 *     long  x ceil(size / 64) packed words, bit i%64 of word i/64 = weight i kept
 *   long  {@link MaskChecksum#of(MaskSet)} of the whole set (checked on read)
 * </pre>
 * A reader meeting another version fails with a {@link MalformedMaskException} naming that version.
 */
public final class MaskSet {
    /** "STMS". */
    public static final int MAGIC = 0x53544D53;
    /** Version written by this build, and the only one it reads. */
    public static final int FORMAT_VERSION = 1;

    private final Map<String, Mask> masks;

    private MaskSet(Map<String, Mask> masks) {
        this.masks = Collections.unmodifiableMap(new LinkedHashMap<>(masks));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A set holding these masks, in the map's iteration order. */
    public static MaskSet of(Map<String, Mask> masks) {
        Builder b = builder();
        masks.forEach(b::put);
        return b.build();
    }

    /** Layer names, in insertion order. */
    public Set<String> names() {
        return masks.keySet();
    }

    /** The mask of a layer, or null if the set has none. */
    public Mask get(String name) {
        return masks.get(name);
    }

    public boolean contains(String name) {
        return masks.containsKey(name);
    }

    public int size() {
        return masks.size();
    }

    /** Unmodifiable name-to-mask view. */
    public Map<String, Mask> asMap() {
        return masks;
    }

    /** Zeros over all masks of the set. */
    public long zeroCount() {
        long z = 0;
        for (Mask m : masks.values()) {
            z += m.zeroCount();
        }
        return z;
    }

    /** Weights over all masks of the set. */
    public long weightCount() {
        long n = 0;
        for (Mask m : masks.values()) {
            n += m.size();
        }
        return n;
    }

    /** {@link MaskChecksum#of(MaskSet)}. */
    public long checksum() {
        return MaskChecksum.of(this);
    }

    /** Writes format version {@link #FORMAT_VERSION}; does not close the stream. */
    public void writeTo(OutputStream out) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(MAGIC);
        d.writeInt(FORMAT_VERSION);
        d.writeInt(masks.size());
        for (Map.Entry<String, Mask> e : masks.entrySet()) {
            Mask m = e.getValue();
            d.writeUTF(e.getKey());
            d.writeByte(m.shape().layout().code());
            int[] dims = m.shape().dims();
            d.writeByte(dims.length);
            for (int x : dims) {
                d.writeInt(x);
            }
            d.writeInt(m.keptCount());
            for (long w : m.words()) {
                d.writeLong(w);
            }
        }
        d.writeLong(checksum());
        d.flush();
    }

    /** The serialized form. */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            writeTo(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Reads a set written by {@link #writeTo}. */
    public static MaskSet readFrom(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        try {
            int magic = d.readInt();
            if (magic != MAGIC) {
                throw new MalformedMaskException(String.format(
                        "not a mask set: magic 0x%08x, expected 0x%08x (\"STMS\")", magic, MAGIC));
            }
            int version = d.readInt();
            if (version != FORMAT_VERSION) {
                throw new MalformedMaskException("mask set format version " + version
                        + " is not supported; this build reads version " + FORMAT_VERSION);
            }
            int count = d.readInt();
            if (count < 0) {
                throw new MalformedMaskException("mask set header: negative mask count " + count);
            }
            Builder b = builder();
            for (int i = 0; i < count; i++) {
                String name = d.readUTF();
                LayerShape shape;
                try {
                    LayerShape.Layout layout = LayerShape.Layout.fromCode(d.readUnsignedByte());
                    int rank = d.readUnsignedByte();
                    int[] dims = new int[rank];
                    for (int j = 0; j < rank; j++) {
                        dims[j] = d.readInt();
                    }
                    shape = LayerShape.of(layout, dims);
                } catch (IllegalArgumentException e) {
                    throw new MalformedMaskException("mask " + i + " (" + name + "): " + e.getMessage());
                }
                int kept = d.readInt();
                long[] words = new long[Mask.wordCount(shape.size())];
                for (int j = 0; j < words.length; j++) {
                    words[j] = d.readLong();
                }
                Mask m;
                try {
                    m = Mask.fromWords(shape, words);
                } catch (IllegalArgumentException e) {
                    throw new MalformedMaskException("mask " + i + " (" + name + "): " + e.getMessage());
                }
                if (m.keptCount() != kept) {
                    throw new MalformedMaskException("mask " + i + " (" + name + "): header says " + kept
                            + " kept weights, bits hold " + m.keptCount());
                }
                if (b.masks.containsKey(name)) {
                    throw new MalformedMaskException("mask " + i + ": duplicate layer name " + name);
                }
                b.put(name, m);
            }
            MaskSet set = b.build();
            long stored = d.readLong();
            if (stored != set.checksum()) {
                throw new MalformedMaskException("mask set checksum mismatch: stored " + MaskChecksum.hex(stored)
                        + ", computed " + MaskChecksum.hex(set.checksum()));
            }
            return set;
        } catch (EOFException e) {
            throw new MalformedMaskException("mask set is truncated");
        }
    }

    /** Reads the serialized form. */
    public static MaskSet fromBytes(byte[] bytes) throws MalformedMaskException {
        try {
            return readFrom(new ByteArrayInputStream(bytes));
        } catch (MalformedMaskException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen on a byte array
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MaskSet && masks.equals(((MaskSet) o).masks);
    }

    @Override
    public int hashCode() {
        return masks.hashCode();
    }

    @Override
    public String toString() {
        return "MaskSet[" + masks.size() + " masks, " + zeroCount() + " of " + weightCount()
                + " zeros, checksum " + MaskChecksum.hex(checksum()) + "]";
    }

    /** Collects masks; names must be unique. */
    public static final class Builder {
        private final Map<String, Mask> masks = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder put(String name, Mask mask) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(mask, "mask");
            if (masks.putIfAbsent(name, mask) != null) {
                throw new IllegalArgumentException("mask set already has a mask for layer " + name);
            }
            return this;
        }

        public MaskSet build() {
            return new MaskSet(masks);
        }
    }
}
