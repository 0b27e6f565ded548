"""Unit tests of Stepstone's Spark launcher (no Spark needed): attempt numbers, the exit-code
rule, and a segment run against a fake pipeline binary. Run by cli/tests/spark.rs with
`python3 -m unittest` in this folder."""

import contextlib
import io
import json
import os
import stat
import sys
import tempfile
import time
import unittest

import launcher


def fake_binary(folder, exit_code, record):
    """A stand-in pipeline binary: records its arguments, stdin state and spec, exits."""
    path = os.path.join(folder, "pipeline")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
printf '%s\\n' "$@" > {record}
cat "$(sed -n '/--run-task/{{n;p;}}' {record})" > {record}.spec
exit {exit_code}
""")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def task(binary, attempt=1):
    return {"segment": 3, "attempt": attempt, "spec": {"segment": 3, "plan_hash": "abc"},
            "binary": os.path.basename(binary), "binary_path": binary,
            "args": ["--checkpoint-dir", "s3://b/p", "--rows", "10"],
            "env": {"STEPSTONE_X": "1"}, "cwd": os.getcwd()}


class LauncherTests(unittest.TestCase):
    def test_attempt_numbers_are_unique_per_coordinator_and_spark_attempt(self):
        seen = {launcher.worker_attempt(c, s) for c in (1, 2) for s in range(4)}
        self.assertEqual(len(seen), 8)
        self.assertEqual(launcher.worker_attempt(1, 0), 1)

    def test_deterministic_exit_codes_are_results_the_rest_is_retried(self):
        for code in (0, 1, 2):
            self.assertEqual(launcher.classify(code), "result")
        for code in (3, 137, 143, -9, None):
            self.assertEqual(launcher.classify(code), "retry")

    def test_a_segment_runs_the_binary_in_worker_mode_with_the_spec(self):
        with tempfile.TemporaryDirectory() as folder:
            record = os.path.join(folder, "args")
            binary = fake_binary(folder, 0, record)
            answer = launcher.run_segment(task(binary, attempt=2), spark_attempt=1, cpus=1)
            self.assertEqual(answer, {"segment": 3, "attempt": 2, "worker_attempt": 102,
                                      "exit_code": 0})
            with open(record) as f:
                args = f.read().split("\n")
            self.assertEqual(args[:4], ["--checkpoint-dir", "s3://b/p", "--rows", "10"])
            self.assertIn("--run-task", args)
            self.assertEqual(args[args.index("--attempt") + 1], "102")
            self.assertEqual(args[args.index("--lifeline") + 1], "stdin")
            with open(record + ".spec") as f:
                self.assertEqual(json.load(f)["plan_hash"], "abc")

    def test_the_worker_gets_the_cores_spark_gave_the_task(self):
        with tempfile.TemporaryDirectory() as folder:
            record = os.path.join(folder, "args")
            binary = fake_binary(folder, 0, record)
            given = task(binary)
            given["spec"]["threads"] = 1
            launcher.run_segment(given, spark_attempt=0, cpus=4)
            with open(record + ".spec") as f:
                self.assertEqual(json.load(f)["threads"], 4)
            launcher.run_segment(given, spark_attempt=0, cpus=1)
            with open(record + ".spec") as f:
                self.assertEqual(json.load(f)["threads"], 1)
            self.assertEqual(given["spec"]["threads"], 1, "the stage's own spec is not changed")

    def test_a_step_failure_is_returned_not_raised(self):
        with tempfile.TemporaryDirectory() as folder:
            binary = fake_binary(folder, 1, os.path.join(folder, "args"))
            answer = launcher.run_segment(task(binary), spark_attempt=0, cpus=1)
            self.assertEqual(answer["exit_code"], 1)

    def test_a_transient_failure_raises_for_spark_to_retry(self):
        with tempfile.TemporaryDirectory() as folder:
            binary = fake_binary(folder, 3, os.path.join(folder, "args"))
            with self.assertRaises(RuntimeError) as raised:
                launcher.run_segment(task(binary), spark_attempt=0, cpus=1)
            self.assertIn("exit code 3", str(raised.exception))

    def test_the_binary_is_taken_from_spark_files_when_not_shared(self):
        with tempfile.TemporaryDirectory() as folder:
            binary = fake_binary(folder, 0, os.path.join(folder, "args"))
            shipped = dict(task(binary), binary_path=None)
            asked = []
            answer = launcher.run_segment(
                shipped, spark_attempt=0, cpus=1,
                spark_files_get=lambda name: asked.append(name) or binary)
            self.assertEqual(asked, ["pipeline"])
            self.assertEqual(answer["exit_code"], 0)


    def test_without_spark_every_stage_is_given_up_with_the_reason(self):
        with tempfile.TemporaryDirectory() as folder:
            script = os.path.join(folder, "coordinator.py")
            with open(script, "w") as f:
                f.write("""import json, sys
