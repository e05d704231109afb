package io.sparsetrain.learn.strbn;

import java.util.Arrays;

/**
 * Which channels of a conv -&gt; BN -&gt; next layer chain are physically removed: output filter c of the
 * conv, channel c of the BN, and input channel c of the next layer (METHODS.md section 4). Immutable.
 *
 * <p><b>Residual rule.</b> In a residual block {@code out = act(BN2(conv2(...)) + shortcut)}, channel c of
 * conv2/BN2 is removable only when it is dead on the branch AND the shortcut's channel c is dead too
 * ({@link #forResidualBranch}); a branch channel that is dead while the shortcut carries data still adds
 * a constant to a live channel, so conv2 must keep producing it (removing it would need a scatter-add of
 * fewer channels into the sum, which is not a smaller dense model). Channels inside the block (conv1 -&gt;
 * BN1 -&gt; act -&gt; conv2) are not added to anything and follow the plain rule ({@link #forDeadChannels}).
 * When both sides are dead the summed channel is constant; removing it from the residual stream also
 * removes input channel c from every consumer of that stream, which the caller arranges (each consumer
 * gets the same plan through {@link FilterRemoval}).
 *
 * <p>A plan always keeps at least one channel so that the smaller layers stay valid: if every channel is
 * dead, the one with the largest |gamma| (lowest index on ties) stays (its output is still the constant).
 */
public final class FilterRemovalPlan {
    private final boolean[] removed;
    private final int removedCount;

    private FilterRemovalPlan(boolean[] removed) {
        this.removed = removed;
        int n = 0;
        for (boolean r : removed) {
            n += r ? 1 : 0;
        }
        this.removedCount = n;
    }

    /** Removes exactly the flagged channels (at least one must stay). */
    public static FilterRemovalPlan of(boolean[] removed) {
        if (removed.length == 0) {
            throw new IllegalArgumentException("a plan needs at least one channel");
        }
        FilterRemovalPlan p = new FilterRemovalPlan(removed.clone());
        if (p.removedCount == removed.length) {
            throw new IllegalArgumentException("a plan must keep at least one of " + removed.length + " channels");
        }
        return p;
    }

    /** Plain chain: remove every dead channel ({@code dead[c]}), keeping the largest |gamma| if all are dead. */
    public static FilterRemovalPlan forDeadChannels(boolean[] dead, float[] gamma) {
        if (dead.length != gamma.length) {
            throw new IllegalArgumentException("dead has length " + dead.length + ", gamma " + gamma.length);
        }
        boolean[] r = dead.clone();
        boolean all = true;
        for (boolean d : r) {
            all &= d;
        }
        if (all && r.length > 0) {
            int keep = 0;
            for (int c = 1; c < gamma.length; c++) {
                if (Math.abs(gamma[c]) > Math.abs(gamma[keep])) {
                    keep = c;
                }
            }
            r[keep] = false;
        }
        return of(r);
    }

    /** Plain chain from raw gamma and the layer's s. */
    public static FilterRemovalPlan forChain(StrBnThreshold threshold, float[] gamma, double s) {
        return forDeadChannels(threshold.deadChannels(gamma, s), gamma);
    }

    /**
     * Residual block output: removable where the branch channel is dead and the shortcut channel is dead.
     *
     * @param branchDead dead channels of the branch's last BN
     * @param shortcutDead channels of the shortcut that are constant (identity shortcut: the stream's
     *     channel is dead upstream; projection shortcut: its BN channel is dead)
     * @param gamma the branch BN's effective gamma (for the keep-one rule)
     */
    public static FilterRemovalPlan forResidualBranch(boolean[] branchDead, boolean[] shortcutDead, float[] gamma) {
        if (branchDead.length != shortcutDead.length) {
            throw new IllegalArgumentException("branchDead has length " + branchDead.length + ", shortcutDead "
                    + shortcutDead.length);
        }
        boolean[] both = new boolean[branchDead.length];
        for (int c = 0; c < both.length; c++) {
            both[c] = branchDead[c] && shortcutDead[c];
        }
        return forDeadChannels(both, gamma);
    }

    /** Channels before removal. */
    public int channels() {
        return removed.length;
    }

    public boolean isRemoved(int channel) {
        return removed[channel];
    }

    public int removedCount() {
        return removedCount;
    }

    public int keptCount() {
        return removed.length - removedCount;
    }

    /** Kept channel indices, ascending: new channel i is old channel keptChannels()[i]. */
    public int[] keptChannels() {
        int[] k = new int[keptCount()];
        int j = 0;
        for (int c = 0; c < removed.length; c++) {
            if (!removed[c]) {
                k[j++] = c;
            }
        }
        return k;
    }

    /** Removed channel indices, ascending. */
    public int[] removedChannels() {
        int[] r = new int[removedCount];
        int j = 0;
        for (int c = 0; c < removed.length; c++) {
            if (removed[c]) {
                r[j++] = c;
            }
        }
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FilterRemovalPlan && Arrays.equals(removed, ((FilterRemovalPlan) o).removed);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(removed);
    }

    @Override
    public String toString() {
        return "FilterRemovalPlan{removes " + removedCount + " of " + removed.length + " filters: "
                + Arrays.toString(removedChannels()) + "}";
    }
}
