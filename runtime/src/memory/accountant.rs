//! Accounting: the bytes the runtime holds, their peak, and a timeline sampled in the background
//! (tracked bytes beside the process's real RSS) for the run report.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Budget, current_rss, fix_mmap_threshold, peak_rss, reset_peak_rss};

/// One point of the memory timeline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemorySample {
    /// Seconds since the run started.
    pub t: f64,
    /// Bytes the runtime accounted at that moment.
    pub tracked_bytes: u64,
    /// Resident set size of the process at that moment.
    pub rss_bytes: u64,
}

/// Tracks charged bytes against the budget.
#[derive(Debug)]
pub struct Accountant {
    budget: Budget,
    tracked: Arc<AtomicU64>,
    peak: AtomicU64,
    started: Instant,
    peak_reset: bool,
    rss_peak_sampled: Arc<AtomicU64>,
    samples: Arc<Mutex<Vec<MemorySample>>>,
    /// Nanoseconds after `started` of the last step-boundary sample ([`Accountant::step_sample`]).
    last_step_sample: AtomicU64,
    stop: Arc<AtomicBool>,
    sampler: Mutex<Option<JoinHandle<()>>>,
}

/// Samples kept at most; beyond that every other sample is dropped (the timeline thins out
/// evenly instead of growing without bound).
const MAX_SAMPLES: usize = 4096;

/// Step-boundary samples are taken at most this often: reading the RSS is a system call that
/// costs about as much as a tiny step itself (a 100,000-step loop read `/proc/self/statm`
/// 100,000 times), and a timeline needs no more than a point per millisecond.
const STEP_SAMPLE_GAP: Duration = Duration::from_millis(1);

