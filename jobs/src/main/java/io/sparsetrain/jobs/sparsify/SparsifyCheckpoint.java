package io.sparsetrain.jobs.sparsify;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * A resumable point of a learned sparsify run: the trainable vector, its optimizer moments and where the run
 * was. Format version 1 (big-endian): int magic "STSF", int version, UTF method, int epoch, int round in epoch,
 * double elapsed seconds, long optimizer step, int length, then length floats each of vector, first and second
 * moment. A reader meeting another version or method fails with a message naming it.
 */
record SparsifyCheckpoint(String method, int epoch, int roundInEpoch, double elapsedSeconds, TrainerState state) {
  static final int MAGIC = 0x53545346; // "STSF"
  static final int FORMAT_VERSION = 1;

  byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream d = new DataOutputStream(bytes);
      d.writeInt(MAGIC);
      d.writeInt(FORMAT_VERSION);
      d.writeUTF(method);
      d.writeInt(epoch);
      d.writeInt(roundInEpoch);
      d.writeDouble(elapsedSeconds);
      d.writeLong(state.optimizer.step);
      d.writeInt(state.vector.length);
      for (float[] a : new float[][] {state.vector, state.optimizer.m, state.optimizer.v}) {
        for (float x : a) {
          d.writeFloat(x);
        }
      }
      d.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e); // a byte array cannot fail
    }
  }

  /**
   * @param where the file, for messages
   * @param optimizer the run's optimizer settings (learning rates, decay, split); the moments come from the file
   * @throws SparsifyException for a foreign or truncated file
   */
  static SparsifyCheckpoint fromBytes(byte[] bytes, String where, AveragedAdamW optimizer) {
    try {
      DataInputStream d = new DataInputStream(new ByteArrayInputStream(bytes));
      int magic = d.readInt();
      if (magic != MAGIC) {
        throw new SparsifyException(where + " is not a sparsify checkpoint (magic 0x" + Integer.toHexString(magic) + ")");
      }
      int version = d.readInt();
      if (version != FORMAT_VERSION) {
        throw new SparsifyException(where + " has checkpoint format version " + version + ", this build reads "
            + FORMAT_VERSION);
      }
      String method = d.readUTF();
      int epoch = d.readInt();
      int round = d.readInt();
      double elapsed = d.readDouble();
      long step = d.readLong();
      int n = d.readInt();
      if (n < 0) {
        throw new SparsifyException(where + ": negative vector length " + n);
      }
      float[][] a = new float[3][n];
      for (float[] x : a) {
        for (int i = 0; i < n; i++) {
          x[i] = d.readFloat();
        }
      }
      return new SparsifyCheckpoint(method, epoch, round, elapsed,
          new TrainerState(a[0], new AveragedAdamW(optimizer.learningRate, optimizer.weightDecay,
              Math.min(optimizer.split, n), optimizer.splitLearningRate, a[1], a[2], step)));
    } catch (EOFException e) {
      throw new SparsifyException(where + " is truncated");
    } catch (IOException e) {
      throw new SparsifyException(where + ": " + e.getMessage(), e);
    }
  }
}
