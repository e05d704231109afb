package io.sparsetrain.learn.nm;

/**
 * The Gumbel-softmax temperature tau per training step (METHODS.md section 2: tau = 1 by default,
 * annealing optional). Constant, or from tau0 to tau1 over {@code steps} steps, linearly
 * ({@code tau0 + (tau1 - tau0) * t / steps}) or exponentially ({@code tau0 * (tau1 / tau0)^(t / steps)});
 * after the last step it stays at tau1. Steps count optimizer updates from 0. Immutable.
 */
public final class TemperatureSchedule {
    /** The paper's temperature. */
    public static final double DEFAULT_TAU = 1.0;

    /** Shape of the annealing curve. */
    public enum Kind { CONSTANT, LINEAR, EXPONENTIAL }

    private final Kind kind;
    private final double tau0;
    private final double tau1;
    private final long steps;

    private TemperatureSchedule(Kind kind, double tau0, double tau1, long steps) {
        positive("tau0", tau0);
        positive("tau1", tau1);
        if (kind != Kind.CONSTANT && steps < 1) {
            throw new IllegalArgumentException("annealing steps must be >= 1, got " + steps);
        }
        this.kind = kind;
        this.tau0 = tau0;
        this.tau1 = tau1;
        this.steps = steps;
    }

    private static void positive(String name, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, got " + v);
        }
    }

    /** tau = {@link #DEFAULT_TAU} at every step. */
    public static TemperatureSchedule defaults() {
        return constant(DEFAULT_TAU);
    }

    public static TemperatureSchedule constant(double tau) {
        return new TemperatureSchedule(Kind.CONSTANT, tau, tau, 0);
    }

    public static TemperatureSchedule linear(double tau0, double tau1, long steps) {
        return new TemperatureSchedule(Kind.LINEAR, tau0, tau1, steps);
    }

    public static TemperatureSchedule exponential(double tau0, double tau1, long steps) {
        return new TemperatureSchedule(Kind.EXPONENTIAL, tau0, tau1, steps);
    }

    /** Temperature at optimizer step {@code step} (>= 0). */
    public double tau(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (kind == Kind.CONSTANT || step >= steps) {
            return kind == Kind.CONSTANT ? tau0 : tau1;
        }
        double f = step / (double) steps;
        return kind == Kind.LINEAR ? tau0 + (tau1 - tau0) * f : tau0 * Math.pow(tau1 / tau0, f);
    }

    public Kind kind() {
        return kind;
    }

    public double tau0() {
        return tau0;
    }

    public double tau1() {
        return tau1;
    }

    public long steps() {
        return steps;
    }

    @Override
    public String toString() {
        return kind == Kind.CONSTANT ? "TemperatureSchedule{constant tau=" + tau0 + "}"
                : "TemperatureSchedule{" + kind.name().toLowerCase() + " tau " + tau0 + " -> " + tau1 + " over "
                + steps + " steps}";
    }
}
