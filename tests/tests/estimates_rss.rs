//! Memory a size sample missed is found through the process's RSS and charged before the run
//! goes on. Its own test binary: the RSS figures must be this test's alone.

use stepstone_tests::config;

const ROWS: u64 = 100_000;

#[test]
fn memory_a_sample_missed_is_charged_once_rss_shows_it() {
    const MIB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    // `hidden`: 100,000 one-byte strings and, at index 1 (between sample points), a 64 MiB one.
    // Its estimate is ~6 MB, but RSS grows by 70 MB: more than the charges plus the slack
    // (32 MiB of a 512 MiB budget), so `hidden` must be walked exactly. `big` then needs room.
    let out = stepstone::run(
        &config(dir.path(), "512MiB").checkpoint_every(Some(0)),
        |p| {
            let hidden = p.step("hidden").code("1").run(|_| {
                let mut v: Vec<String> = (0..ROWS).map(|_| String::from("a")).collect();
                v[1] = "x".repeat(64 * MIB);
                Ok(v)
            });
            let big = p.step("big").code("1").run(|_| Ok(vec![1u8; 240 * MIB]));
            Ok(p.step("sizes")
                .code("1")
                .input(&hidden)
                .input(&big)
                .run(|a| {
                    let hidden = a
                        .get::<Vec<String>>(0)?
                        .iter()
                        .map(String::len)
                        .sum::<usize>();
                    Ok(hidden + a.get::<Vec<u8>>(1)?.len())
                }))
        },
    )
    .unwrap();
    assert_eq!(out.value, 64 * MIB + ROWS as usize - 1 + 240 * MIB);
    let hidden = &out.report.steps[0];
    assert_eq!(hidden.name, "hidden");
    assert!(
        hidden.output_resident_bytes >= 64 * MIB as u64,
        "charged {} for a value holding a 64 MiB string",
        hidden.output_resident_bytes
    );
    assert!(out.report.tracked_peak_bytes >= 304 * MIB as u64);
    assert!(out.report.tracked_peak_bytes <= out.report.budget_bytes);
}
