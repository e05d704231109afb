package io.sparsetrain.nn.strbn;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Cosine decay (Loshchilov and Hutter 2017, no restarts) by iteration:
 * {@code value = initial * (1 + cos(pi * min(i, total) / total)) / 2}, reaching 0 after {@code total} steps.
 * DL4J 1.0.0-M2 has no cosine schedule. Serialised in DL4J's JSON.
 */
public final class CosineSchedule implements ISchedule {

    private static final long serialVersionUID = 1L;

    @JsonProperty
    private final double initialValue;
    @JsonProperty
    private final long totalIterations;

    public CosineSchedule(@JsonProperty("initialValue") double initialValue, @JsonProperty("totalIterations") long totalIterations) {
        if (!(initialValue >= 0) || totalIterations < 1) {
            throw new IllegalArgumentException("cosine schedule needs initialValue >= 0 and totalIterations >= 1, got initialValue="
                    + initialValue + ", totalIterations=" + totalIterations);
        }
        this.initialValue = initialValue;
        this.totalIterations = totalIterations;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        double t = Math.min(iteration, totalIterations) / (double) totalIterations;
        return initialValue * 0.5 * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public ISchedule clone() {
        return new CosineSchedule(initialValue, totalIterations);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CosineSchedule c && c.initialValue == initialValue && c.totalIterations == totalIterations;
    }

    @Override
    public int hashCode() {
        return Double.hashCode(initialValue) * 31 + Long.hashCode(totalIterations);
    }

    @Override
    public String toString() {
        return "CosineSchedule(initialValue=" + initialValue + ", totalIterations=" + totalIterations + ")";
    }
}
