package io.sparsetrain.nn.layers;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between ND4J arrays (any order, possibly views, any workspace) and the flat
 * row-major {@code float[]} the kernel engine works on. Contiguous arrays are copied with one NIO
 * bulk transfer (about memcpy speed; {@code DataBuffer.asFloat()/setData} is ~20x slower).
 */
public final class NdFloats {

    private NdFloats() {
    }

    /** The elements of {@code a} in {@code order} ('c' = row-major) as a new float array. */
    public static float[] read(INDArray a, char order) {
        INDArray src = a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
        if (!isContiguous(src, order)) {
            src = src.dup(order);
        }
        float[] out = new float[Math.toIntExact(src.length())];
        FloatBuffer fb = src.data().asNioFloat();
        fb.position(Math.toIntExact(src.offset()));
        fb.get(out);
        return out;
    }

    /** Writes {@code values} (laid out in {@code order}) into {@code dst}, which keeps its shape. */
    public static void write(float[] values, INDArray dst, char order) {
        if (values.length != dst.length()) {
            throw new IllegalArgumentException("values has " + values.length + " entries, array " + java.util.Arrays.toString(dst.shape())
                    + " has " + dst.length());
        }
        if (dst.dataType() == DataType.FLOAT && isContiguous(dst, order)) {
            FloatBuffer fb = dst.data().asNioFloat();
            fb.position(Math.toIntExact(dst.offset()));
            fb.put(values);
        } else {
            dst.assign(Nd4j.create(values, dst.shape(), order).castTo(dst.dataType()));
        }
    }

    /** True when the elements of {@code a} occupy one contiguous run of its buffer in {@code order}. */
    static boolean isContiguous(INDArray a, char order) {
        if (a.length() <= 1) {
            return true;
        }
        if (a.isVector() && a.elementWiseStride() == 1) {
            return true; // for a vector both orders are the same sequence
        }
        return a.ordering() == order && Shape.hasDefaultStridesForShape(a);
    }
}
