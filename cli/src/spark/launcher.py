"""Stepstone's Spark launcher: runs a Stepstone pipeline's segments as Spark tasks.

Started by `stepstone spark submit` through spark-submit, as the Spark driver:

    launcher.py [--stage-retries N] BINARY [PIPELINE FLAGS...]

It starts BINARY as the run's coordinator (`--runner launcher`): the coordinator records the
pipeline, plans against the checkpoint store, holds its lock or lease and writes one
`@stepstone {"op":"stage",...}` line per stage of ready segments on its standard output. Each
stage becomes one Spark job (stages run concurrently, one thread each; the job's description
names the run and stage in the Spark UI) with one task per segment. A task starts BINARY in
worker mode (`--run-task SPEC --attempt W --lifeline stdin`) with the coordinator's flags and
environment (AWS_*, STEPSTONE_*, RUST_LOG), in the coordinator's working directory when the
executor has it, and maps its exit code:

    0 done, 1 the step failed (deterministic), 2 refused (another binary or flags)
        -> returned as the task's result: Spark does not retry it
    anything else (killed, store unreachable, a stop)
        -> raised: Spark retries the task (spark.task.maxFailures), on another executor if
           one is lost

The worker's standard input is a pipe from this Python worker: when Spark kills the task (only
the Python worker dies), the pipe closes and the native process exits by itself. One answer
line per segment goes back on the coordinator's standard input. Other lines the coordinator
prints are passed through. The exit code is the coordinator's.

The protocol is documented in docs/design.md ("Running on Apache Spark").
"""

import json
import os
import subprocess
import sys
import tempfile
import threading

PROTOCOL = 1
PREFIX = "@stepstone "
# Flags the coordinator's environment passes on to every worker.
ENV_PREFIXES = ("AWS_", "STEPSTONE_", "RUST_LOG", "RUST_BACKTRACE")


def worker_attempt(coordinator_attempt, spark_attempt):
    """The attempt number a worker gets: unique per (coordinator attempt, Spark attempt)."""
    return (coordinator_attempt - 1) * 100 + spark_attempt + 1


def classify(exit_code):
    """What a worker's exit code means: 'result' (return it) or 'retry' (raise)."""
    if exit_code in (0, 1, 2):
        return "result"
    return "retry"


def run_segment(task, spark_attempt=None, spark_files_get=None, cpus=None):
    """Run one segment in worker mode on this executor; return its answer or raise to retry.
    The worker may use the cores Spark gave the task (`spark.task.cpus`, or a stage's task
    resource profile): a wide step reads its stored inputs on all of them."""
    if spark_attempt is None or cpus is None:
        from pyspark import TaskContext

        context = TaskContext.get()
        if spark_attempt is None:
            spark_attempt = context.attemptNumber() if context is not None else 0
        if cpus is None:
            cpus = context.cpus() if context is not None else 1
    if spark_files_get is None:
        from pyspark import SparkFiles

        spark_files_get = SparkFiles.get
    binary = task["binary_path"] or spark_files_get(task["binary"])
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    attempt = worker_attempt(task["attempt"], spark_attempt)
    env = dict(os.environ)
    env.update(task.get("env", {}))
    cwd = task.get("cwd")
    if not cwd or not os.path.isdir(cwd):
        cwd = None
    with tempfile.TemporaryDirectory(prefix="stepstone-task-") as scratch:
        spec_path = os.path.join(scratch, "spec.json")
        spec = task["spec"]
        if cpus > 1:
            spec = dict(spec, threads=cpus)
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        command = [binary, *task["args"], "--run-task", spec_path, "--attempt", str(attempt),
                   "--lifeline", "stdin"]
        # stdin stays open while the worker runs: its end is the worker's lifeline.
        with subprocess.Popen(command, stdin=subprocess.PIPE, env=env, cwd=cwd) as process:
            code = process.wait()
    answer = {"segment": task["segment"], "attempt": task["attempt"],
              "worker_attempt": attempt, "exit_code": code}
    if classify(code) == "result":
        return answer
    raise RuntimeError(
        f"stepstone segment {task['segment']} (worker attempt {attempt}) ended with exit code "
        f"{code}: a transient failure, retried by Spark")


def die_with_parent():
    """Linux: ask the kernel to kill this process when its parent dies (PR_SET_PDEATHSIG), so
    a killed driver leaves neither this launcher nor its coordinator running."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Coordinator:
    """The coordinator process and the answers written to it. When this launcher ends, the
    coordinator's standard input closes and it stops; it is also killed with its parent."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1, preexec_fn=die_with_parent)
        self.lock = threading.Lock()

    def answer(self, message):
        with self.lock:
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # the coordinator is gone: its exit code tells why


def short(error):
    text = str(error).strip().splitlines()
    return text[0][:500] if text else type(error).__name__


