//! Where a coordinator's segments run: the seam between the coordinator's loop
//! (`processes.rs`) and what starts workers.
//!
//! Two launchers implement [`Launch`]: [`LocalChildren`] (`--runner processes`: child processes
//! of this binary on this machine, `--jobs` at a time, each under its share of the budget) and
//! [`LineLauncher`] (`--runner launcher`: stages of segments written as `@stepstone` JSON lines
//! on standard output for an engine's launcher — the Spark launcher — which runs each segment
//! anywhere and answers one JSON line per segment on standard input). Both report how each
//! attempt ended ([`Ended`]); the coordinator reads the attempt's report from the store and
//! decides. Not responsible for what a worker does (`worker.rs`) or the decisions
//! (`processes.rs`).
//!
//! The line protocol (format 1):
//! - coordinator → launcher, on stdout: `@stepstone {"op":"stage","format":1,"stage":N,
//!   "description":"…","tasks":[{"segment":S,"attempt":A,"spec":{TaskSpec}}…]}` — run these
//!   segments (a Spark job), each as `BINARY <the coordinator's flags> --run-task SPEC
//!   --attempt W --lifeline stdin`; and `@stepstone {"op":"stop"}` when the run ends.
//! - launcher → coordinator, on stdin, one line per segment: `{"segment":S,"attempt":A,
//!   "worker_attempt":W,"exit_code":C,"message":"…"}` — `W`: the attempt number the worker that
//!   ended last was given (its report is `runs/<run>/task-s<S>-a<W>.json`), `C`: its exit code
//!   (0, 1, 2 as the worker said; anything else, or null, when the engine gave up on it).
//!   Other lines of stdout are the pipeline's own output.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use super::remote::TaskSpec;

/// How one attempt of a segment ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) segment: usize,
    /// The coordinator's attempt number.
    pub(crate) attempt: u32,
    /// The attempt number of the worker whose report tells the outcome.
    pub(crate) report_attempt: u32,
    /// Its exit code (`None`: killed by a signal, or the engine gave up).
    pub(crate) code: Option<i32>,
    /// How it ended, in words (`exited with code 3`, `was killed by signal 9`, the engine's
    /// message).
    pub(crate) how: String,
}

/// What a segment started now gets of the run's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    /// Its memory budget in bytes.
    pub(crate) bytes: u64,
    /// The cores it may use (its wide tasks load lazy inputs on all of them).
    pub(crate) threads: u32,
}

/// What starts a coordinator's workers.
pub(crate) trait Launch {
    /// What a segment started now gets, or `None` when it must wait (`ready`: segments that
    /// could start now, this one included).
    fn share(&self, budget: u64, jobs: usize, ready: usize) -> Option<Share>;
    /// Start `spec` (attempt `attempt`; `spec_path`: a local copy of it).
    fn start(
        &mut self,
        attempt: u32,
        share: u64,
        spec: &TaskSpec,
        spec_path: &Path,
    ) -> Result<(), String>;
    /// Send what was started since the last call (one stage).
    fn flush(&mut self) -> Result<(), String>;
    /// Segments running.
    fn running(&self) -> usize;
    /// The next attempt that ended, waiting at most `timeout` (`Ok(None)`: none yet).
    fn next(&mut self, timeout: Duration) -> Result<Option<Ended>, String>;
    /// Stop every running attempt and wait for them.
    fn stop_all(&mut self);
    /// Attempts of one segment before the run fails.
    fn max_attempts(&self) -> u32;
}

/// A running child.
struct Running {
    pid: u32,
    attempt: u32,
    share: u64,
    /// Its lifeline: dropped (closed) when this process ends, which ends the child.
    _stdin: Option<ChildStdin>,
}

type Done = (usize, u32, std::io::Result<std::process::ExitStatus>);

/// `--runner processes`: children of this binary, stopped and waited for whenever the
/// schedule ends.
pub(crate) struct LocalChildren {
    command: Vec<OsString>,
    running: HashMap<usize, Running>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
}

impl LocalChildren {
    /// Children started as `command` (program and arguments) plus the worker flags.
    pub(crate) fn new(command: Vec<OsString>) -> LocalChildren {
        let (done_tx, done_rx) = mpsc::channel();
        LocalChildren {
            command,
            running: HashMap::new(),
            done_tx,
            done_rx,
        }
    }
}

