package io.sparsetrain.jobs.evaluate;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code evaluation.json} (Jackson bean, versioned): the data and how it was evaluated, then one {@link ModelResult}
 * per model. Fractions are in [0, 1]; speeds in images/s; times in seconds.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public final class EvaluationResult {
  public static final int FORMAT_VERSION = 1;

  public int formatVersion = FORMAT_VERSION;
  public String createdAt;
  public Data data = new Data();
  public Execution execution = new Execution();
  /** Nominal FGSM epsilons (fractions of the input range). */
  public List<Double> fgsmEps = new ArrayList<>();
  public List<ModelResult> models = new ArrayList<>();

  /** The evaluated data. */
  public static final class Data {
    public String path;
    public String split;
    /** Rows of the split in the manifest. */
    public long splitRows;
    /** Examples evaluated per model. */
    public long examples;
    /** --max-examples (0 = all). */
    public int maxExamples;
    public String normalization;
    /** Valid range of the normalised input, [lo, hi]; FGSM clips to it and scales eps by hi - lo. */
    public double inputLow;
    public double inputHigh;
    public List<String> classes = new ArrayList<>();
  }

  /** Where the numbers were computed. */
  public static final class Execution {
    /** local (on the driver, no Spark job) or distributed (on the executors, one task per shard). */
    public String mode;
    public String reason;
    public String sparkMaster;
    public int batchSize;
    public int shards;
  }

  /** One model's numbers. */
  public static final class ModelResult {
    public String label;
    public String source;
    public String checkpoint;
    public String runName;
    public Long step;
    public Integer epochsDone;
    public boolean sparseLayers;
    public boolean frozen;
    public List<String> compressedLayers = new ArrayList<>();
    public long examples;
    public double top1;
    public double top5;
    public int topK;
    public List<ClassAccuracy> perClass = new ArrayList<>();
    public List<FgsmPoint> fgsm = new ArrayList<>();
    public double globalSparsity;
    public long prunableWeights;
    public Map<String, Double> layerSparsity = new LinkedHashMap<>();
    public CertificateResult certificate = new CertificateResult();
    public SpeedResult speed = new SpeedResult();
    public double evaluationSeconds;
    public double examplesPerSecond;
  }

  /** Accuracy of one class. */
  public static final class ClassAccuracy {
    public int index;
    public String name;
    public long total;
    public long correct;
    public double accuracy;
  }

  /** FGSM accuracy at one epsilon. */
  public static final class FgsmPoint {
    public double eps;
    /** eps * (hi - lo): the step in normalised input units. */
    public double epsScaled;
    public long correct;
    public double accuracy;
  }

  /** The stability certificate. */
  public static final class CertificateResult {
    public String mode;
    public String perturbation;
    /** Null when computed; otherwise why not. */
    public String unavailable;
    public List<LayerCertificate> layers = new ArrayList<>();
    /** Fraction certified with every layer's perturbation applied at once. */
    public double overallFraction;
    public long overallCertified;
    /** Fraction certified for every layer alone (the intersection is not stored; this is the minimum). */
    public double minLayerFraction;
    public String assumptions;
    public Verification verification;
  }

  /** One layer's certificate. */
  public static final class LayerCertificate {
    public String layer;
    /** ||D||, operator-norm bound of the layer's perturbation. */
    public double perturbationNorm;
    /** L, Lipschitz bound from the layer's output to the class probabilities. */
    public double suffixLipschitz;
    public long certified;
    public double fraction;
  }

  /** The empirical check of the certificate on the first examples. */
  public static final class Verification {
    public long examples;
    /** Per layer (with a non-zero perturbation), then "all layers". */
    public List<VerifiedLayer> layers = new ArrayList<>();
    /** Certified examples whose prediction changed: a violation of the guarantee (must be 0). */
    public long violations;
  }

  /** Empirical outcome of one perturbation. */
  public static final class VerifiedLayer {
    public String layer;
    public long certified;
    /** Examples whose top-1 changed when the perturbation was applied. */
    public long changed;
    public long certifiedChanged;
  }

  /** Inference speed. */
  public static final class SpeedResult {
    public String note;
    public List<SpeedBenchmark.Point> points = new ArrayList<>();
    /** Examples compared between the loaded and the densified network. */
    public long agreementExamples;
    /** Fraction of them with the same top-1. */
    public Double agreement;
    public Double maxProbabilityDifference;
    /** Why the model has no inference plan (a vertex the plan cannot run), else null. */
    public String planNote;
    /** Fraction of the same examples with the same top-1 from the plan of the loaded model as from its graph. */
    public Double planAgreement;
    /** Largest output probability difference between that plan and the graph. */
    public Double planMaxProbabilityDifference;
    /** The plan's steps (what was folded, fused and compressed). */
    public List<String> planSteps;
  }
}
