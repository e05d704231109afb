package io.sparsetrain.nn.strbn;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** The first images of the real Fashion-MNIST IDX files (Debian's dataset-fashion-mnist), scaled to [0, 1]. */
final class FashionMnist {

    static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");

    private FashionMnist() {
    }

    /** The first {@code n} images of {@code train} or {@code t10k}: features [n, 1, 28, 28], one-hot labels [n, 10]. */
    static DataSet load(String split, int n) {
        Path images = DIR.resolve(split + "-images-idx3-ubyte.gz");
        Path labels = DIR.resolve(split + "-labels-idx1-ubyte.gz");
        try (DataInputStream im = open(images); DataInputStream lb = open(labels)) {
            check(im.readInt(), 2051, images);
            int count = im.readInt();
            int rows = im.readInt();
            int cols = im.readInt();
            check(lb.readInt(), 2049, labels);
            if (lb.readInt() != count || n > count) {
                throw new IOException("asked for " + n + " of " + count + " images in " + images);
            }
            float[] x = new float[n * rows * cols];
            byte[] buf = new byte[rows * cols];
            float[] y = new float[n * 10];
            for (int i = 0; i < n; i++) {
                im.readFully(buf);
                for (int j = 0; j < buf.length; j++) {
                    x[i * buf.length + j] = (buf[j] & 0xff) / 255f;
                }
                y[i * 10 + lb.readUnsignedByte()] = 1f;
            }
            INDArray features = Nd4j.create(x, new long[] {n, 1, rows, cols}, 'c').castTo(DataType.FLOAT);
            return new DataSet(features, Nd4j.create(y, new long[] {n, 10}, 'c'));
        } catch (IOException e) {
            throw new UncheckedIOException("reading Fashion-MNIST from " + DIR, e);
        }
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = Files.newInputStream(p);
        return new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(in)));
    }

    private static void check(int magic, int expected, Path p) throws IOException {
        if (magic != expected) {
            throw new IOException(p + ": IDX magic " + magic + ", expected " + expected);
        }
    }
}
