package io.sparsetrain.benchmarks.nn;

import io.sparsetrain.kernels.KernelProvider;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.infer.InferencePlan;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Side-by-side throughput of ResNet-20 (1x28x28, 10 classes) on stock DL4J layers, on our sparse
 * layers computing densely, and on our layers with frozen 2:4 masks (every sparse layer but the stem,
 * as the pruning controller does), and our dense layers with DL4J's ReLU layers and residual vertex instead of
 * FastRelu / FastAdd: training images/s (Nesterovs, batch {@code --batch}) and
 * inference images/s at batch 1 and 32; and, for comparison, 2:4 training with the weight gradient
 * computed densely and masked (system property {@code sparsetrain.nn.nmDenseWeightGradient}) and without the
 * pattern-grouped weight-gradient kernel the default routes these shapes to ({@code sparsetrain.kernels.dwGrouped=false});
 * and inference only, the dense and the frozen 2:4 network compiled into
 * {@link io.sparsetrain.nn.infer.InferencePlan}s ("plan dense", "plan 2:4 frozen"). Prints
 * a table with ratios and, for our modes, a simple sampling profile of where the training step and batch-1
 * inference spend their time (by layer class).
 *
 * <p>Not a JMH benchmark: whole-network steps of 0.1-2 s each, timed for {@code --seconds} after
 * warm-up ({@code --warmup-rounds}, default 1: whole rounds of every mode run and thrown away first); with {@code --repeats N} the measurements run N interleaved rounds (every mode once per round: its
 * training, then its inference at batch 1 and 32, so a drifting shared machine hits all modes alike) and the
 * median is reported with every round's value; {@code --inference-only} skips the training. Usage:
 * {@code LayersBenchmark [--batch 64] [--seconds 10] [--repeats 1] [--warmup-rounds 1] [--skip-stock] [--inference-only]}.
 */
public final class LayersBenchmark {

    static final ImageShape INPUT = ImageShape.of(1, 28, 28);
    private static final int CLASSES = 10;
    /** io.sparsetrain.nn.layers.ConvCompute.NM_DENSE_WEIGHT_GRADIENT_PROPERTY. */
    private static final String NM_DENSE_DW = "sparsetrain.nn.nmDenseWeightGradient";

    /** Read on every forward and input gradient: the direct convolution can be switched off for one mode. */
    private static final String DIRECT = io.sparsetrain.kernels.Conv2dKernels.DIRECT_PROPERTY;

    /** Read on every weight gradient: the grouped route can be switched off for one mode. */
    private static final String DW_GROUPED = io.sparsetrain.kernels.vector.VectorGemm.DW_GROUPED_PROPERTY;

    /** A measured configuration: a model, the system property set while it trains, and what is measured. */
    private record Mode(String name, ComputationGraph graph, String property, String value, boolean inference,
                        boolean profile, InferencePlan plan) {
        Mode(String name, ComputationGraph graph, String property, String value, boolean inference, boolean profile) {
            this(name, graph, property, value, inference, profile, null);
        }
    }