impl Launch for LocalChildren {
    fn share(&self, budget: u64, jobs: usize, ready: usize) -> Option<Share> {
        if self.running.len() >= jobs.max(1) {
            return None;
        }
        // An equal share among those that can run now (a segment that runs alone gets the
        // whole budget); it starts only when it fits beside the shares of the running ones.
        // The cores are shared the same way (a segment alone may load on every one).
        let beside = jobs.min(self.running.len() + ready).max(1);
        let share = (budget / beside as u64).max(1);
        let reserved: u64 = self.running.values().map(|r| r.share).sum();
        let threads = u32::try_from(jobs / beside).unwrap_or(u32::MAX).max(1);
        (self.running.is_empty() || reserved + share <= budget).then_some(Share {
            bytes: share,
            threads,
        })
    }

    fn start(
        &mut self,
        attempt: u32,
        share: u64,
        spec: &TaskSpec,
        spec_path: &Path,
    ) -> Result<(), String> {
        let Some((program, args)) = self.command.split_first() else {
            return Err("no worker command".into());
        };
        let mut child: Child = Command::new(program)
            .args(args)
            .arg("--run-task")
            .arg(spec_path)
            .arg("--attempt")
            .arg(attempt.to_string())
            .arg("--lifeline")
            .arg("stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start a worker process ({}): {e}",
                    Path::new(program).display()
                )
            })?;
        let stdin = child.stdin.take();
        let pid = child.id();
        let segment = spec.segment as usize;
        let tx = self.done_tx.clone();
        std::thread::Builder::new()
            .name(format!("stepstone-wait-{pid}"))
            .spawn(move || {
                let status = child.wait();
                let _ = tx.send((segment, attempt, status));
            })
            .map_err(|e| format!("cannot start a thread to wait for a worker: {e}"))?;
        self.running.insert(
            segment,
            Running {
                pid,
                attempt,
                share,
                _stdin: stdin,
            },
        );
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn running(&self) -> usize {
        self.running.len()
    }

    fn next(&mut self, timeout: Duration) -> Result<Option<Ended>, String> {
        let (segment, attempt, status) = match self.done_rx.recv_timeout(timeout) {
            Ok(done) => done,
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("lost track of the worker processes".into());
            }
        };
        if self
            .running
            .get(&segment)
            .is_none_or(|r| r.attempt != attempt)
        {
            return Ok(None);
        }
        self.running.remove(&segment);
        use std::os::unix::process::ExitStatusExt;
        let (code, how) = match &status {
            Ok(st) => match (st.code(), st.signal()) {
                (Some(code), _) => (Some(code), format!("exited with code {code}")),
                (None, Some(sig)) => (None, format!("was killed by signal {sig}")),
                _ => (None, "ended".to_string()),
            },
            Err(e) => (None, format!("could not be waited for ({e})")),
        };
        Ok(Some(Ended {
            segment,
            attempt,
            report_attempt: attempt,
            code,
            how,
        }))
    }

    fn stop_all(&mut self) {
        if self.running.is_empty() {
            return;
        }
        for r in self.running.values() {
            signal(r.pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut killed = false;
        while !self.running.is_empty() {
            match self.done_rx.recv_timeout(Duration::from_millis(100)) {
                Ok((segment, attempt, _)) => {
                    if self
                        .running
                        .get(&segment)
                        .is_some_and(|r| r.attempt == attempt)
                    {
                        self.running.remove(&segment);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if !killed && Instant::now() > deadline {
                        for r in self.running.values() {
                            signal(r.pid, libc::SIGKILL);
                        }
                        killed = true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    fn max_attempts(&self) -> u32 {
        MAX_ATTEMPTS
    }
}

impl Drop for LocalChildren {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Attempts of one segment before the run fails, with local children (a killed or transiently
/// failing worker is started again; a step's own failure is never retried).
pub(crate) const MAX_ATTEMPTS: u32 = 4;

/// Attempts with an engine's launcher: the engine retries a segment itself
/// (`spark.task.maxFailures`) before it reports it lost; the coordinator tries once more.
pub(crate) const LAUNCHER_ATTEMPTS: u32 = 2;

#[allow(unsafe_code)]
fn signal(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) on a pid of our own child that has not been waited for.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// `--runner launcher`: stages on stdout, answers on stdin (see the module's protocol). One per
/// schedule the coordinator runs (a run with sinks and an output runs several); the stage
/// numbers and the answers on stdin belong to the process ([`stage_number`], [`answers`]).
pub(crate) struct LineLauncher {
    description: String,
    batch: Vec<serde_json::Value>,
    running: HashMap<usize, u32>,
}

/// The next stage number: unique in the process, so a run's stages (and their Spark job
/// groups) never repeat a number from one schedule to the next.
fn stage_number() -> u64 {
    static STAGES: AtomicU64 = AtomicU64::new(0);
    STAGES.fetch_add(1, Ordering::Relaxed) + 1
}

/// The launcher's answers: standard input is one stream for the whole process, so one thread
/// reads it (started by the first launcher) and every [`LineLauncher`] of the process receives
/// from its channel. A reader per launcher would leave the previous schedule's thread blocked
/// on stdin, taking the next answer and dropping it.
fn answers() -> &'static Mutex<mpsc::Receiver<Result<Answer, String>>> {
    static ANSWERS: OnceLock<Mutex<mpsc::Receiver<Result<Answer, String>>>> = OnceLock::new();
    ANSWERS.get_or_init(|| {
        let (tx, answers) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("stepstone-launcher-answers".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    let answer = match line {
                        Ok(line) if line.trim().is_empty() => continue,
                        Ok(line) => serde_json::from_str::<Answer>(&line).map_err(|e| {
                            format!("the launcher sent a line that is not an answer ({e}): {line}")
                        }),
                        Err(e) => Err(format!("reading the launcher's answers: {e}")),
                    };
                    if tx.send(answer).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Err(
                    "the launcher closed standard input: it is gone, so no segment can finish"
                        .into(),
                ));
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot read the launcher's answers");
        }
        Mutex::new(answers)
    })
}

/// One answer line of the launcher.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    segment: usize,
    attempt: u32,
    #[serde(default)]
    worker_attempt: Option<u32>,
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default)]
    message: Option<String>,
}

impl LineLauncher {
    /// A launcher for one schedule; `description` names the run in the engine's UI.
    pub(crate) fn new(description: String) -> LineLauncher {
        // Start reading stdin now: an answer is never lost between two schedules.
        let _ = answers();
        LineLauncher {
            description,
            batch: Vec::new(),
            running: HashMap::new(),
        }
    }

    fn say(message: &serde_json::Value) -> Result<(), String> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "@stepstone {message}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to the launcher: {e}"))
    }
}

impl Launch for LineLauncher {
    fn share(&self, budget: u64, _jobs: usize, _ready: usize) -> Option<Share> {
        // The engine places tasks: each gets the whole per-task budget and one core (a Spark
        // task's `spark.task.cpus`, 1 unless the cluster says otherwise).
        Some(Share {
            bytes: budget,
            threads: 1,
        })
    }

    fn start(
        &mut self,
        attempt: u32,
        _share: u64,
        spec: &TaskSpec,
        _spec_path: &Path,
    ) -> Result<(), String> {
        let spec_json = serde_json::to_value(spec).map_err(|e| e.to_string())?;
        self.batch.push(serde_json::json!({
            "segment": spec.segment,
            "attempt": attempt,
            "spec": spec_json,
        }));
        self.running.insert(spec.segment as usize, attempt);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let stage = stage_number();
        let tasks = std::mem::take(&mut self.batch);
        let description = format!(
            "{}: stage {} ({} segment{})",
            self.description,
            stage,
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" }
        );
        Self::say(&serde_json::json!({
            "op": "stage",
            "format": 1,
            "stage": stage,
            "description": description,
            "tasks": tasks,
        }))
    }

    fn running(&self) -> usize {
        self.running.len()
    }

    fn next(&mut self, timeout: Duration) -> Result<Option<Ended>, String> {
        // A poisoned lock only means another schedule's thread panicked while receiving.
        let answers = answers().lock().unwrap_or_else(|e| e.into_inner());
        let answer = match answers.recv_timeout(timeout) {
            Ok(answer) => answer?,
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the launcher's answers stopped".into());
            }
        };
        if self.running.get(&answer.segment) != Some(&answer.attempt) {
            return Ok(None);
        }
        self.running.remove(&answer.segment);
        let how = match (&answer.exit_code, &answer.message) {
            (Some(code), Some(m)) => format!("exited with code {code}: {m}"),
            (Some(code), None) => format!("exited with code {code}"),
            (None, Some(m)) => format!("was given up by the engine: {m}"),
            (None, None) => "was given up by the engine".into(),
        };
        Ok(Some(Ended {
            segment: answer.segment,
            attempt: answer.attempt,
            report_attempt: answer.worker_attempt.unwrap_or(answer.attempt),
            code: answer.exit_code,
            how,
        }))
    }

    fn stop_all(&mut self) {
        self.running.clear();
        let _ = Self::say(&serde_json::json!({"op": "stop"}));
    }

    fn max_attempts(&self) -> u32 {
        LAUNCHER_ATTEMPTS
    }
}
