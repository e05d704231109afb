package io.sparsetrain.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads JMH's JSON result ({@code -rf json}) of the kernel benchmarks and prints dense-equivalent
 * GFLOP/s (median over all measurement iterations of all forks, and best = from the fastest
 * iteration) side by side with the ratios the issue asks for, one line per shape and thread count.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.sparsetrain.benchmarks.RatioReport result.json}
 */
public final class RatioReport {

    /** One benchmark x params: milliseconds per operation of every measurement iteration. */
    record Result(String method, String shape, int threads, double[] msPerOp) {
        double median() {
            double[] s = msPerOp.clone();
            Arrays.sort(s);
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }

        double min() {
            return Arrays.stream(msPerOp).min().orElse(Double.NaN);
        }
    }

    private final Map<String, Result> results = new LinkedHashMap<>();
    /** The batch size of the conv2d results read (0 before any). */
    private int convBatch;

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: RatioReport <jmh-result.json>");
            System.exit(2);
        }
        RatioReport r = new RatioReport();
        r.read(new File(args[0]));
        r.print();
    }

    void read(File json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json);
        for (JsonNode b : root) {
            String full = b.get("benchmark").asText();
            String method = full.substring(full.lastIndexOf('.') + 1);
            JsonNode params = b.get("params");
            String shape = params.has("shape") ? params.get("shape").asText() : params.get("conv").asText();
            int threads = params.get("threads").asInt();
            if (!params.has("shape")) {
                int batch = params.has("batch") ? params.get("batch").asInt() : ConvBenchmark.BATCH;
                if (convBatch != 0 && convBatch != batch) {
                    throw new IllegalArgumentException(json + " mixes conv batch sizes " + convBatch + " and " + batch
                            + ": report each batch size from its own file");
                }
                convBatch = batch;
            }
            String unit = b.get("primaryMetric").get("scoreUnit").asText();
            double toMs = switch (unit) {
                case "ms/op" -> 1;
                case "us/op" -> 1e-3;
                case "s/op" -> 1e3;
                default -> throw new IllegalArgumentException("unexpected unit " + unit + " in " + full);
            };
            List<Double> samples = new ArrayList<>();
            for (JsonNode fork : b.get("primaryMetric").get("rawData")) {
                for (JsonNode v : fork) {
                    samples.add(v.asDouble() * toMs);
                }
            }
            results.put(key(method, shape, threads),
                    new Result(method, shape, threads, samples.stream().mapToDouble(Double::doubleValue).toArray()));
        }
    }

    static String key(String method, String shape, int threads) {
        return method + "|" + shape + "|" + threads;
    }

    /** Dense-equivalent floating-point operations of one call. */
    double flops(String method, String shape) {
        if (shape.split("x").length == 3) {
            int[] s = Shapes.gemm(shape);
            return 2.0 * s[0] * s[1] * s[2];
        }
        int[] c = Shapes.conv(shape);
        double forward = 2.0 * c[0] * (9.0 * c[0]) * convBatch * c[1] * c[1];
        return method.toLowerCase(Locale.ROOT).contains("backward") ? 2 * forward : forward;
    }

    /** Median GFLOP/s, NaN when missing. */
    double gflops(String method, String shape, int threads) {
        Result r = results.get(key(method, shape, threads));
        return r == null ? Double.NaN : flops(method, shape) / (r.median() * 1e6);
    }

    double bestGflops(String method, String shape, int threads) {
        Result r = results.get(key(method, shape, threads));
        return r == null ? Double.NaN : flops(method, shape) / (r.min() * 1e6);
    }

    private List<String> shapes(boolean conv) {
        List<String> out = new ArrayList<>();
        for (Result r : results.values()) {
            boolean isConv = r.shape().split("x").length == 2;
            if (isConv == conv && !out.contains(r.shape())) {
                out.add(r.shape());
            }
        }
        return out;
    }

    private List<Integer> threadCounts() {
        return results.values().stream().map(Result::threads).distinct().sorted().toList();
    }

    private String cell(String method, String shape, int t) {
        double med = gflops(method, shape, t);
        if (Double.isNaN(med)) {
            return String.format("%13s", "-");
        }
        return String.format(Locale.ROOT, "%6.1f (%5.1f)", med, bestGflops(method, shape, t));
    }

    private static String ratio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? "    -" : String.format(Locale.ROOT, "%5.2f", a / b);
    }

    /** Counts a target by median and by best iteration: {median hits, best hits}. */
    private static void count(int[] hits, double medRatio, double bestRatio, double target) {
        hits[0] += medRatio >= target ? 1 : 0;
        hits[1] += bestRatio >= target ? 1 : 0;
    }

    private static String hits(int[] h, int n) {
        return h[0] + " / " + n + " by median, " + h[1] + " / " + n + " by best iteration";
    }

    private double bestOf(String[] methods, String s, int t, boolean best) {
        double b = Double.NaN;
        for (String m : methods) {
            double g = best ? bestGflops(m, s, t) : gflops(m, s, t);
            if (!Double.isNaN(g) && (Double.isNaN(b) || g > b)) {
                b = g;
            }
        }
        return b;
    }

    void print() {
        int[] h24 = new int[2];
        int[] h24b = new int[2];
        int[] h14 = new int[2];
        int[] hDx = new int[2];
        int[] hDw = new int[2];
        int[] hConv5 = new int[2];
        int[] hConv24 = new int[2];
        int n = 0;
        int nConv = 0;
        System.out.println("Dense-equivalent GFLOP/s (2*rows*K*cols per product; for N:M the same count as dense),");
        System.out.println("median over all measurement iterations of all forks (best iteration in parentheses).");
        System.out.println("Ratios use the medians. 'best dense' = the fastest of ours, Nd4j.gemm, INDArray.mmul, ND4J conv2d.");
        System.out.println();
        System.out.println("FORWARD  Y = W * X");
        System.out.println(String.format("%-15s %2s | %13s %13s %13s | %13s %13s %13s | %9s %9s %9s %9s",
                "rows x K x cols", "T", "our dense", "2:4", "1:4", "Nd4j.gemm", "mmul", "nd4j conv2d",
                "2:4/dense", "2:4/best", "1:4/dense", "best base"));
        for (String s : shapes(false)) {
            for (int t : threadCounts()) {
                double dense = gflops("denseForward", s, t);
                double nm24 = gflops("nm24Forward", s, t);
                double nm14 = gflops("nm14Forward", s, t);
                double best = dense;
                String bestName = "ours";
                for (String m : new String[] {"nd4jGemm", "nd4jMmul", "nd4jConv2d"}) {
                    double g = gflops(m, s, t);
                    if (!Double.isNaN(g) && g > best) {
                        best = g;
                        bestName = m.substring(4);
                    }
                }
                System.out.println(String.format(Locale.ROOT, "%-15s %2d | %s %s %s | %s %s %s | %9s %9s %9s %9s",
                        s, t, cell("denseForward", s, t), cell("nm24Forward", s, t), cell("nm14Forward", s, t),
                        cell("nd4jGemm", s, t), cell("nd4jMmul", s, t), cell("nd4jConv2d", s, t),
                        ratio(nm24, dense), ratio(nm24, best), ratio(nm14, dense), bestName));
                n++;
                String[] bases = {"denseForward", "nd4jGemm", "nd4jMmul", "nd4jConv2d"};
                count(h24, nm24 / dense, bestGflops("nm24Forward", s, t) / bestGflops("denseForward", s, t), 1.5);
                count(h24b, nm24 / best, bestGflops("nm24Forward", s, t) / bestOf(bases, s, t, true), 1.0);
                count(h14, nm14 / dense, bestGflops("nm14Forward", s, t) / bestGflops("denseForward", s, t), 2.5);
            }
        }
        System.out.println();
        System.out.println("GRADIENTS  dX = W^T * dY,  dW = dY * X^T (2:4: kept positions only; 'dW 2:4' is the routed default,");
        System.out.println("           'sampled' the sampled kernel at every width, 'via dense' dense dY * X^T then a gather)");
        System.out.println(String.format("%-15s %2s | %13s %13s %7s | %13s %13s %7s | %13s %13s %7s %7s",
                "rows x K x cols", "T", "dX dense", "dX 2:4", "ratio", "dW dense", "dW 2:4", "ratio",
                "dW sampled", "dW via dense", "sampled", "via"));
        for (String s : shapes(false)) {
            for (int t : threadCounts()) {
                double dx = gflops("denseBackwardInput", s, t);
                double dx24 = gflops("nm24BackwardInput", s, t);
                double dw = gflops("denseBackwardWeight", s, t);
                double dw24 = gflops("nm24BackwardWeight", s, t);
                System.out.println(String.format(Locale.ROOT, "%-15s %2d | %s %s %7s | %s %s %7s | %s %s %7s %7s", s, t,
                        cell("denseBackwardInput", s, t), cell("nm24BackwardInput", s, t), ratio(dx24, dx),
                        cell("denseBackwardWeight", s, t), cell("nm24BackwardWeight", s, t), ratio(dw24, dw),
                        cell("nm24BackwardWeightSampled", s, t), cell("nm24BackwardWeightViaDense", s, t),
                        ratio(gflops("nm24BackwardWeightSampled", s, t), dw),
                        ratio(gflops("nm24BackwardWeightViaDense", s, t), dw)));
                count(hDx, dx24 / dx, bestGflops("nm24BackwardInput", s, t) / bestGflops("denseBackwardInput", s, t), 1.4);
                count(hDw, dw24 / dw, bestGflops("nm24BackwardWeight", s, t) / bestGflops("denseBackwardWeight", s, t), 1.4);
            }
        }
        int[] hGrouped = new int[2];
        boolean grouped = results.keySet().stream().anyMatch(key -> key.startsWith("nm24BackwardWeightGrouped|"));
        if (grouped) {
            System.out.println();
            System.out.println("WEIGHT GRADIENT, pattern-grouped kernel (not routed yet) vs dense dY * X^T");
            System.out.println(String.format("%-15s %2s | %13s %13s %7s | %13s %13s %7s %7s",
                    "rows x K x cols", "T", "dW dense", "dW 2:4 grp", "ratio", "dW 1:4", "dW 1:4 grp", "ratio", "1:4 rt"));
            for (String s : shapes(false)) {
                for (int t : threadCounts()) {
                    double dw = gflops("denseBackwardWeight", s, t);
                    double g24 = gflops("nm24BackwardWeightGrouped", s, t);
                    System.out.println(String.format(Locale.ROOT, "%-15s %2d | %s %s %7s | %s %s %7s %7s", s, t,
                            cell("denseBackwardWeight", s, t), cell("nm24BackwardWeightGrouped", s, t), ratio(g24, dw),
                            cell("nm14BackwardWeight", s, t), cell("nm14BackwardWeightGrouped", s, t),
                            ratio(gflops("nm14BackwardWeightGrouped", s, t), dw),
                            ratio(gflops("nm14BackwardWeight", s, t), dw)));
                    count(hGrouped, g24 / dw,
                            bestGflops("nm24BackwardWeightGrouped", s, t) / bestGflops("denseBackwardWeight", s, t), 1.4);
                }
            }
        }
        if (!shapes(true).isEmpty()) {
            System.out.println();
            System.out.println("CONV2D  3x3, stride 1, padding 1, C -> C, batch " + convBatch
                    + " (backward = input + weight gradients, counted as 2x the forward FLOPs)");
            System.out.println(String.format("%-9s %2s | %13s %13s %13s %9s %9s | %13s %13s %13s %9s %9s",
                    "C x HW", "T", "fwd dense", "fwd 2:4", "fwd DL4J", "dense/DL4J", "2:4/dense",
                    "bwd dense", "bwd 2:4", "bwd DL4J", "dense/DL4J", "2:4/dense"));
            for (String s : shapes(true)) {
                for (int t : threadCounts()) {
                    double fd = gflops("denseForward", s, t);
                    double f24 = gflops("nm24Forward", s, t);
                    double fdl = gflops("dl4jForward", s, t);
                    double bd = gflops("denseBackward", s, t);
                    double b24 = gflops("nm24Backward", s, t);
                    double bdl = gflops("dl4jBackward", s, t);
                    System.out.println(String.format(Locale.ROOT, "%-9s %2d | %s %s %s %10s %9s | %s %s %s %10s %9s", s, t,
                            cell("denseForward", s, t), cell("nm24Forward", s, t), cell("dl4jForward", s, t),
                            ratio(fd, fdl), ratio(f24, fd),
                            cell("denseBackward", s, t), cell("nm24Backward", s, t), cell("dl4jBackward", s, t),
                            ratio(bd, bdl), ratio(b24, bd)));
                    count(hConv5, fd / fdl, bestGflops("denseForward", s, t) / bestGflops("dl4jForward", s, t), 5);
                    count(hConv5, bd / bdl, bestGflops("denseBackward", s, t) / bestGflops("dl4jBackward", s, t), 5);
                    count(hConv24, f24 / fd, bestGflops("nm24Forward", s, t) / bestGflops("denseForward", s, t), 1.5);
                    count(hConv24, b24 / bd, bestGflops("nm24Backward", s, t) / bestGflops("denseBackward", s, t), 1.5);
                    nConv += 2;
                }
            }
        }
        System.out.println();
        System.out.println("TARGETS (shape x thread-count cases meeting each target; 'best' compares the fastest iterations,");
        System.out.println("         which filters out time slices lost to other processes on this shared 2-core machine)");
        System.out.println("  2:4 forward >= 1.5x our dense:            " + hits(h24, n));
        System.out.println("  2:4 forward >= 1.0x best dense baseline:  " + hits(h24b, n));
        System.out.println("  1:4 forward >= 2.5x our dense:            " + hits(h14, n));
        System.out.println("  2:4 input gradient >= 1.4x dense:         " + hits(hDx, n));
        System.out.println("  2:4 weight gradient >= 1.4x dense:        " + hits(hDw, n));
        if (grouped) {
            System.out.println("  2:4 grouped weight gradient >= 1.4x dense: " + hits(hGrouped, n));
        }
        if (nConv > 0) {
            System.out.println("  our dense conv >= 5x DL4J (fwd and bwd):  " + hits(hConv5, nConv));
            System.out.println("  2:4 conv >= 1.5x our dense (fwd and bwd): " + hits(hConv24, nConv));
        }
    }
}
