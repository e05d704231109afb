package io.sparsetrain.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.method.MagnitudePruner;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaskSetTest {

    /** A small fixed set: its checksum is pinned below so that a change of the canonical order shows up. */
    static MaskSet fixture() {
        MaskSet.Builder b = MaskSet.builder();
        LayerShape[] shapes = {LayerShape.conv(4, 3, 3, 3), LayerShape.conv(8, 4, 1, 1), LayerShape.denseInOut(8, 5)};
        String[] names = {"conv", "down", "fc"};
        for (int l = 0; l < shapes.length; l++) {
            boolean[] keep = new boolean[shapes[l].size()];
            for (int i = 0; i < keep.length; i++) {
                keep[i] = (i * 7 + l) % 5 < 3;
            }
            b.put(names[l], Mask.fromKeep(shapes[l], keep));
        }
        return b.build();
    }

    @Test
    void roundTrips() throws Exception {
        List<PrunableLayer> layers = TestLayers.resnet20();
        MaskSet.Builder b = MaskSet.builder();
        for (PrunableLayer l : layers) {
            b.put(l.name(), new MagnitudePruner().makeMask(l, 0.63));
        }
        MaskSet set = b.build();
        MaskSet back = MaskSet.fromBytes(set.toBytes());
        assertEquals(set, back);
        assertEquals(set.checksum(), back.checksum());
        assertEquals(List.copyOf(set.names()), List.copyOf(back.names()));
        assertEquals(fixture(), MaskSet.fromBytes(fixture().toBytes()));
    }

    @Test
    void checksumIsStableAndIgnoresInsertionOrder() {
        MaskSet f = fixture();
        assertEquals(PINNED_CHECKSUM, MaskChecksum.hex(f.checksum()), "canonical checksum changed");
        MaskSet.Builder reversed = MaskSet.builder();
        List<String> names = new java.util.ArrayList<>(f.names());
        java.util.Collections.reverse(names);
        names.forEach(n -> reversed.put(n, f.get(n)));
        assertEquals(f.checksum(), reversed.build().checksum());
        // one flipped bit changes it
        Mask conv = f.get("conv");
        boolean[] keep = conv.toKeepArray();
        keep[17] = !keep[17];
        MaskSet.Builder flipped = MaskSet.builder().put("conv", Mask.fromKeep(conv.shape(), keep));
        flipped.put("down", f.get("down")).put("fc", f.get("fc"));
        assertNotEquals(f.checksum(), flipped.build().checksum());
        // the layout is part of the checksum
        assertNotEquals(Mask.allKept(LayerShape.dense(5, 8)).checksum(),
                Mask.allKept(LayerShape.denseInOut(8, 5)).checksum());
    }

    static final String PINNED_CHECKSUM = "5461a77e24a8d219"; // regenerate: print MaskChecksum.hex(fixture().checksum())

    @Test
    void unknownVersionFailsNamingIt() {
        byte[] bytes = fixture().toBytes();
        ByteBuffer.wrap(bytes).putInt(4, 7);
        MalformedMaskException e = assertThrows(MalformedMaskException.class, () -> MaskSet.fromBytes(bytes));
        assertTrue(e.getMessage().contains("version 7") && e.getMessage().contains("version 1"), e.getMessage());
    }

    @Test
    void corruptInputFailsClearly() {
        byte[] bytes = fixture().toBytes();
        byte[] badMagic = bytes.clone();
        badMagic[0] = 'X';
        assertTrue(assertThrows(MalformedMaskException.class, () -> MaskSet.fromBytes(badMagic))
                .getMessage().contains("magic"));
        byte[] truncated = Arrays.copyOf(bytes, bytes.length - 3);
        assertTrue(assertThrows(MalformedMaskException.class, () -> MaskSet.fromBytes(truncated))
                .getMessage().contains("truncated"));
        byte[] flipped = bytes.clone();
        flipped[bytes.length - 20] ^= 0x01; // a mask bit: kept count or checksum must catch it
        assertThrows(MalformedMaskException.class, () -> MaskSet.fromBytes(flipped));
    }

    @Test
    void rejectsDuplicateNames() {
        Mask m = Mask.allKept(LayerShape.dense(2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MaskSet.builder().put("a", m).put("a", m));
        assertTrue(e.getMessage().contains("a"));
    }
}
