#!/usr/bin/env bash
# run-cluster.sh: the main job of sparsetrain, end to end.
#
# With no arguments on a fresh machine: installs what is missing (Debian dataset-fashion-mnist, a JDK 17
# and Maven if absent), builds, starts the embedded standalone Spark cluster (a master and workers as
# separate JVMs on 127.0.0.1, run from the Maven-built sparkconf/target/spark-home, no Spark download),
# prepares Fashion-MNIST as Parquet shards (once), submits the train job (ResNet-20, gradual combined pruning
# to 70% global sparsity) with spark-submit, prints a summary read from the job's metrics.json, and stops the
# cluster, even on failure.
# Every Spark setting comes from the sparkconf module's profiles (sparkconf.conf / jvm.properties).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="0.1.0-SNAPSHOT"
SPARK_HOME_DIR="$ROOT/sparkconf/target/spark-home"
# SPARSETRAIN_APP_JAR: use another build of the application jar (e.g. one built with -Djobs.build.dir=...)
APP_JAR="${SPARSETRAIN_APP_JAR:-$ROOT/jobs/target/jobs-$VERSION-app.jar}"
CONF_JAR="$ROOT/sparkconf/target/sparkconf-$VERSION-cli.jar"
FASHION_DIR="/usr/share/datasets/fashion-mnist"

MASTER_URL=""          # empty: embedded cluster
JOB="train"
RECIPE="$ROOT/jobs/src/main/resources/recipes/resnet20-fashion-mnist-combined70.conf"
PRINT_SUBMIT=0
OUT="$ROOT/out"
SKIP_BUILD=0
SKIP_INSTALL=0
WORKERS=""
SPARKCONF_FILE=""
EXTRA_JOB_ARGS=()

usage() {
  cat <<'EOF'
Usage: ./run-cluster.sh [options] [-- extra job arguments]

Runs the sparsetrain main job. Without --master it starts the embedded standalone cluster
(master + workers as separate JVMs on 127.0.0.1), submits the job, and stops the cluster at the end,
even on failure. Without options: prepares Fashion-MNIST (unless DIR/fashion-mnist is already prepared),
trains ResNet-20 with gradual combined pruning to 70% global sparsity (20 epochs: hours on 2 cores), and
prints final top-1/top-5, global sparsity vs target, images/s, elapsed time and the report's path.

Options:
  --master URL          Submit to an existing cluster instead: spark://host:port (profile standalone),
                        yarn (profile yarn) or k8s://https://host:port (profile kubernetes); or run in
                        Spark local mode in one JVM, no cluster: local, local[N] or local[*] (profile local).
  --job NAME            train (default): train with --recipe on the prepared Fashion-MNIST (prepares it
                        first if DIR/fashion-mnist has no manifest.json) and print the summary.
                        prep: only prepare Fashion-MNIST as Parquet shards and print the manifest summary.
                        throughput: training images/s of the --recipe model in one Spark application,
                        1 vs 2 workers and dense vs frozen sparse (2:4 compressed, 70% combined); prints a
                        table and writes DIR/throughput/throughput.json.
                        smoke: a checked sum over all executors (proves the cluster works).
                        sparsify | evaluate | compare: the post-training jobs on the prepared Fashion-MNIST
                        (--data DIR/fashion-mnist is passed); give the rest after --, e.g.
                          ./run-cluster.sh --job sparsify -- --model out/train/resnet20-fashion-mnist-dense \
                              --method learned-nm --output out/sparsify/learned-2of4
                        (docs/sparsify.md, docs/evaluate.md, docs/compare.md list their options).
  --recipe FILE         The train job's HOCON configuration (default: the ResNet-20 70% combined recipe,
                        jobs/src/main/resources/recipes/resnet20-fashion-mnist-combined70.conf).
  --print-submit-args   Print the spark-submit arguments of the job (one per line) and exit.
  --out DIR             Where outputs go (default ./out). Dataset: DIR/fashion-mnist, training run:
                        DIR/train/<recipe file name>, cluster logs: DIR/cluster.
  --workers N           Embedded cluster: number of worker JVMs (default from the embedded-cluster profile).
  --sparkconf-file F    A HOCON file overriding sparkconf's profiles (see sparkconf/src/main/resources),
                        e.g. other ports and memory for a second embedded cluster.
  --skip-build          Use the jars already built (jobs/target, sparkconf/target).
  --skip-install        Do not apt-get install missing packages.
  -h, --help            This help.

