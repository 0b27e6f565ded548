//! Steps and pipelines inside (nested) modules, with every visibility, under strict lints.
#![deny(warnings, unused, rust_2018_idioms, unreachable_pub, missing_debug_implementations)]

mod etl {
    pub(crate) mod load {
        use stepstone::prelude::*;

        /// Private to `load`, used by its sibling below.
        #[step]
        fn read(rows: u64) -> Vec<u64> {
            (0..rows).collect()
        }

        /// Visible in `etl` only.
        #[step(checkpoint)]
        pub(super) fn clean(values: &Vec<u64>) -> Vec<u64> {
            values.iter().copied().filter(|v| v % 2 == 0).collect()
        }

        /// Visible in the crate, through a path.
        #[step]
        pub(in crate::etl) fn count(values: &Vec<u64>) -> u64 {
            values.len() as u64
        }

        pub(crate) fn read_clean(p: &mut Pipeline, rows: u64) -> Handle<Vec<u64>> {
            let raw = read(p, rows);
            clean(p, &raw)
        }

        pub(crate) fn read_body(rows: u64) -> Vec<u64> {
            read::body(rows)
        }
    }

    use stepstone::prelude::*;

    /// A pipeline in a module, public to the crate.
    #[pipeline(checkpoint_every = 2)]
    pub(crate) fn evens(p: &mut Pipeline, #[default(10)] rows: u64) -> Result<Handle<u64>> {
        let cleaned = load::read_clean(p, rows);
        Ok(load::count(p, &cleaned))
    }

    pub(crate) fn check_bodies() {
        let values = load::read_body(5);
        assert_eq!(load::clean::body(&values), vec![0, 2, 4]);
        assert_eq!(load::count::body(&values), 5);
    }
}

fn main() {
    etl::check_bodies();
    assert_eq!(etl::evens::defaults().checkpoint_every, Some(2));
    let _ = etl::evens::run;
    let _ = etl::evens::main;
}
