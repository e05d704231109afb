package io.sparsetrain.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Speed ratios that hold on a noisy host: a dense operation A and its sparse counterpart B run in
 * alternating short slices in the same JVM (A B, then B A, ...), so that whatever slows the host
 * for a second slows both sides of a ratio alike. JMH runs each benchmark method in its own
 * forks, minutes apart, and on this VM the machine's speed drifted by 25-35% between such runs
 * (BENCHMARKS.md, session 9), which moves ratios built from separate runs as much as the
 * differences we want to see.
 *
 * <p>Operations are the JMH benchmark methods of {@link GemmBenchmark} and {@link ConvBenchmark}
 * (same setup, same data), so the figures are comparable with {@code benchmarks/run-kernels.sh}.
 * Each state (class + parameters) runs in its own child JVMs ({@code --forks}, like JMH's forks),
 * with a warm-up of alternating slices first. Reported per pair: speed-up B over A as the median
 * of the per-round ratios (with quartiles), the ratio of the fastest slices (min over all rounds
 * of all forks), and both sides' time per operation (min and median).
 *
 * <pre>
 * java -cp benchmarks.jar io.sparsetrain.benchmarks.PairedRatio [--forks 3] [--rounds 12]
 *     [--slice-ms 150] [--warmup-s 3] [--only REGEX] [--pairs A/B,...] [--jvm-args "..."]
 * </pre>
 * {@code --pairs denseBackwardWeight/nm24BackwardWeightSampled,...} replaces the GEMM pairs (e.g. to compare
 * kernels that are not routed by default); {@code --only} keeps the cases whose description (e.g. {@code GemmBenchmark shape=512x4608x49
 * threads=1 denseForward/nm24Forward}) matches the regular expression.
 */
public final class PairedRatio {

    /** One state and the pairs (A, B) to compare on it. */
    record Group(String clazz, Map<String, String> params, List<String[]> pairs) {
        String describe() {
            StringBuilder b = new StringBuilder(clazz);
            params.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
            return b.toString();
        }

        String encode() {
            StringBuilder b = new StringBuilder(clazz).append(';');
            params.forEach((k, v) -> b.append(k).append('=').append(v).append(','));
            b.append(';');
            for (String[] p : pairs) {
                b.append(p[0]).append('/').append(p[1]).append(',');
            }
            return b.toString();
        }

        static Group decode(String s) {
            String[] parts = s.split(";", -1);
            Map<String, String> params = new LinkedHashMap<>();
            for (String kv : parts[1].split(",")) {
                if (!kv.isEmpty()) {
                    params.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
            }
            List<String[]> pairs = new ArrayList<>();
            for (String p : parts[2].split(",")) {
                if (!p.isEmpty()) {
                    pairs.add(p.split("/"));
                }
            }
            return new Group(parts[0], params, pairs);
        }
    }

    static final String[] GEMM_SHAPES = {"64x576x3136", "128x1152x784", "256x2304x196", "512x4608x49", "1024x1024x1024"};
    static final String[][] GEMM_PAIRS = {
        {"denseForward", "nm24Forward"},
        {"denseForward", "nm14Forward"},
        {"denseBackwardInput", "nm24BackwardInput"},
        {"denseBackwardWeight", "nm24BackwardWeight"},
    };
    static final String[] CONVS = {"16x28", "32x14", "64x7", "64x56"};
    static final String[][] CONV_PAIRS = {
        {"denseForward", "nm24Forward"}, {"denseBackwardInput", "nm24BackwardInput"},
        {"denseBackwardWeight", "nm24BackwardWeight"}, {"denseBackward", "nm24Backward"},
        {"im2colDenseForward", "denseForward"}, {"im2colDenseBackwardInput", "denseBackwardInput"},
        {"im2colDenseBackward", "denseBackward"}};

    private PairedRatio() {
    }

    public static void main(String[] args) throws Exception {
        int forks = 3;
        int rounds = 12;
        double sliceMs = 150;
        double warmupS = 3;
        String only = ".*";
        String jvmArgs = "-Xmx6g --add-modules=jdk.incubator.vector";
        String child = null;
        String pairs = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--forks" -> forks = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--slice-ms" -> sliceMs = Double.parseDouble(args[++i]);
                case "--warmup-s" -> warmupS = Double.parseDouble(args[++i]);
                case "--only" -> only = args[++i];
                case "--jvm-args" -> jvmArgs = args[++i];
                case "--child" -> child = args[++i];
                case "--pairs" -> pairs = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (--forks N --rounds N --slice-ms MS --warmup-s S --only REGEX --pairs A/B,... --jvm-args ARGS)");
            }
        }
        if (child != null) {
            runChild(Group.decode(child), rounds, sliceMs, warmupS, System.out);
            return;
        }
        List<Group> groups = selected(only, pairs);
        if (groups.isEmpty()) {
            throw new IllegalArgumentException("--only " + only + " matches no case");
        }
        PrintStream out = System.out;
        out.printf(Locale.ROOT, "# PairedRatio: %d fork(s) per state, %d rounds of alternating %.0f ms slices after %.1f s "
                + "of warm-up; jvm args: %s%n", forks, rounds, sliceMs, warmupS, jvmArgs);
        out.printf(Locale.ROOT, "# CPU: %d cores, load average at start: %s%n", Runtime.getRuntime().availableProcessors(),
                loadAverage());
        Map<String, List<double[]>> samples = new LinkedHashMap<>();
        for (int f = 0; f < forks; f++) {
            for (Group g : groups) {
                for (String line : fork(g, rounds, sliceMs, warmupS, jvmArgs)) {
                    String[] p = line.split(" ");
                    samples.computeIfAbsent(p[1].replace('|', ' '), k -> new ArrayList<>())
                            .add(new double[] {Double.parseDouble(p[2]), Double.parseDouble(p[3])});
                }
            }
            out.printf(Locale.ROOT, "# fork %d of %d done, load average %s%n", f + 1, forks, loadAverage());
        }
        report(samples, out);
    }

    /** The cases: every state with its default pairs, or with {@code pairs} ("A/B,C/D", GEMM states only) when given. */
    static List<Group> selected(String only, String pairs) {
        List<String[]> gemmPairs = new ArrayList<>(List.of(GEMM_PAIRS));
        if (pairs != null) {
            gemmPairs.clear();
            for (String p : pairs.split(",")) {
                String[] ab = p.split("/");
                if (ab.length != 2) {
                    throw new IllegalArgumentException("--pairs wants A/B,C/D,... (GemmBenchmark methods), got " + pairs);
                }
                gemmPairs.add(ab);
            }
        }
        List<Group> all = new ArrayList<>();
        for (String shape : GEMM_SHAPES) {
            for (String t : new String[] {"1", "2"}) {
                all.add(new Group("GemmBenchmark", params("shape", shape, "threads", t), gemmPairs));
            }
        }
        for (String conv : CONVS) {
            for (String t : new String[] {"1", "2"}) {
                all.add(new Group("ConvBenchmark", params("conv", conv, "threads", t, "batch", "32"), List.of(CONV_PAIRS)));
            }
        }
        List<Group> kept = new ArrayList<>();
        for (Group g : all) {
            List<String[]> matching = new ArrayList<>();
            for (String[] p : g.pairs()) {
                if ((g.describe() + " " + p[0] + "/" + p[1]).matches(only)) {
                    matching.add(p);
                }
            }
            if (!matching.isEmpty()) {
                kept.add(new Group(g.clazz(), g.params(), matching));
            }
        }
        return kept;
    }

    private static Map<String, String> params(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private static List<String> fork(Group g, int rounds, double sliceMs, double warmupS, String jvmArgs)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + "/bin/java");
        cmd.addAll(Arrays.asList(jvmArgs.trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PairedRatio.class.getName(),
                "--rounds", String.valueOf(rounds), "--slice-ms", String.valueOf(sliceMs),
                "--warmup-s", String.valueOf(warmupS), "--child", g.encode()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("ROUND ")) {
                    lines.add(line);
                }
            }
        }
        int rc = p.waitFor();
        if (rc != 0 || lines.isEmpty()) {
            throw new IllegalStateException("child JVM for " + g.describe() + " failed (exit " + rc + ", "
                    + lines.size() + " rounds): " + String.join(" ", cmd));
        }
        return lines;
    }

    /** Runs every pair of the group on one state: warm-up, then rounds of A and B slices in alternating order. */
    static void runChild(Group g, int rounds, double sliceMs, double warmupS, PrintStream out) throws Exception {
        Class<?> c = Class.forName(PairedRatio.class.getPackageName() + "." + g.clazz());
        Object state = c.getDeclaredConstructor().newInstance();
        for (Map.Entry<String, String> e : g.params().entrySet()) {
            Field f = c.getField(e.getKey());
            f.set(state, f.getType() == int.class ? (Object) Integer.parseInt(e.getValue()) : e.getValue());
        }
        c.getMethod("setup").invoke(state);
        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        try {
            for (String[] pair : g.pairs()) {
                Runnable a = op(c, state, pair[0], bh);
                Runnable b = op(c, state, pair[1], bh);
                long warmEnd = System.nanoTime() + (long) (warmupS * 1e9);
                while (System.nanoTime() < warmEnd) {
                    slice(a, sliceMs);
                    slice(b, sliceMs);
                }
                String id = (g.describe() + " " + pair[0] + "/" + pair[1]).replace(' ', '|');
                for (int r = 0; r < rounds; r++) {
                    double ta;
                    double tb;
                    if (r % 2 == 0) {
                        ta = slice(a, sliceMs);
                        tb = slice(b, sliceMs);
                    } else {
                        tb = slice(b, sliceMs);
                        ta = slice(a, sliceMs);
                    }
                    out.printf(Locale.ROOT, "ROUND %s %.1f %.1f%n", id, ta, tb);
                }
            }
        } finally {
            c.getMethod("tearDown").invoke(state);
        }
    }

    private static Runnable op(Class<?> c, Object state, String name, Blackhole bh) throws NoSuchMethodException {
        for (Method m : c.getMethods()) {
            if (m.getName().equals(name)) {
                boolean wantsBh = m.getParameterCount() == 1;
                return () -> {
                    try {
                        Object r = wantsBh ? m.invoke(state, bh) : m.invoke(state);
                        bh.consume(r);
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(name + " failed", e);
                    }
                };
            }
        }
        throw new NoSuchMethodException(c.getSimpleName() + "." + name);
    }

    /** Runs op for about sliceMs (at least twice); returns nanoseconds per call. */
    private static double slice(Runnable op, double sliceMs) {
        long t0 = System.nanoTime();
        long end = t0 + (long) (sliceMs * 1e6);
        int calls = 0;
        long now;
        do {
            op.run();
            calls++;
            now = System.nanoTime();
        } while (now < end || calls < 2);
        return (double) (now - t0) / calls;
    }

    static void report(Map<String, List<double[]>> samples, PrintStream out) {
        out.println();
        out.println("| case | A ms min / median | B ms min / median | B speed-up: median of rounds [p25, p75] | "
                + "fastest A / fastest B | A, B GFLOP/s (median) | rounds |");
        out.println("|---|---|---|---|---|---|---|");
        for (Map.Entry<String, List<double[]>> e : samples.entrySet()) {
            List<double[]> s = e.getValue();
            double[] a = s.stream().mapToDouble(x -> x[0] / 1e6).toArray();
            double[] b = s.stream().mapToDouble(x -> x[1] / 1e6).toArray();
            double[] ratio = s.stream().mapToDouble(x -> x[0] / x[1]).toArray();
            double flops = flops(e.getKey());
            String gflops = flops > 0
                    ? String.format(Locale.ROOT, "%.1f, %.1f", flops / quantile(a, 0.5) / 1e6, flops / quantile(b, 0.5) / 1e6)
                    : "";
            out.printf(Locale.ROOT, "| %s | %.3f / %.3f | %.3f / %.3f | **%.2f** [%.2f, %.2f] | %.2f | %s | %d |%n",
                    e.getKey(), min(a), quantile(a, 0.5), min(b), quantile(b, 0.5), quantile(ratio, 0.5),
                    quantile(ratio, 0.25), quantile(ratio, 0.75), min(a) / min(b), gflops, s.size());
        }
    }

    /** Dense-equivalent floating-point operations of one A call of a GEMM case (0 when not a product). */
    static double flops(String caseId) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("shape=(\\d+)x(\\d+)x(\\d+)").matcher(caseId);
        return m.find() ? 2.0 * Double.parseDouble(m.group(1)) * Double.parseDouble(m.group(2))
                * Double.parseDouble(m.group(3)) : 0;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    /** Linear-interpolated quantile. */
    static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (s[hi] - s[lo]) * (pos - lo);
    }

    private static String loadAverage() {
        try {
            String[] p = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")),
                    StandardCharsets.US_ASCII).split(" ");
            return p[0] + " " + p[1] + " " + p[2];
        } catch (IOException e) {
            return "n/a";
        }
    }
}