impl Accountant {
    /// Start accounting (and the background sampler) for a run with `budget`.
    /// With `sample_every`, a background thread also samples RSS at that interval (a second
    /// thread makes glibc's malloc take locks, which costs the allocation-heavy steps of a
    /// single-threaded run up to ~20 %; without it the timeline is sampled at step boundaries (at most once a millisecond)
    /// and at every new peak).
    pub fn start(budget: Budget, sample_every: Option<Duration>) -> Self {
        fix_mmap_threshold();
        let peak_reset = reset_peak_rss();
        let started = Instant::now();
        let tracked = Arc::new(AtomicU64::new(0));
        let rss_peak_sampled = Arc::new(AtomicU64::new(current_rss()));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_every.and_then(|every| {
            let (tracked, rss_peak, samples, stop) = (
                Arc::clone(&tracked),
                Arc::clone(&rss_peak_sampled),
                Arc::clone(&samples),
                Arc::clone(&stop),
            );
            std::thread::Builder::new()
                .name("stepstone-memory".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let rss = current_rss();
                        rss_peak.fetch_max(rss, Ordering::Relaxed);
                        let sample = MemorySample {
                            t: started.elapsed().as_secs_f64(),
                            tracked_bytes: tracked.load(Ordering::Relaxed),
                            rss_bytes: rss,
                        };
                        push_sample(&samples, sample);
                        std::thread::park_timeout(every);
                    }
                })
                .ok()
        });
        Accountant {
            budget,
            tracked,
            peak: AtomicU64::new(0),
            started,
            peak_reset,
            rss_peak_sampled,
            samples,
            last_step_sample: AtomicU64::new(0),
            stop,
            sampler: Mutex::new(sampler),
        }
    }

    /// The budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }
    /// Bytes currently charged.
    pub fn tracked(&self) -> u64 {
        self.tracked.load(Ordering::Relaxed)
    }
    /// Highest charged total so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
    /// Seconds since the run started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
    /// Whether `extra` more bytes fit.
    pub fn fits(&self, extra: u64) -> bool {
        self.tracked().saturating_add(extra) <= self.budget.bytes()
    }
    /// Charge `bytes`.
    pub fn charge(&self, bytes: u64) {
        let now = self.tracked.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let before = self.peak.fetch_max(now, Ordering::Relaxed);
        // A new peak (by at least 1 %) goes on the timeline, so short peaks between periodic
        // samples are not lost.
        if now > before.saturating_add(before / 100) {
            self.sample();
        }
    }
    /// Release `bytes`.
    pub fn release(&self, bytes: u64) {
        let _ = self
            .tracked
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(bytes))
            });
    }
    /// Record a sample now (at step boundaries, so short runs still have a timeline).
    pub fn sample(&self) {
        let rss = current_rss();
        self.rss_peak_sampled.fetch_max(rss, Ordering::Relaxed);
        push_sample(
            &self.samples,
            MemorySample {
                t: self.elapsed(),
                tracked_bytes: self.tracked(),
                rss_bytes: rss,
            },
        );
    }
    /// A sample at a step boundary: taken when at least a millisecond passed since the last one
    /// (new peaks of the charged bytes are sampled at once by [`Accountant::charge`]).
    pub fn step_sample(&self) {
        let now = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let last = self.last_step_sample.load(Ordering::Relaxed);
        let gap = u64::try_from(STEP_SAMPLE_GAP.as_nanos()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < gap {
            return;
        }
        self.last_step_sample.store(now.max(1), Ordering::Relaxed);
        self.sample();
    }
    /// Peak RSS of the run: the kernel's high-water mark when it could be reset at the start,
    /// else the highest sampled value.
    pub fn rss_peak(&self) -> u64 {
        let sampled = self.rss_peak_sampled.load(Ordering::Relaxed);
        if self.peak_reset {
            peak_rss().max(sampled)
        } else {
            sampled
        }
    }
    fn stop_sampler(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self
            .sampler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }

    /// Stop the sampler and return the timeline.
    pub fn finish(&self) -> Vec<MemorySample> {
        self.sample();
        self.stop_sampler();
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Accountant {
    fn drop(&mut self) {
        self.stop_sampler();
    }
}

fn push_sample(samples: &Mutex<Vec<MemorySample>>, sample: MemorySample) {
    let mut samples = samples.lock().unwrap_or_else(PoisonError::into_inner);
    if samples.len() >= MAX_SAMPLES {
        let mut i = 0;
        samples.retain(|_| {
            i += 1;
            i % 2 == 0
        });
    }
    samples.push(sample);
}

/// Bytes charged against the budget for as long as the guard lives (DataFusion's
/// `MemoryReservation`): a task's output estimate while its body runs is released when the
/// task is admitted, fails or is dropped on any error path.
#[must_use = "the reservation is released when dropped"]
#[derive(Debug)]
pub struct Reservation {
    memory: Arc<Accountant>,
    bytes: u64,
}

impl Reservation {
    /// Charge `bytes` on `memory` until the guard is dropped.
    pub fn new(memory: &Arc<Accountant>, bytes: u64) -> Reservation {
        memory.charge(bytes);
        Reservation {
            memory: Arc::clone(memory),
            bytes,
        }
    }

    /// The reserved bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.memory.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_is_released_when_dropped_on_any_path() {
        let a = Arc::new(Accountant::start(Budget(100), None));
        let failing = || -> Result<(), String> {
            let held = Reservation::new(&a, 70);
            assert_eq!(a.tracked(), 70);
            assert_eq!(held.bytes(), 70);
            Err("the step failed".into())
        };
        assert!(failing().is_err());
        assert_eq!(a.tracked(), 0, "an error path gives the bytes back");
        let moved = Reservation::new(&a, 30);
        let elsewhere = std::thread::spawn(move || drop(moved));
        elsewhere.join().unwrap();
        assert_eq!(a.tracked(), 0);
        assert_eq!(a.peak(), 70);
    }

    #[test]
    fn charge_release_and_peak() {
        let a = Accountant::start(Budget(100), Some(Duration::from_millis(5)));
        a.charge(60);
        assert!(a.fits(40));
        assert!(!a.fits(41));
        a.charge(30);
        a.release(50);
        assert_eq!(a.tracked(), 40);
        assert_eq!(a.peak(), 90);
        a.release(1000);
        assert_eq!(a.tracked(), 0);
        let timeline = a.finish();
        assert!(!timeline.is_empty());
    }

    /// Step boundaries sample the RSS at most once a millisecond (a 100,000-step loop read
    /// `/proc/self/statm` after every step: half of its time), and the first one always.
    #[test]
    fn step_samples_are_rate_limited() {
        let a = Accountant::start(Budget(100), None);
        let count = || a.samples.lock().unwrap().len();
        let before = count();
        a.step_sample();
        assert_eq!(count(), before + 1, "the first step boundary is sampled");
        let started = Instant::now();
        for _ in 0..1000 {
            a.step_sample();
        }
        // At most one more per millisecond the loop took (a loaded machine may pause it).
        let gaps = (started.elapsed().as_micros() / 1000) as usize;
        assert!(count() <= before + 2 + gaps, "{} samples", count() - before);
        std::thread::sleep(STEP_SAMPLE_GAP * 2);
        let now = count();
        a.step_sample();
        assert_eq!(count(), now + 1, "a boundary after the gap is sampled");
    }
}
