package io.sparsetrain.nn.strbn;

import java.util.List;
import java.util.Locale;

/**
 * What {@link StrBnSparsifier#run} produces.
 *
 * @param smaller the smaller dense graph (dead filters removed), same layer classes as the trained graph
 * @param softThresholded the trained STR-BN graph the smaller one was cut from (same outputs)
 * @param layers filters before / dead / after per convolution and hidden dense layer
 * @param before cost of the trained graph
 * @param after cost of the smaller graph
 * @param inserted STR-BN layers inserted after layers that had no batch norm (they stay as batch norms)
 * @param notes dead channels that stayed and why, and other remarks
 * @param steps training steps run
 * @param finalLoss loss of the last STR-BN step
 * @param fineTuned the smaller graph after {@link StrBnOptions#fineTuneEpochs()} of plain training, or null
 * @param fineTuneSteps fine-tune steps run
 * @param fineTuneLoss loss of the last fine-tune step (NaN without one)
 */
public record StrBnResult(org.deeplearning4j.nn.graph.ComputationGraph smaller,
                          org.deeplearning4j.nn.graph.ComputationGraph softThresholded, List<LayerRemoval> layers,
                          ModelCost before, ModelCost after, List<String> inserted, List<String> notes, long steps, double finalLoss,
                          org.deeplearning4j.nn.graph.ComputationGraph fineTuned, long fineTuneSteps, double fineTuneLoss) {

    /** The model to deploy: the fine-tuned smaller graph when there is one, else the smaller graph. */
    public org.deeplearning4j.nn.graph.ComputationGraph model() {
        return fineTuned != null ? fineTuned : smaller;
    }

    /** Filters removed over all layers. */
    public int filtersRemoved() {
        return layers.stream().mapToInt(LayerRemoval::removed).sum();
    }

    /** A table for the job log. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-24s %8s %6s %7s %8s%n", "layer", "filters", "dead", "kept", "removed"));
        for (LayerRemoval r : layers) {
            sb.append(String.format(Locale.ROOT, "%-24s %8d %6d %7d %8d%n", r.layer(), r.before(), r.dead(), r.after(), r.removed()));
        }
        sb.append(String.format(Locale.ROOT, "parameters %d -> %d (%.1f%%), multiply-adds per image %d -> %d (%.1f%%)%n",
                before.parameters(), after.parameters(), 100.0 * after.parameters() / before.parameters(),
                before.multiplyAdds(), after.multiplyAdds(), 100.0 * after.multiplyAdds() / before.multiplyAdds()));
        for (String n : notes) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }
}
