package io.sparsetrain.prune;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * 64-bit checksum of masks, so the driver and every worker can confirm they hold identical masks
 * (parameter averaging keeps a weight at zero only when every worker zeroes it).
 *
 * <p>Canonical order: for one mask, the layout code, the storage dimensions, then the packed words
 * (bit i of the storage order at bit {@code i % 64} of word {@code i / 64}, unused tail bits zero);
 * for a {@link MaskSet}, the masks in ascending name order ({@link String#compareTo}), each preceded by
 * its UTF-8 name, so insertion order does not matter. The mixing is xxHash64's 8-byte step and
 * avalanche; it detects accidental divergence and is not cryptographic.
 */
public final class MaskChecksum {
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private long h = P5;
    private long length;

    private MaskChecksum() {
    }

    /** Checksum of one mask (shape and bits). */
    public static long of(Mask mask) {
        MaskChecksum c = new MaskChecksum();
        c.mask(mask);
        return c.digest();
    }

    /** Checksum of a mask set, in name order. */
    public static long of(MaskSet set) {
        MaskChecksum c = new MaskChecksum();
        List<String> names = new ArrayList<>(set.names());
        Collections.sort(names);
        c.update(names.size());
        for (String name : names) {
            byte[] b = name.getBytes(StandardCharsets.UTF_8);
            c.update(b.length);
            for (byte x : b) {
                c.update(x & 0xFF);
            }
            c.mask(set.get(name));
        }
        return c.digest();
    }

    /** Sixteen lower-case hex digits. */
    public static String hex(long checksum) {
        return String.format("%016x", checksum);
    }

    private void mask(Mask mask) {
        LayerShape s = mask.shape();
        update(s.layout().code());
        int[] dims = s.dims();
        update(dims.length);
        for (int d : dims) {
            update(d);
        }
        for (long w : mask.words()) {
            update(w);
        }
    }

    private void update(long word) {
        long k = word * P2;
        k = Long.rotateLeft(k, 31) * P1;
        h ^= k;
        h = Long.rotateLeft(h, 27) * P1 + P4;
        length += 8;
    }

    private long digest() {
        long x = h + length;
        x ^= x >>> 33;
        x *= P2;
        x ^= x >>> 29;
        x *= P3;
        x ^= x >>> 32;
        return x;
    }
}