Cluster-only commands (embedded cluster): ./run-cluster.sh start | stop | status
(with the same --out). While a cluster started with 'start' runs, jobs run with the same --out and
--sparkconf-file are submitted to it, and it stays up.
Everything after -- is passed to the job. A short training run (its pruning era must end before the last epoch):
  ./run-cluster.sh -- --set epochs=3 --set schedule.start-epoch=1 --set schedule.length-epochs=1 \
      --set data.max-train-examples=2048 --set data.max-test-examples=1024
Continue an interrupted run from its last checkpoint (a finished run's output dir is refused without it):
  ./run-cluster.sh -- --resume
EOF
}

log() { printf '[run-cluster %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { printf '[run-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

profile_for_master() {  # the sparkconf profile of a --master URL (empty: the embedded cluster)
  case "$1" in
    "") echo embedded-cluster ;;
    spark://*) echo standalone ;;
    yarn) echo yarn ;;
    k8s://*) echo kubernetes ;;
    local|local\[*\]) echo local ;;
    *) die "--master must be spark://host:port, yarn, k8s://... or local[N], got '$1'" ;;
  esac
}

COMMAND="run"
while [[ $# -gt 0 ]]; do
  case "$1" in
    start|stop|status) COMMAND="$1"; shift ;;
    --master) [[ $# -ge 2 ]] || die "--master needs a URL"; MASTER_URL="$2"; shift 2 ;;
    --job) [[ $# -ge 2 ]] || die "--job needs a name"; JOB="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a directory"; OUT="$2"; shift 2 ;;
    --workers) [[ $# -ge 2 ]] || die "--workers needs a number"; WORKERS="$2"; shift 2 ;;
    --sparkconf-file) [[ $# -ge 2 ]] || die "--sparkconf-file needs a file"; SPARKCONF_FILE="$2"; shift 2 ;;
    --recipe) [[ $# -ge 2 ]] || die "--recipe needs a file"; RECIPE="$2"; shift 2 ;;
    --print-submit-args) PRINT_SUBMIT=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --skip-install) SKIP_INSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; EXTRA_JOB_ARGS=("$@"); break ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
case "$JOB" in train|prep|throughput|smoke|sparsify|evaluate|compare) ;;
  *) die "--job must be train, prep, throughput, smoke, sparsify, evaluate or compare, got '$JOB'" ;; esac
if [[ "$JOB" == train || "$JOB" == throughput ]]; then
  [[ -f "$RECIPE" ]] || die "--recipe not found: $RECIPE"
  RECIPE="$(cd "$(dirname "$RECIPE")" && pwd)/$(basename "$RECIPE")"
fi
if [[ -n "$WORKERS" && ! "$WORKERS" =~ ^[1-8]$ ]]; then die "--workers must be 1..8, got '$WORKERS'"; fi
profile_for_master "$MASTER_URL" >/dev/null  # a bad --master fails here, before any install or build
[[ -z "$SPARKCONF_FILE" || -f "$SPARKCONF_FILE" ]] || die "--sparkconf-file not found: $SPARKCONF_FILE"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CLUSTER_DIR="$OUT/cluster"

# ---------------------------------------------------------------- what a fresh machine lacks
install_missing() {
  local pkgs=()
  command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  if [[ "$JOB" != smoke && ! -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ]]; then
    pkgs+=(dataset-fashion-mnist)
  fi
  [[ ${#pkgs[@]} -eq 0 ]] && return 0
  [[ "$SKIP_INSTALL" -eq 0 ]] || die "missing: ${pkgs[*]} (and --skip-install was given)"
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  log "installing ${pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

check_java() {
  local v
  v="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  [[ "${v%%.*}" == "17" ]] || die "Java 17 is required (Hadoop 3.3 fails on newer JDKs), found '$v': set JAVA_HOME/PATH"
}

build() {
  if [[ "$SKIP_BUILD" -eq 1 ]]; then
    [[ -f "$APP_JAR" && -f "$CONF_JAR" && -d "$SPARK_HOME_DIR/jars" ]] \
      || die "--skip-build but $APP_JAR, $CONF_JAR or $SPARK_HOME_DIR/jars is missing: run without --skip-build"
    return 0
  fi
  log "building (mvn -DskipTests package)"
  (cd "$ROOT" && mvn -B -q -DskipTests package) || die "build failed"
}

# ---------------------------------------------------------------- settings, from sparkconf only
sparkconf() { java -jar "$CONF_JAR" "$@"; }
profile_args() { if [[ -n "$SPARKCONF_FILE" ]]; then echo "--sparkconf-file $SPARKCONF_FILE"; fi; }

# ---------------------------------------------------------------- the embedded cluster
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit="$1" what="$2"; shift 2
  local i
  for ((i = 0; i < limit * 4; i++)); do
    if "$@"; then return 0; fi
    sleep 0.25
  done
  die "timed out after ${limit}s waiting for $what (logs: $CLUSTER_DIR/logs)"
}

cluster_java() {  # cluster_java LOGNAME MAINCLASS ARGS...  (in the background, pid recorded)
  local name="$1"; shift
  mkdir -p "$CLUSTER_DIR/logs" "$CLUSTER_DIR/pids"
  SPARK_HOME="$SPARK_HOME_DIR" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 \
    nohup java -Xmx512m $JVM_FLAGS -cp "$SPARK_HOME_DIR/conf:$SPARK_HOME_DIR/jars/*" "$@" \
    >"$CLUSTER_DIR/logs/$name.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/pids/$name.pid"
}

cluster_running() {  # the embedded cluster of this --out is up (its master's recorded pid is alive)
  [[ -f "$CLUSTER_DIR/pids/master.pid" && -f "$CLUSTER_DIR/master-url" ]] \
    && kill -0 "$(cat "$CLUSTER_DIR/pids/master.pid")" 2>/dev/null
}

registered_workers() { grep -c "Registering worker" "$CLUSTER_DIR/logs/master.log" 2>/dev/null || true; }

start_cluster() {
  local p="embedded-cluster" pa
  pa="$(profile_args)"
  HOST="$(sparkconf get --profile $p $pa cluster.host)"
  MASTER_PORT="$(sparkconf get --profile $p $pa cluster.master-port)"
  local webui n cores mem wbase
  webui="$(sparkconf get --profile $p $pa cluster.master-webui-port)"
  n="${WORKERS:-$(sparkconf get --profile $p $pa cluster.workers)}"
  cores="$(sparkconf get --profile $p $pa cluster.worker-cores)"
  mem="$(sparkconf get --profile $p $pa cluster.worker-memory)"
  wbase="$(sparkconf get --profile $p $pa cluster.worker-webui-port-base)"
  if port_open "$HOST" "$MASTER_PORT"; then
    die "port $HOST:$MASTER_PORT is already in use (another cluster? ./run-cluster.sh stop)"
  fi
  rm -rf "$CLUSTER_DIR/logs" "$CLUSTER_DIR/pids" "$CLUSTER_DIR/master-url"
  log "starting master on spark://$HOST:$MASTER_PORT (web UI :$webui)"
  cluster_java master org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$MASTER_PORT" --webui-port "$webui"
  wait_for 60 "the master to listen on $HOST:$MASTER_PORT" port_open "$HOST" "$MASTER_PORT"
  local i
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$CLUSTER_DIR/work-$i"
    cluster_java "worker-$i" org.apache.spark.deploy.worker.Worker \
      --host "$HOST" --cores "$cores" --memory "$mem" --webui-port $((wbase + i - 1)) \
      --work-dir "$CLUSTER_DIR/work-$i" "spark://$HOST:$MASTER_PORT"
  done
  workers_up() { [[ "$(registered_workers)" -ge "$n" ]]; }
  wait_for 90 "$n worker(s) to register with the master" workers_up
  echo "spark://$HOST:$MASTER_PORT" >"$CLUSTER_DIR/master-url"
  log "cluster up: master + $n worker JVM(s) ($cores core(s), $mem each); logs in $CLUSTER_DIR/logs"
}

stop_cluster() {
  [[ -d "$CLUSTER_DIR/pids" ]] || return 0
  local f pid executors=()
  # executors are child processes of this cluster's workers (their command line does not name the cluster)
  for f in "$CLUSTER_DIR"/pids/worker-*.pid; do
    [[ -f "$f" ]] || continue
    mapfile -t -O "${#executors[@]}" executors < <(ps -o pid= --ppid "$(cat "$f")" 2>/dev/null || true)
  done
  for f in "$CLUSTER_DIR"/pids/worker-*.pid "$CLUSTER_DIR"/pids/master.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  rm -f "$CLUSTER_DIR/master-url"
  # a worker stops its executors on SIGTERM; one that outlived it is killed by its recorded pid
  for pid in "${executors[@]}"; do
    pid="${pid// /}"
    [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  done
  log "cluster stopped"
}

status_cluster() {
  local f pid alive=0
  for f in "$CLUSTER_DIR"/pids/*.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$f" .pid) running (pid $pid)"; alive=1
    else echo "$(basename "$f" .pid) not running"; fi
  done
  [[ "$alive" -eq 1 ]] || echo "embedded cluster not running"
}

# ---------------------------------------------------------------- submit
submit_args() {  # submit_args NAME JOB-ARGS...: sets SUBMIT_ARGS (spark-submit arguments, sparkconf's profile)
  local name="$1"; shift
  local profile pa
  profile="$(profile_for_master "$MASTER_URL")"
  pa="$(profile_args)"
  mapfile -t SUBMIT_ARGS < <(sparkconf submit-args --profile "$profile" $pa ${MASTER_URL:+--master "$MASTER_URL"})
  SUBMIT_ARGS+=(--name "sparsetrain-$name" --class io.sparsetrain.jobs.Main "$APP_JAR" "$@")
  DRIVER_MEM="$(sparkconf get --profile "$profile" $pa spark.driver.memory)"
  SUBMIT_PROFILE="$profile"
}

submit() {  # submit NAME JOB-ARGS...
  submit_args "$@"
  log "spark-submit (profile $SUBMIT_PROFILE) ${*:2}"
  SPARK_HOME="$SPARK_HOME_DIR" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 \
    java "-Xmx$DRIVER_MEM" $JVM_FLAGS -cp "$SPARK_HOME_DIR/conf:$SPARK_HOME_DIR/jars/*" org.apache.spark.deploy.SparkSubmit \
    "${SUBMIT_ARGS[@]}"
}

PREP_ARGS=(prep --preset fashion-mnist --format idx --input "$FASHION_DIR"
  --output "$OUT/fashion-mnist" --shards 8 --seed 42 --overwrite)
if [[ "$MASTER_URL" == local* ]]; then SMOKE_EXECUTORS=1; else SMOKE_EXECUTORS="${WORKERS:-2}"; fi
SMOKE_ARGS=(smoke --expect-executors "$SMOKE_EXECUTORS")
TRAIN_OUT="$OUT/train/$(basename "$RECIPE" .conf)"
TRAIN_ARGS=(train --config "$RECIPE" --set "data.path=\"$OUT/fashion-mnist\"" --set "output.dir=\"$TRAIN_OUT\"")
THROUGHPUT_ARGS=(throughput --config "$RECIPE" --set "data.path=\"$OUT/fashion-mnist\""
  --set "output.dir=\"$OUT/throughput\"" --json "$OUT/throughput/throughput.json")
SPARSIFY_ARGS=(sparsify --data "$OUT/fashion-mnist")
EVALUATE_ARGS=(evaluate --data "$OUT/fashion-mnist")
COMPARE_ARGS=(compare --data "$OUT/fashion-mnist")

prepare_data() {  # prep once: a finished dataset has its manifest.json (written last, published by rename)
  if [[ -f "$OUT/fashion-mnist/manifest.json" ]]; then
    log "Fashion-MNIST already prepared: $OUT/fashion-mnist"
  else
    submit prep "${PREP_ARGS[@]}"
  fi
}

hms() { local s="${1%.*}"; [[ "$s" =~ ^[0-9]+$ ]] || { echo "$1"; return; }; printf '%02d:%02d:%02d' $((s / 3600)) $((s / 60 % 60)) $((s % 60)); }

num() {  # num VALUE: VALUE with one decimal, or "-" when it is not a number (NaN or null: a phase the run lacked)
  if [[ "$1" =~ ^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$ ]]; then printf '%.1f' "$1"; else printf -- '-'; fi
}

train_summary() {  # the final numbers of metrics.json (written by the train job's TrainReport)
  local metrics="$TRAIN_OUT/metrics.json"
  if [[ ! -f "$metrics" ]]; then
    log "no $metrics (output.dir overridden, or not a local path): see the job's output above"
    return 0
  fi
  local -A f=()
  local key value
  # the "final" object of Jackson's indented output: one  "key" : value  per line
  while IFS='=' read -r key value; do f[$key]="$value"; done < <(awk '
    /^  "final" : \{/ { inside = 1; next }
    inside && /^  \}/ { exit }
    inside { line = $0; gsub(/[",]/, "", line); sub(/^ +/, "", line); split(line, kv, " : "); print kv[1] "=" kv[2] }
  ' "$metrics")
  [[ -n "${f[testTop1]:-}" ]] || die "$metrics has no final numbers (did the run finish an epoch?)"
  printf '\n==================== %s ====================\n' "$(basename "$TRAIN_OUT")"
  printf '  epochs %s, steps (averaging rounds) %s, elapsed %s\n' "${f[epochs]}" "${f[steps]}" "$(hms "${f[elapsedSeconds]}")"
  printf '  test top-1 %.4f   top-5 %.4f\n' "${f[testTop1]}" "${f[testTop5]}"
  printf '  global sparsity %.4f (target %.4f)\n' "${f[globalSparsity]}" "${f[targetSparsity]}"
  printf '  training images/s: dense %s, pruning era %s, frozen sparse %s\n' "$(num "${f[imagesPerSecondDense]}")" \
    "$(num "${f[imagesPerSecondPruning]}")" "$(num "${f[imagesPerSecondFrozenSparse]}")"
  printf '  metrics %s\n  report  %s\n\n' "$metrics" "$TRAIN_OUT/report.html"
}

run_job() {  # the job's steps, each a spark-submit
  case "$JOB" in
    smoke) submit smoke "${SMOKE_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
    prep) submit prep "${PREP_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
    train)
      prepare_data
      submit train "${TRAIN_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}"
      train_summary ;;
    throughput)
      prepare_data
      submit throughput "${THROUGHPUT_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
    sparsify|evaluate|compare)
      prepare_data
      local -n post_args="${JOB^^}_ARGS"
      submit "$JOB" "${post_args[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
  esac
}

print_submit_args() {
  local -A args_of=([smoke]=SMOKE_ARGS [prep]=PREP_ARGS [train]=TRAIN_ARGS [throughput]=THROUGHPUT_ARGS
    [sparsify]=SPARSIFY_ARGS [evaluate]=EVALUATE_ARGS [compare]=COMPARE_ARGS)
  local -n job_args="${args_of[$JOB]}"
  submit_args "$JOB" "${job_args[@]}" "${EXTRA_JOB_ARGS[@]}"
  printf '%s\n' "${SUBMIT_ARGS[@]}"
}

# ---------------------------------------------------------------- main
case "$COMMAND" in
  stop) stop_cluster; exit 0 ;;
  status) status_cluster; exit 0 ;;
esac

if [[ "$PRINT_SUBMIT" -eq 1 ]]; then
  [[ -f "$CONF_JAR" ]] || die "build first (mvn -DskipTests package): $CONF_JAR is missing"
  print_submit_args
  exit 0
fi

install_missing
check_java
build
JVM_FLAGS="$(sparkconf jvm-flags)"

if [[ "$COMMAND" == start ]]; then
  if cluster_running; then die "the embedded cluster of $OUT is already running ($(cat "$CLUSTER_DIR/master-url"))"; fi
  trap 'rc=$?; [[ $rc -eq 0 ]] || stop_cluster; exit $rc' EXIT  # a half-started cluster is stopped
  trap 'exit 130' INT TERM
  start_cluster
  log "submit jobs to it with the same --out and --sparkconf-file; stop it with: ./run-cluster.sh --out $OUT stop"
  exit 0
fi

if [[ -z "$MASTER_URL" ]]; then
  if cluster_running; then
    # started earlier with 'start': submit to it and leave it running
    profile_master="$(sparkconf get --profile embedded-cluster $(profile_args) master)"
    [[ "$profile_master" == "$(cat "$CLUSTER_DIR/master-url")" ]] || die "the embedded cluster running from \
$CLUSTER_DIR listens on $(cat "$CLUSTER_DIR/master-url"), but this --sparkconf-file gives $profile_master"
    log "using the embedded cluster already running at $profile_master (it stays up: ./run-cluster.sh --out $OUT stop)"
  else
    trap 'rc=$?; stop_cluster; exit $rc' EXIT
    trap 'exit 130' INT TERM
    start_cluster
  fi
fi

run_job
log "done: $JOB finished; outputs under $OUT"