def reason(error):
    """What went wrong, in a line: for an error of Spark's JVM, its own exception (py4j's says
    only which call failed)."""
    java = getattr(error, "java_exception", None)
    if java is not None:
        try:
            return short(java.toString())
        except Exception:  # the gateway is gone: keep py4j's line
            pass
    return short(error)


class StageAnswers:
    """A stage's answers, each segment's passed to the coordinator once: when its task ends
    (polled from an accumulator, which Spark merges on the driver as each task succeeds), or at
    the latest when the job ends. So the coordinator folds a segment and starts what waits for
    it without waiting for the slowest task of the stage."""

    def __init__(self, coordinator):
        self.coordinator = coordinator
        self.sent = set()

    def send(self, answers):
        for answer in answers:
            if answer["segment"] not in self.sent:
                self.sent.add(answer["segment"])
                self.coordinator.answer(answer)


def answers_accumulator(sc):
    """An accumulator of answer lists (a new list per merge: safe to read while Spark adds)."""
    from pyspark.accumulators import AccumulatorParam

    class Answers(AccumulatorParam):
        def zero(self, value):
            return []

        def addInPlace(self, value1, value2):
            return value1 + value2

    return sc.accumulator([], Answers())


def run_stage(sc, coordinator, message, base_task, poll_seconds=0.25):
    """One stage as one Spark job; every segment of it gets one answer."""
    tasks = [dict(base_task, segment=t["segment"], attempt=t["attempt"], spec=t["spec"])
             for t in message["tasks"]]
    answers = StageAnswers(coordinator)
    ended = answers_accumulator(sc)

    def run_and_tell(task):
        answer = run_segment(task)
        ended.add([answer])
        return answer

    job_over = threading.Event()

    def poll():
        while not job_over.wait(poll_seconds):
            answers.send(ended.value)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        sc.setJobGroup(f"stepstone-stage-{message['stage']}", message["description"],
                       interruptOnCancel=True)
        results = sc.parallelize(tasks, len(tasks)).map(run_and_tell).collect()
        job_over.set()
        poller.join()
        answers.send(results)
    except Exception as error:  # the job failed: Spark gave up on a task after its retries
        job_over.set()
        poller.join()
        answers.send(ended.value)  # the segments that did end keep their answers
        answers.send({"segment": t["segment"], "attempt": t["attempt"], "exit_code": None,
                      "message": reason(error)} for t in message["tasks"])


def refuse_all(coordinator, why):
    """No engine to run tasks: answer every stage the coordinator sends with `why` (it gives the
    segments up and fails the run, unlocking the store), pass its other lines on, and return
    when it has ended."""
    for line in coordinator.process.stdout:
        if not line.startswith(PREFIX):
            sys.stdout.write(line)
            continue
        message = json.loads(line[len(PREFIX):])
        for t in message.get("tasks", []):
            coordinator.answer({"segment": t["segment"], "attempt": t["attempt"],
                                "exit_code": None, "message": why})
    try:
        coordinator.process.stdin.close()
    except OSError:
        pass  # it has ended already
    return coordinator.process.wait()


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    binary, flags = argv[0], argv[1:]
    die_with_parent()  # the driver JVM: when it is killed, so is this launcher
    name = os.path.basename(binary)
    binary = os.path.abspath(binary)
    # The coordinator records the pipeline, hashes its inputs and plans while Spark starts its
    # context and executors; its stage lines wait in the pipe until the context is up.
    coordinator = Coordinator([binary, *flags, "--runner", "launcher"])
    try:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName(f"stepstone {name}").getOrCreate()
    except BaseException as error:
        refuse_all(coordinator, f"Spark did not start ({reason(error)})")
        sys.stderr.write(f"stepstone: Spark did not start ({reason(error)}); no task ran. "
                         "Check --master and the cluster (Spark's log is above).\n")
        raise
    sc = spark.sparkContext
    shared = os.environ.get("STEPSTONE_SPARK_SHARED_BINARY") == "1"
    if not shared:
        sc.addFile(binary)
    base_task = {
        "binary": name,
        "binary_path": binary if shared else None,
        "args": flags,
        "env": {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)},
        "cwd": os.getcwd(),
    }
    threads = []
    for line in coordinator.process.stdout:
        if not line.startswith(PREFIX):
            sys.stdout.write(line)
            sys.stdout.flush()
            continue
        message = json.loads(line[len(PREFIX):])
        if message.get("op") == "stage":
            if message.get("format") != PROTOCOL:
                for t in message.get("tasks", []):
                    coordinator.answer({"segment": t["segment"], "attempt": t["attempt"],
                                        "exit_code": None,
                                        "message": f"this launcher speaks protocol {PROTOCOL}"})
                continue
            thread = threading.Thread(target=run_stage,
                                      args=(sc, coordinator, message, base_task), daemon=True)
            thread.start()
            threads.append(thread)
        elif message.get("op") == "stop":
            sc.cancelAllJobs()
    code = coordinator.process.wait()
    sc.cancelAllJobs()
    spark.stop()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
