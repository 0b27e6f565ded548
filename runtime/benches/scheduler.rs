//! Per-step scheduler overhead with tiny values: a chain of N `u64` steps through
//! `stepstone::run` with a generous budget and no checkpoints. A run has a fixed cost (store
//! open, lock, report write with fsync); the per-step overhead is the slope between the two
//! chain lengths: (t(2001) − t(1)) / 2000. The checkpoint directory is on `/dev/shm` when it
//! exists, so the disk's flush latency does not blur the figure.
//!
//! `cargo bench -p stepstone --bench scheduler`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stepstone::{Budget, RunConfig};

fn chain(dir: &std::path::Path, steps: u64) -> u64 {
    let config = RunConfig::new("sched-bench")
        .budget("1GiB".parse().unwrap_or(Budget::DEFAULT))
        .checkpoint_dir(dir)
        .fresh(true)
        .jobs(1)
        .checkpoint_every(Some(0));
    let outcome = stepstone::run(&config, |p| {
        let mut x = p.step("start").code("1").run(|_| Ok(1u64));
        for i in 1..steps {
            x = p
                .step("next")
                .code("1")
                .param(&i)
                .input(&x)
                .run(move |a| Ok(a.get::<u64>(0)?.wrapping_mul(31).wrapping_add(i)));
        }
        Ok(x)
    });
    outcome
        .map(|o| o.value)
        .unwrap_or_else(|e| panic!("run: {e}"))
}

fn bench_chain(c: &mut Criterion) {
    // On a tmpfs when there is one: fsync there is free, so the figure is the CPU overhead and
    // not the disk's flush latency (the report is written with fsync once per run).
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut g = c.benchmark_group("scheduler/chain");
    for steps in [1u64, 2001] {
        g.throughput(Throughput::Elements(steps));
        g.bench_with_input(BenchmarkId::from_parameter(steps), &steps, |b, &n| {
            b.iter(|| black_box(chain(dir.path(), n)))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_chain }
criterion_main!(benches);
