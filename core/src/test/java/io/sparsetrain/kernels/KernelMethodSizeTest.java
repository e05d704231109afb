package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The default-route Vector API kernels stay small enough for C1. When C1's tier-3 compile of a kernel fails
 * ("out of virtual registers", seen at 2,328 bytes of bytecode) after a tier-2 compile, HotSpot 17 can leave
 * the kernel in tier-2 code for good, where every Vector API call runs its Java fallback: ResNet-20 2:4
 * batch-1 inference ran at 17-40 images/s instead of ~125. Kernels of up to ~1,900 bytes compiled at every tier;
 * the generators keep them below that by moving rare paths (row tails) into small methods.
 */
class KernelMethodSizeTest {

    /** Largest bytecode size seen to compile at tier 3 with the kernels' 16 vector accumulators. */
    static final int MAX_KERNEL_BYTES = 1900;

    @ParameterizedTest
    @ValueSource(strings = {"io.sparsetrain.kernels.vector.NmGatherKernels", "io.sparsetrain.kernels.vector.VectorGemm",
            "io.sparsetrain.kernels.vector.NmGroupedWeightGradKernels"})
    void everyMethodIsSmallEnoughForC1(String className) throws IOException {
        Map<String, Integer> sizes = codeSizes(className);
        assertFalse(sizes.isEmpty(), "no methods read from " + className);
        assertTrue(sizes.keySet().stream().anyMatch(m -> !m.startsWith("<")), "only constructors read from " + className);
        sizes.forEach((method, bytes) -> assertTrue(bytes <= MAX_KERNEL_BYTES,
                className + "." + method + " has " + bytes + " bytes of bytecode, over " + MAX_KERNEL_BYTES
                        + ": C1 may fail to compile it and leave the Vector API in its slow fallback"));
    }

    @Test
    void theReaderSeesALargeMethod() throws IOException {
        // the sampled weight-gradient kernels (off by default) are far larger: the reader must report that
        Map<String, Integer> sizes = codeSizes("io.sparsetrain.kernels.vector.NmWeightGradKernels");
        assertTrue(sizes.values().stream().anyMatch(b -> b > 4000), "sizes read: " + sizes);
    }

    /** Bytecode length of every method of a class, from its class file (JVMS 4: constant pool, fields, methods). */
    static Map<String, Integer> codeSizes(String className) throws IOException {
        String resource = "/" + className.replace('.', '/') + ".class";
        try (InputStream raw = KernelMethodSizeTest.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IOException("class file " + resource + " not on the classpath");
            }
            DataInputStream in = new DataInputStream(raw);
            if (in.readInt() != 0xCAFEBABE) {
                throw new IOException(resource + " is not a class file");
            }
            in.readUnsignedShort(); // minor
            in.readUnsignedShort(); // major
            int poolCount = in.readUnsignedShort();
            String[] utf8 = new String[poolCount];
            for (int i = 1; i < poolCount; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> utf8[i] = in.readUTF();
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                    case 5, 6 -> {
                        in.skipNBytes(8);
                        i++; // long and double take two entries
                    }
                    case 7, 8, 16, 19, 20 -> in.skipNBytes(2);
                    case 15 -> in.skipNBytes(3);
                    default -> throw new IOException(resource + ": unknown constant pool tag " + tag + " at entry " + i);
                }
            }
            in.skipNBytes(6); // access flags, this class, super class
            in.skipNBytes(2L * in.readUnsignedShort()); // interfaces
            int fields = in.readUnsignedShort();
            for (int f = 0; f < fields; f++) {
                in.skipNBytes(6);
                skipAttributes(in);
            }
            Map<String, Integer> sizes = new LinkedHashMap<>();
            int methods = in.readUnsignedShort();
            for (int m = 0; m < methods; m++) {
                in.readUnsignedShort(); // access flags
                String name = utf8[in.readUnsignedShort()];
                String descriptor = utf8[in.readUnsignedShort()];
                int attributes = in.readUnsignedShort();
                for (int a = 0; a < attributes; a++) {
                    String attr = utf8[in.readUnsignedShort()];
                    int length = in.readInt();
                    if (attr.equals("Code")) {
                        in.readUnsignedShort(); // max stack
                        in.readUnsignedShort(); // max locals
                        int codeLength = in.readInt();
                        sizes.put(name + descriptor, codeLength);
                        in.skipNBytes(length - 8L);
                    } else {
                        in.skipNBytes(length);
                    }
                }
            }
            return sizes;
        }
    }

    private static void skipAttributes(DataInputStream in) throws IOException {
        int attributes = in.readUnsignedShort();
        for (int a = 0; a < attributes; a++) {
            in.readUnsignedShort();
            in.skipNBytes(in.readInt() & 0xFFFFFFFFL);
        }
    }
}
