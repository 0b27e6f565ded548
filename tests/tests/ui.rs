//! Compile-time behaviour of `#[step]`, `#[pipeline]` and `#[derive(MemSize)]`: every supported
//! form compiles (and its `main` runs), every misuse fails with the message in its `.stderr`.
//! Refresh the expected output with `TRYBUILD=overwrite cargo test -p stepstone-tests --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
