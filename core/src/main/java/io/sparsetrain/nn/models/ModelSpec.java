package io.sparsetrain.nn.models;

import java.util.Objects;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * What every model builder needs besides the architecture: input shape, class count, layer
 * implementation, seed, updater and L2 weight decay. Immutable; build with {@link #builder()}.
 */
public final class ModelSpec {

    public static final long DEFAULT_SEED = 12345L;
    /** SGD with Nesterov momentum 0.9, learning rate 0.1 (the usual CIFAR ResNet setting). */
    public static final double DEFAULT_LEARNING_RATE = 0.1;
    public static final double DEFAULT_MOMENTUM = 0.9;
    /** L2 weight decay per step (DL4J's l2 coefficient). */
    public static final double DEFAULT_L2 = 1e-4;
    public static final LayerKind DEFAULT_LAYERS = LayerKind.SPARSE;

    private final ImageShape input;
    private final int numClasses;
    private final LayerKind layers;
    private final long seed;
    private final IUpdater updater;
    private final double l2;
    private final boolean smallInputStem;
    private final WorkspaceMode workspaceMode;
    private final boolean fastBatchNorm;

    private ModelSpec(Builder b) {
        this.input = Objects.requireNonNull(b.input, "input shape is required");
        if (b.numClasses < 2) {
            throw new IllegalArgumentException("numClasses must be >= 2, got numClasses=" + b.numClasses);
        }
        if (b.l2 < 0) {
            throw new IllegalArgumentException("l2 must be >= 0, got l2=" + b.l2);
        }
        this.numClasses = b.numClasses;
        this.layers = Objects.requireNonNull(b.layers, "layers");
        this.seed = b.seed;
        this.updater = b.updater != null ? b.updater : new Nesterovs(DEFAULT_LEARNING_RATE, DEFAULT_MOMENTUM);
        this.l2 = b.l2;
        this.smallInputStem = b.smallInputStem != null ? b.smallInputStem : Math.min(input.height(), input.width()) < 96;
        this.workspaceMode = Objects.requireNonNull(b.workspaceMode, "workspaceMode");
        this.fastBatchNorm = b.fastBatchNorm;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A spec with defaults for the given input and class count. */
    public static ModelSpec of(ImageShape input, int numClasses) {
        return builder().input(input).numClasses(numClasses).build();
    }

    public Builder toBuilder() {
        return builder().input(input).numClasses(numClasses).layers(layers).seed(seed).updater(updater).l2(l2)
                .smallInputStem(smallInputStem).workspaceMode(workspaceMode).fastBatchNorm(fastBatchNorm);
    }

    public ImageShape input() { return input; }
    public int numClasses() { return numClasses; }
    public LayerKind layers() { return layers; }
    public long seed() { return seed; }
    public IUpdater updater() { return updater; }
    public double l2() { return l2; }
    /**
     * ImageNet-style models only: replace the 7x7/2 stem conv and 3x3/2 max pool by a 3x3/1 conv
     * (default: true for inputs smaller than 96 pixels, e.g. 28x28 or 32x32).
     */
    public boolean smallInputStem() { return smallInputStem; }
    public WorkspaceMode workspaceMode() { return workspaceMode; }
    /**
     * With {@link LayerKind#SPARSE}: batch normalization, ReLU and residual sums by our plain-Java
     * {@code FastBatchNormalization}, {@code FastRelu} and {@code FastAdd} (default) instead of DL4J's layers
     * (its batch norm costs about as much as all convolutions of a ResNet training step); false keeps DL4J's.
     */
    public boolean fastBatchNorm() { return fastBatchNorm; }

    @Override
    public String toString() {
        return "ModelSpec{input=" + input + ", numClasses=" + numClasses + ", layers=" + layers + ", seed=" + seed
                + ", updater=" + updater + ", l2=" + l2 + ", smallInputStem=" + smallInputStem + ", workspaceMode=" + workspaceMode
                + ", fastBatchNorm=" + fastBatchNorm + "}";
    }

    public static final class Builder {
        private ImageShape input;
        private int numClasses;
        private LayerKind layers = DEFAULT_LAYERS;
        private long seed = DEFAULT_SEED;
        private IUpdater updater;
        private double l2 = DEFAULT_L2;
        private Boolean smallInputStem;
        private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;
        private boolean fastBatchNorm = true;

        public Builder input(ImageShape v) { input = v; return this; }
        public Builder input(int channels, int height, int width) { input = ImageShape.of(channels, height, width); return this; }
        public Builder numClasses(int v) { numClasses = v; return this; }
        public Builder layers(LayerKind v) { layers = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder updater(IUpdater v) { updater = v; return this; }
        public Builder l2(double v) { l2 = v; return this; }
        public Builder smallInputStem(boolean v) { smallInputStem = v; return this; }
        public Builder workspaceMode(WorkspaceMode v) { workspaceMode = v; return this; }
        public Builder fastBatchNorm(boolean v) { fastBatchNorm = v; return this; }

        public ModelSpec build() {
            return new ModelSpec(this);
        }
    }
}
