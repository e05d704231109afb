"""sparsetrain on Airflow: data-prep, then train, then evaluate, each a spark-submit of the application jar.

Spark settings: SPARK_CONF below is exactly what sparkconf's ``standalone`` profile gives spark-submit (the
arguments run-cluster.sh uses with ``--master spark://...``); regenerate it when sparkconf changes with

    java -jar sparkconf/target/sparkconf-0.1.0-SNAPSHOT-cli.jar submit-args --profile standalone \
        --master spark://host:7077

(jobs/src/test/java/io/sparsetrain/jobs/train/AirflowDagTest.java fails and prints the new dict when they differ).
The master URL comes from the Airflow connection SPARK_CONN_ID (type Spark, host spark://host, port 7077).
Train always runs with --resume, so an Airflow retry continues from the last checkpoint (or starts fresh).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models.param import Param
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

JAVA_CLASS = "io.sparsetrain.jobs.Main"
SPARK_CONN_ID = "spark_sparsetrain"

# sparkconf profile "standalone" (generated, see the module docstring)
SPARK_CONF = {
    "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "1",
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.hadoop.fs.s3a.connection.maximum": "64",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.executorEnv.OMP_NUM_THREADS": "1",
    "spark.hadoop.fs.s3a.committer.name": "file",
    "spark.hadoop.fs.s3a.fast.upload": "true",
    "spark.kryoserializer.buffer.max": "512m",
    "spark.kryo.registrator": "io.sparsetrain.sparkconf.SparsetrainKryoRegistrator",
    "spark.driver.memory": "4g",
    "spark.task.maxFailures": "4",
    "spark.executor.memory": "8g",
    "spark.driver.extraJavaOptions": "-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false",
    "spark.executor.extraJavaOptions": "-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false",
}

DEFAULT_ARGS = {
    "owner": "sparsetrain",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}

with DAG(
    dag_id="sparsetrain_prep_train_evaluate",
    description="Fashion-MNIST (or any prepared image set) to Parquet, gradual-pruning training, evaluation",
    default_args=DEFAULT_ARGS,
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["sparsetrain", "spark"],
    params={
        "app_jar": Param("/opt/sparsetrain/jobs-0.1.0-SNAPSHOT-app.jar", type="string",
                         description="The jobs application jar (jobs/target/jobs-*-app.jar)"),
        "input": Param("/usr/share/datasets/fashion-mnist", type="string", description="Raw images (IDX, folders, CIFAR)"),
        "input_format": Param("idx", enum=["idx", "folders", "cifar10", "cifar100"]),
        "preset": Param("fashion-mnist", type="string"),
        "dataset": Param("s3a://sparsetrain/datasets/fashion-mnist", type="string",
                         description="Where prep writes the Parquet shards and train reads them"),
        "shards": Param(8, type="integer", minimum=1),
        "train_config": Param("/opt/sparsetrain/recipes/resnet20-fashion-mnist-combined70.conf", type="string",
                              description="HOCON job configuration (jobs/src/main/resources/recipes)"),
        "output_dir": Param("s3a://sparsetrain/runs/resnet20-combined70", type="string"),
        "seed": Param(42, type="integer"),
    },
) as dag:
    prep = SparkSubmitOperator(
        task_id="prep",
        conn_id=SPARK_CONN_ID,
        application="{{ params.app_jar }}",
        java_class=JAVA_CLASS,
        name="sparsetrain-prep",
        conf=SPARK_CONF,
        application_args=[
            "prep",
            "--format", "{{ params.input_format }}",
            "--input", "{{ params.input }}",
            "--output", "{{ params.dataset }}",
            "--preset", "{{ params.preset }}",
            "--shards", "{{ params.shards }}",
            "--seed", "{{ params.seed }}",
            "--overwrite",
        ],
    )

    train = SparkSubmitOperator(
        task_id="train",
        conn_id=SPARK_CONN_ID,
        application="{{ params.app_jar }}",
        java_class=JAVA_CLASS,
        name="sparsetrain-train",
        conf=SPARK_CONF,
        application_args=[
            "train",
            "--config", "{{ params.train_config }}",
            "--set", "data.path=\"{{ params.dataset }}\"",
            "--set", "output.dir=\"{{ params.output_dir }}\"",
            "--set", "seed={{ params.seed }}",
            "--resume",
        ],
    )

    evaluate = SparkSubmitOperator(
        task_id="evaluate",
        conn_id=SPARK_CONN_ID,
        application="{{ params.app_jar }}",
        java_class=JAVA_CLASS,
        name="sparsetrain-evaluate",
        conf=SPARK_CONF,
        application_args=[
            "evaluate",
            "--checkpoint", "{{ params.output_dir }}/checkpoints",
            "--data", "{{ params.dataset }}",
            "--split", "test",
            "--output", "{{ params.output_dir }}/evaluation",
        ],
    )

    prep >> train >> evaluate