print("its report line", flush=True)
stage = {"op": "stage", "format": 1, "stage": 1,
         "tasks": [{"segment": 3, "attempt": 1, "spec": {}}]}
print("@stepstone " + json.dumps(stage), flush=True)
print("answer " + sys.stdin.readline().strip(), flush=True)
sys.exit(1)
""")
            coordinator = launcher.Coordinator([sys.executable, script])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = launcher.refuse_all(coordinator, "Spark did not start (no master)")
        self.assertEqual(code, 1)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[0], "its report line")
        answer = json.loads(lines[1][len("answer "):])
        self.assertEqual(answer, {"segment": 3, "attempt": 1, "exit_code": None,
                                  "message": "Spark did not start (no master)"})


try:
    import pyspark  # noqa: F401  (run_stage builds a real accumulator parameter)

    HAVE_PYSPARK = True
except ImportError:
    HAVE_PYSPARK = False


class FakeCoordinator:
    def __init__(self, spark):
        self.spark, self.answers = spark, []

    def answer(self, message):
        self.answers.append((message, self.spark.running))


class FakeAccumulator:
    def __init__(self):
        self.value = []

    def add(self, term):
        self.value = self.value + term


class FakeSpark:
    """Runs a job's tasks one by one in this process; a task's accumulator update is merged when
    it ends, as Spark merges it on the driver. `fail_at`: the job fails at that task (Spark gave
    up after its retries)."""

    def __init__(self, fail_at=None):
        self.fail_at, self.running, self.coordinator = fail_at, False, None

    def accumulator(self, value, param):
        self.accumulated = FakeAccumulator()
        return self.accumulated

    def setJobGroup(self, group, description, interruptOnCancel=False):
        self.description = description

    def parallelize(self, items, slices):
        spark = self

        class Job:
            def map(self, f):
                self.f = f
                return self

            def collect(self):
                spark.running, results = True, []
                try:
                    for i, item in enumerate(items):
                        if i == spark.fail_at:
                            raise RuntimeError("Job aborted due to stage failure: task 1 failed")
                        results.append(self.f(item))
                        # The next task waits until the driver passed this one's answer on.
                        for _ in range(500):
                            if len(spark.coordinator.answers) > i:
                                break
                            time.sleep(0.01)
                    return results
                finally:
                    spark.running = False

        return Job()


@unittest.skipUnless(HAVE_PYSPARK, "pyspark is not installed: pip install pyspark==4.3.0")
class StageTests(unittest.TestCase):
    def stage(self, folder, spark):
        binary = fake_binary(folder, 0, os.path.join(folder, "args"))
        base = dict(task(binary))
        message = {"stage": 0, "description": "demo run r1: stage 0 (3 segments)",
                   "tasks": [{"segment": s, "attempt": 1, "spec": {"segment": s}}
                             for s in (4, 5, 6)]}
        coordinator = FakeCoordinator(spark)
        spark.coordinator = coordinator
        launcher.run_stage(spark, coordinator, message, base, poll_seconds=0.01)
        return coordinator.answers

    def test_each_segment_is_answered_once_as_its_task_ends(self):
        with tempfile.TemporaryDirectory() as folder:
            answers = self.stage(folder, FakeSpark())
        self.assertEqual([a["segment"] for a, _ in answers], [4, 5, 6])
        self.assertTrue(all(a["exit_code"] == 0 for a, _ in answers))
        self.assertTrue(answers[0][1], "the first answer went out while the job still ran")

    def test_a_failed_job_keeps_the_answers_of_the_segments_that_ended(self):
        with tempfile.TemporaryDirectory() as folder:
            answers = self.stage(folder, FakeSpark(fail_at=1))
        by_segment = {a["segment"]: a for a, _ in answers}
        self.assertEqual(len(answers), 3)
        self.assertEqual(by_segment[4]["exit_code"], 0)
        for segment in (5, 6):
            self.assertIsNone(by_segment[segment]["exit_code"])
            self.assertIn("task 1 failed", by_segment[segment]["message"])


if __name__ == "__main__":
    unittest.main()
