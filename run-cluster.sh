#!/usr/bin/env bash
# run-cluster.sh: the main job of sparsetrain, end to end.
#
# With no arguments on a fresh machine: installs what is missing (Debian dataset-fashion-mnist, a JDK 17
# and Maven if absent), builds, starts the embedded standalone Spark cluster (a master and workers as
# separate JVMs on 127.0.0.1, run from the Maven-built sparkconf/target/spark-home, no Spark download), submits
# the pipeline with spark-submit, prints the summary, and stops the cluster, even on failure.
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
JOB="pipeline"
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
even on failure.

Options:
  --master URL          Submit to an existing cluster instead: spark://host:port (profile standalone),
                        yarn (profile yarn) or k8s://https://host:port (profile kubernetes).
  --job NAME            pipeline (default): prepare Fashion-MNIST as Parquet shards and print the manifest
                        summary.  train: train with --recipe on the prepared Fashion-MNIST (prepares it
                        first if missing).  smoke: a checked sum over all executors (proves the cluster works).
  --recipe FILE         The train job's HOCON configuration (default: the ResNet-20 70% combined recipe,
                        jobs/src/main/resources/recipes/resnet20-fashion-mnist-combined70.conf).
  --print-submit-args   Print the spark-submit arguments of the job (one per line) and exit.
  --out DIR             Where outputs go (default ./out). Dataset: DIR/fashion-mnist, cluster logs: DIR/cluster.
  --workers N           Embedded cluster: number of worker JVMs (default from the embedded-cluster profile).
  --sparkconf-file F    A HOCON file overriding sparkconf's profiles (see sparkconf/src/main/resources).
  --skip-build          Use the jars already built (jobs/target, sparkconf/target).
  --skip-install        Do not apt-get install missing packages.
  -h, --help            This help.

Cluster-only commands (embedded cluster): ./run-cluster.sh start | stop | status
Everything after -- is passed to the job (e.g. -- --shards 16 --seed 7).
EOF
}

log() { printf '[run-cluster %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { printf '[run-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

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
case "$JOB" in pipeline|train|smoke) ;; *) die "--job must be pipeline, train or smoke, got '$JOB'" ;; esac
if [[ "$JOB" == train ]]; then
  [[ -f "$RECIPE" ]] || die "--recipe not found: $RECIPE"
  RECIPE="$(cd "$(dirname "$RECIPE")" && pwd)/$(basename "$RECIPE")"
fi
if [[ -n "$WORKERS" && ! "$WORKERS" =~ ^[1-8]$ ]]; then die "--workers must be 1..8, got '$WORKERS'"; fi
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

profile_for_master() {
  case "$1" in
    "") echo embedded-cluster ;;
    spark://*) echo standalone ;;
    yarn) echo yarn ;;
    k8s://*) echo kubernetes ;;
    *) die "--master must be spark://host:port, yarn or k8s://..., got '$1'" ;;
  esac
}

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
  rm -rf "$CLUSTER_DIR/logs" "$CLUSTER_DIR/pids"
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
  log "cluster up: master + $n worker JVM(s) ($cores core(s), $mem each); logs in $CLUSTER_DIR/logs"
}

stop_cluster() {
  [[ -d "$CLUSTER_DIR/pids" ]] || return 0
  local f pid
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
  # executors are children of the workers; make sure none outlives them
  pkill -f "org.apache.spark.executor.CoarseGrainedExecutorBackend.*$CLUSTER_DIR" 2>/dev/null || true
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
SMOKE_ARGS=(smoke --expect-executors "${WORKERS:-2}")
TRAIN_ARGS=(train --config "$RECIPE" --set "data.path=\"$OUT/fashion-mnist\""
  --set "output.dir=\"$OUT/train/$(basename "$RECIPE" .conf)\"")

run_job() {  # the job's steps, each a spark-submit
  case "$JOB" in
    smoke) submit smoke "${SMOKE_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
    pipeline) submit prep "${PREP_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
    train)
      if [[ ! -f "$OUT/fashion-mnist/manifest.json" ]]; then submit prep "${PREP_ARGS[@]}"; fi
      submit train "${TRAIN_ARGS[@]}" "${EXTRA_JOB_ARGS[@]}" ;;
  esac
}

print_submit_args() {
  local -A args_of=([smoke]=SMOKE_ARGS [pipeline]=PREP_ARGS [train]=TRAIN_ARGS)
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

if [[ "$COMMAND" == start ]]; then start_cluster; exit 0; fi

if [[ -z "$MASTER_URL" ]]; then
  trap 'rc=$?; stop_cluster; exit $rc' EXIT
  trap 'exit 130' INT TERM
  start_cluster
fi

run_job
log "done: $JOB finished; outputs under $OUT"
