#!/usr/bin/env bash
# Builds the benchmarks jar and runs the full recorded kernel benchmark (about 20 minutes on 2 cores):
# our dense / 2:4 / 1:4 kernels and their gradients, ND4J's gemm, mmul and conv2d, our conv2d and
# DL4J's ConvolutionLayer, on 1 and 2 threads, 2 forks each. Writes the JMH JSON and a text report
# with the ratio table (io.sparsetrain.benchmarks.RatioReport) to benchmarks/results/.
#
# Usage: benchmarks/run-kernels.sh [extra JMH options, e.g. -p threads=1]
# Environment: OPENBLAS_CORETYPE (default SkylakeX: ND4J's bundled OpenBLAS 0.3.19 picks slow
# kernels for Zen 5 when unset), SKIP_BUILD=1 to reuse target/benchmarks.jar,
# JMH_OPTS to replace the fork/iteration settings of every group (quick look: JMH_OPTS="-f 1 -wi 1 -i 1").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
stamp="$(date -u +%Y-%m-%d)"
mkdir -p "$here/results"
json="$here/results/kernels-$stamp.json"
txt="$here/results/kernels-$stamp.txt"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$root" && mvn -B -q -Pbenchmarks -pl benchmarks -am package -DskipTests)
fi
jar="$here/target/benchmarks.jar"
jvm="-Xmx6g --add-modules=jdk.incubator.vector -Dorg.bytedeco.javacpp.cachedir=$root/target/javacpp-cache"

run() { # name, regexp, JMH options...
  local name="$1" regexp="$2"; shift 2
  java -jar "$jar" "$regexp" -jvmArgsAppend "$jvm" -rf json -rff "$here/results/.part-$name.json" "$@" \
    > "$here/results/.part-$name.log" 2>&1
}

start=$(date +%s)
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
# products: JIT warm-up needs ~2 s under load (the first calls run interpreted)
opts() { if [[ -n "${JMH_OPTS:-}" ]]; then echo "$JMH_OPTS"; else echo "$1"; fi; }
# shellcheck disable=SC2046
run gemm 'io.sparsetrain.benchmarks.GemmBenchmark' $(opts "-f 2 -wi 6 -w 300ms -i 3 -r 300ms") "$@"
# shellcheck disable=SC2046
run nd4j 'io.sparsetrain.benchmarks.Nd4j(Gemm|Conv)Benchmark' $(opts "-f 2 -wi 2 -w 300ms -i 3 -r 300ms") "$@"
# shellcheck disable=SC2046
run conv 'io.sparsetrain.benchmarks.ConvBenchmark' $(opts "-f 2 -wi 6 -w 300ms -i 3 -r 300ms") "$@"
# shellcheck disable=SC2046
run dl4j 'io.sparsetrain.benchmarks.Dl4jConvBenchmark' $(opts "-f 2 -wi 1 -w 1s -i 2 -r 1s") "$@"
end=$(date +%s)

# merge the JSON arrays
python3 - "$json" "$here"/results/.part-{gemm,nd4j,conv,dl4j}.json <<'PY'
import json, sys
out = []
for f in sys.argv[2:]:
    with open(f) as fh:
        out += json.load(fh)
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh, indent=1)
PY

{
  echo "# sparsetrain N:M kernel benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "# command: benchmarks/run-kernels.sh $*   (from $root)"
  echo "# JMH_OPTS=${JMH_OPTS:-(default)}"
  echo "# JMH: GemmBenchmark/ConvBenchmark -f 2 -wi 6 -w 300ms -i 3 -r 300ms; Nd4j* -f 2 -wi 2 -w 300ms -i 3 -r 300ms;"
  echo "#      Dl4jConvBenchmark -f 2 -wi 1 -w 1s -i 2 -r 1s; jvm args: $jvm"
  echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load average at start: $load0"
  echo "# Java: $(java -version 2>&1 | head -1)"
  echo "# OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (ND4J 1.0.0-M2, nd4j-native linux-x86_64: OpenBLAS 0.3.19, no oneDNN)"
  echo "# OMP_NUM_THREADS=$OMP_NUM_THREADS; ND4J threads set per benchmark via Nd4j.getEnvironment()/blas().setMaxThreads"
  echo "# wall time: $(( (end - start) / 60 )) min; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# JSON: benchmarks/results/$(basename "$json")"
  echo
  java -cp "$jar" io.sparsetrain.benchmarks.RatioReport "$json"
} | tee "$txt"
rm -f "$here"/results/.part-*.json "$here"/results/.part-*.log
