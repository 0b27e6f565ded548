//! Lineage truncation: a very long loop with `checkpoint_every` keeps the DAG bounded.

use stepstone::Pipeline;
use stepstone_tests::config;

#[test]
fn ten_thousand_step_loop_keeps_the_dag_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "16MiB").checkpoint_every(Some(100));
    cfg.lookahead = 500;
    let mut max_dag = 0;
    let out = stepstone::run(&cfg, |p: &mut Pipeline| {
        let mut x = p.step("seed").code("1").run(|_| Ok(1u64));
        for i in 0..10_000u64 {
            x = p
                .step("next")
                .code("1")
                .param(&i)
                .input(&x)
                .run(move |a| Ok(a.get::<u64>(0)?.wrapping_mul(31).wrapping_add(i)));
            max_dag = max_dag.max(p.dag_len());
        }
        Ok(x)
    })
    .unwrap();
    let mut expect = 1u64;
    for i in 0..10_000u64 {
        expect = expect.wrapping_mul(31).wrapping_add(i);
    }
    assert_eq!(out.value, expect);
    assert!(
        max_dag <= 700,
        "the DAG held {max_dag} nodes at most; lookahead 500 + one checkpoint interval expected"
    );
    assert_eq!(out.report.totals.checkpoints_written, 100);
}
