import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.*;
import io.sparsetrain.prune.nm.*;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.nn.graph.ComputationGraph;

public class Kept {
    public static void main(String[] a) throws Exception {
        ComputationGraph g = ModelSerializer.restoreComputationGraph(new java.io.File(a[0]), false);
        double[] tot = new double[3];
        for (PrunableLayer l : MaskedNetwork.of(g).prunableLayers()) {
            double all = 0, kk = 0, kc = 0;
            Mask mk = new NmMagnitudePruner(2, 4).makeMask(l);
            Mask mc = new NmMagnitudePruner(2, 4, NmGroupOrder.CHANNEL).makeMask(l);
            LayerShape s = l.shape();
            float[] w = l.weights();
            for (int r = 0; r < s.outputs(); r++) for (int k = 0; k < s.k(); k++) {
                double v = w[s.index(r, k)] * (double) w[s.index(r, k)];
                all += v; if (mk.isKept(r, k)) kk += v; if (mc.isKept(r, k)) kc += v;
            }
            tot[0] += all; tot[1] += kk; tot[2] += kc;
            System.out.printf("%-12s %-24s kept w^2 kernel %.3f channel %.3f%n", l.name(), s, kk / all, kc / all);
        }
        System.out.printf("all kept w^2 kernel %.3f channel %.3f%n", tot[1] / tot[0], tot[2] / tot[0]);
    }
}