    public static void main(String[] args) throws Exception {
        int batch = 64;
        double seconds = 10;
        int repeats = 1;
        int warmupRounds = 1;
        boolean skipStock = false;
        boolean inferenceOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--warmup-rounds" -> warmupRounds = Integer.parseInt(args[++i]);
                case "--skip-stock" -> skipStock = true;
                case "--inference-only" -> inferenceOnly = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: LayersBenchmark [--batch 64] [--seconds 10] [--repeats 1] [--warmup-rounds 1] [--skip-stock] [--inference-only]");
            }
        }
        if (repeats < 1) {
            throw new IllegalArgumentException("--repeats must be >= 1, got " + repeats);
        }
        if (warmupRounds < 0) {
            throw new IllegalArgumentException("--warmup-rounds must be >= 0, got " + warmupRounds);
        }
        System.out.printf(Locale.ROOT, "# LayersBenchmark %s%n# ResNet-20 %s, %d classes, train batch %d, %.0f s per measurement, "
                        + "%d interleaved rounds (median reported) after %d unrecorded warm-up round(s)%n",
                LocalDateTime.now(), INPUT, CLASSES, batch, seconds, repeats, warmupRounds);
        System.out.printf(Locale.ROOT, "# kernels=%s vectorized=%s kernel threads=%d, cores=%d, OMP_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s, java %s%n",
                KernelProvider.get().name(), KernelProvider.isVectorized(), KernelThreads.shared().threads(),
                Runtime.getRuntime().availableProcessors(), System.getenv("OMP_NUM_THREADS"), System.getenv("OPENBLAS_CORETYPE"),
                System.getProperty("java.version"));

        System.out.println("# load average at start (1/5/15 min, 2 cores shared with other jobs): " + loadAverage());
        List<Mode> modes = new ArrayList<>();
        if (!skipStock) {
            modes.add(new Mode("stock DL4J", model(LayerKind.STOCK, false), null, null, true, false));
        }
        modes.add(new Mode("ours dense", model(LayerKind.SPARSE, false), null, null, true, true));
        // the same network with DL4J's activation layers and residual vertex instead of FastRelu / FastAdd
        modes.add(new Mode("dense, DL4J relu+add", dl4jReluAdd(model(LayerKind.SPARSE, false)), null, null, true, false));
        modes.add(new Mode("ours 2:4 frozen", model(LayerKind.SPARSE, true), null, null, true, true));
        // the same 2:4 model's training with the N:M weight gradient computed densely and masked, and without the
        // pattern-grouped kernel that the default routes ResNet-20's shapes to (training only: inference computes
        // no weight gradient)
        modes.add(new Mode("2:4, dense dW", model(LayerKind.SPARSE, true), NM_DENSE_DW, "true", false, false));
        modes.add(new Mode("2:4, no grouped", model(LayerKind.SPARSE, true), DW_GROUPED, "false", false, false));
        // inference only: the same networks compiled into InferencePlans (batch norm folded, ReLU fused, outside DL4J's graph)
        modes.add(new Mode("plan dense", null, null, null, true, false, InferencePlan.compile(model(LayerKind.SPARSE, false))));
        modes.add(new Mode("plan 2:4 frozen", null, null, null, true, false, InferencePlan.compile(model(LayerKind.SPARSE, true))));
        // the same networks with every convolution through im2col / col2im (the route before the direct convolution)
        modes.add(new Mode("dense, im2col", model(LayerKind.SPARSE, false), DIRECT, "false", true, false));
        modes.add(new Mode("2:4, im2col", model(LayerKind.SPARSE, true), DIRECT, "false", true, false));
        modes.add(new Mode("plan dense, im2col", null, DIRECT, "false", true, false, InferencePlan.compile(model(LayerKind.SPARSE, false))));
        modes.add(new Mode("plan 2:4, im2col", null, DIRECT, "false", true, false, InferencePlan.compile(model(LayerKind.SPARSE, true))));

        // every mode once per round, rounds interleaved so that drifts of a shared machine hit all modes alike:
        // training for --seconds, then inference at batch 1 and 32 for half of it each (the inference modes)
        Map<String, List<Double>> train = new java.util.LinkedHashMap<>();
        Map<String, List<Double>> infer1 = new java.util.LinkedHashMap<>();
        Map<String, List<Double>> infer32 = new java.util.LinkedHashMap<>();
        List<Result> results = new ArrayList<>();
        // warm-up rounds run every mode exactly like a measured round and are thrown away: the JIT compiles the
        // kernels' Vector API code late (in the interpreter it runs ~100x slower), and without them the first
        // rounds of batch-1 inference measured compilation (session 8: 22 -> 110 -> 169 images/s in rounds 1-3)
        for (int pass = 0; pass < warmupRounds + repeats; pass++) {
            boolean warmup = pass < warmupRounds;
            int round = pass - warmupRounds;
            if (warmup) {
                System.out.println("# warm-up round " + (pass + 1) + " of " + warmupRounds + " (not recorded)");
            }
            for (Mode m : modes) {
                if (inferenceOnly && !m.inference()) {
                    continue;
                }
                if (m.property() != null) {
                    System.setProperty(m.property(), m.value());
                }
                try {
                    boolean profile = m.profile() && round == 0;
                    Result r = inferenceOnly || m.plan() != null ? new Result(m.name())
                            : train(m.name(), m.graph(), batch, seconds, profile);
                    double b1 = Double.NaN;
                    double b32 = Double.NaN;
                    if (m.inference()) {
                        Sampler sampler = profile ? new Sampler(Thread.currentThread()) : null;
                        b1 = infer(m, 1, seconds / 2);
                        if (sampler != null) {
                            sampler.stop();
                            r.inferProfile = sampler.counts;
                            r.inferSamples = sampler.total;
                        }
                        b32 = infer(m, 32, seconds / 2);
                    }
                    if (warmup) {
                        continue;
                    }
                    if (!inferenceOnly && m.plan() == null) {
                        train.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(r.train);
                    }
                    if (m.inference()) {
                        infer1.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(b1);
                        infer32.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(b32);
                    }
                    if (round == 0) {
                        results.add(r);
                    }
                } finally {
                    if (m.property() != null) {
                        System.clearProperty(m.property());
                    }
                }
            }
        }
        for (Result r : results) {
            r.trainRuns = sorted(train.getOrDefault(r.name, List.of()));
            r.train = median(r.trainRuns);
            r.infer1Runs = sorted(infer1.get(r.name));
            r.infer1 = median(r.infer1Runs);
            r.infer32Runs = sorted(infer32.get(r.name));
            r.infer32 = median(r.infer32Runs);
        }

        Result stock = results.stream().filter(r -> r.name.startsWith("stock")).findFirst().orElse(null);
        Result dense = results.stream().filter(r -> r.name.equals("ours dense")).findFirst().orElseThrow();
        System.out.println();
        System.out.printf(Locale.ROOT, "%-20s %12s %12s %12s | %22s | %22s | %s%n", "mode", "train img/s", "infer b=1", "infer b=32",
                "vs stock (tr/b1/b32)", "vs ours dense (tr/b1/b32)", "rounds, sorted: training; b=1; b=32");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-20s %12s %12s %12s | %22s | %22s | %s; %s; %s%n", r.name, num(r.train), num(r.infer1),
                    num(r.infer32), stock == null ? "-" : ratios(r, stock), ratios(r, dense), runs(r.trainRuns), runs(r.infer1Runs),
                    runs(r.infer32Runs));
        }
        Result planDense = results.stream().filter(r -> r.name.equals("plan dense")).findFirst().orElse(null);
        Result plan24 = results.stream().filter(r -> r.name.equals("plan 2:4 frozen")).findFirst().orElse(null);
        if (planDense != null && plan24 != null) {
            System.out.printf(Locale.ROOT, "%nplan 2:4 frozen vs plan dense (b1 / b32): %s / %s; plan dense vs ours dense: %s / %s%n",
                    ratio(plan24.infer1, planDense.infer1), ratio(plan24.infer32, planDense.infer32),
                    ratio(planDense.infer1, dense.infer1), ratio(planDense.infer32, dense.infer32));
        }
        System.out.println();
        System.out.println("# load average at end: " + loadAverage());
        System.out.println("# targets: ours dense >= 5x stock (training); 2:4 frozen >= 1.5x ours dense");
        for (Result r : results) {
            printProfile("training-step profile, " + r.name, r.profile, r.samples);
            printProfile("batch-1 inference profile, " + r.name, r.inferProfile, r.inferSamples);
        }
    }

    private static void printProfile(String title, Map<String, Long> counts, long samples) {
        if (counts == null || samples == 0) {
            return;
        }
        System.out.println("# " + title + " (share of main-thread samples by layer class):");
        counts.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(12)
                .forEach(e -> System.out.printf(Locale.ROOT, "#   %-40s %5.1f%%%n", e.getKey(), 100.0 * e.getValue() / samples));
    }

    private static List<Double> sorted(List<Double> v) {
        if (v == null) {
            return List.of();
        }
        List<Double> t = new ArrayList<>(v);
        java.util.Collections.sort(t);
        return t;
    }

    private static double median(List<Double> t) {
        if (t.isEmpty()) {
            return Double.NaN;
        }
        return t.size() % 2 == 1 ? t.get(t.size() / 2) : (t.get(t.size() / 2 - 1) + t.get(t.size() / 2)) / 2;
    }

    private static String runs(List<Double> t) {
        return t.isEmpty() ? "-" : t.stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).toList().toString();
    }

    private static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String ratios(Result r, Result base) {
        return ratio(r.train, base.train) + " / " + ratio(r.infer1, base.infer1) + " / " + ratio(r.infer32, base.infer32);
    }

    private static String ratio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? "-" : String.format(Locale.ROOT, "%.2fx", a / b);
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    /** ResNet-20 on {@code kind} layers, with magnitude 2:4 masks frozen on every sparse layer but the stem if asked. */
    static ComputationGraph model(LayerKind kind, boolean twoFour) {
        ModelSpec spec = ModelSpec.builder().input(INPUT).numClasses(CLASSES).layers(kind).build();
        ComputationGraph g = ResNets.init(ResNets.cifar(20, spec));
        if (twoFour) {
            MaskedNetwork mn = MaskedNetwork.of(g);
            NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4);
            MaskSet.Builder b = MaskSet.builder();
            for (PrunableLayer l : mn.prunableLayers()) {
                if (!l.name().equals("stem")) {
                    b.put(l.name(), pruner.makeMask(l));
                }
            }
            mn.freeze(b.build());
            System.out.println("# 2:4 compressed layers: " + mn.compressedLayers().size() + " of " + mn.sparseLayers().size()
                    + ", mask checksum " + mn.maskChecksum());
        }
        return g;
    }

    /** {@code g} with DL4J's ReLU activation layers and element-wise add vertices in place of ours, same parameters. */
    private static ComputationGraph dl4jReluAdd(ComputationGraph g) {
        String json = g.getConfiguration().toJson()
                .replace(io.sparsetrain.nn.layers.FastRelu.class.getName(), org.deeplearning4j.nn.conf.layers.ActivationLayer.class.getName())
                .replace(io.sparsetrain.nn.layers.FastAdd.class.getName(), org.deeplearning4j.nn.conf.graph.ElementWiseVertex.class.getName());
        ComputationGraph out = new ComputationGraph(org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(json));
        out.init(g.params().dup(), false);
        return out;
    }

    private static final class Result {
        final String name;
        double train;
        double infer1;
        double infer32;
        List<Double> trainRuns = List.of();
        List<Double> infer1Runs = List.of();
        List<Double> infer32Runs = List.of();
        Map<String, Long> profile;
        long samples;
        Map<String, Long> inferProfile;
        long inferSamples;

        Result(String name) {
            this.name = name;
        }
    }

    /** Training images/s of {@code g} over {@code seconds} after a warm-up (the model keeps training across rounds). */
    private static Result train(String name, ComputationGraph g, int batch, double seconds, boolean profile)
            throws InterruptedException {
        Result r = new Result(name);
        DataSet ds = data(batch, 1);
        int warm = 4; // DL4J sizes its workspaces in the first iterations; JIT warm-up for ours
        for (int i = 0; i < warm; i++) {
            g.fit(ds);
        }
        Sampler sampler = profile ? new Sampler(Thread.currentThread()) : null;
        long t0 = System.nanoTime();
        int steps = 0;
        while (steps < 5 || System.nanoTime() - t0 < seconds * 1e9) {
            g.fit(ds);
            steps++;
        }
        double el = (System.nanoTime() - t0) / 1e9;
        if (sampler != null) {
            sampler.stop();
            r.profile = sampler.counts;
            r.samples = sampler.total;
        }
        r.train = steps * batch / el;
        System.out.printf(Locale.ROOT, "%-16s train: %d steps of %d in %.1f s -> %.1f img/s (score %.3f)%n", name, steps, batch, el, r.train, g.score());
        return r;
    }

    private static double infer(Mode m, int batch, double seconds) {
        String name = m.name();
        INDArray x = data(batch, 2).getFeatures();
        Runnable pass = m.plan() != null ? () -> m.plan().output(x) : () -> m.graph().outputSingle(x);
        for (int i = 0; i < 3; i++) {
            pass.run();
        }
        long t0 = System.nanoTime();
        int n = 0;
        while (n < 3 || System.nanoTime() - t0 < seconds * 1e9) {
            pass.run();
            n++;
        }
        double el = (System.nanoTime() - t0) / 1e9;
        double ips = n * batch / el;
        System.out.printf(Locale.ROOT, "%-16s infer b=%d: %d batches in %.1f s -> %.1f img/s%n", name, batch, n, el, ips);
        return ips;
    }

    private static DataSet data(int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, INPUT.channels(), INPUT.height(), INPUT.width());
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, CLASSES);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % CLASSES, 1f);
        }
        return new DataSet(x, y);
    }

    /** Samples a thread's stack every 2 ms and attributes each sample to the innermost layer/vertex/updater frame. */
    private static final class Sampler {
        final Map<String, Long> counts = new HashMap<>();
        long total;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Sampler(Thread target) {
            thread = new Thread(() -> {
                while (running.get()) {
                    StackTraceElement[] st = target.getStackTrace();
                    String bucket = classify(st);
                    synchronized (counts) {
                        counts.merge(bucket, 1L, Long::sum);
                        total++;
                    }
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "profile-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        static String classify(StackTraceElement[] st) {
            for (StackTraceElement e : st) {
                String c = e.getClassName();
                if (c.startsWith("io.sparsetrain.nn.layers.") || c.startsWith("org.deeplearning4j.nn.layers.")
                        || c.startsWith("org.deeplearning4j.nn.graph.vertex.impl.") || c.startsWith("org.deeplearning4j.nn.updater.")) {
                    String simple = c.substring(c.lastIndexOf('.') + 1);
                    int dollar = simple.indexOf('$');
                    simple = dollar > 0 ? simple.substring(0, dollar) : simple;
                    boolean back = false;
                    for (StackTraceElement f : st) {
                        if (f.getMethodName().startsWith("backprop") || f.getMethodName().equals("calcBackpropGradients")) {
                            back = true;
                            break;
                        }
                    }
                    return simple + (c.contains(".updater.") ? "" : back ? " backward" : " forward");
                }
            }
            return "other (graph plumbing, data, listeners)";
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }
}
