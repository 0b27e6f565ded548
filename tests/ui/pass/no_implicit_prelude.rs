//! Generated code names everything by absolute path: it works without the prelude.
#![deny(warnings)]

mod strict {
    #![no_implicit_prelude]

    use ::std::vec::Vec;

    #[::stepstone::step]
    pub(crate) fn numbers(n: u64) -> Vec<u64> {
        ::std::iter::Iterator::collect(0..n)
    }

    #[::stepstone::step(checkpoint)]
    pub(crate) fn total(parts: &[&Vec<u64>], first: &Vec<u64>) -> ::std::result::Result<u64, ::std::string::String> {
        let all = ::std::iter::Iterator::flat_map(parts.iter(), |p| p.iter());
        ::std::result::Result::Ok(::std::iter::Iterator::sum::<u64>(all) + first.len() as u64)
    }

    #[::stepstone::pipeline(budget = "1 GiB")]
    pub(crate) fn sums(
        p: &mut ::stepstone::Pipeline,
        #[default(3)] n: u64,
    ) -> ::stepstone::Result<::stepstone::Handle<u64>> {
        let a = numbers(p, n);
        let b = numbers(p, n);
        ::std::result::Result::Ok(total(p, &[::std::clone::Clone::clone(&a), b], &a))
    }

    #[derive(::stepstone::MemSize)]
    pub(crate) struct Sized2 {
        pub(crate) values: Vec<u8>,
    }
}

fn main() {
    assert_eq!(strict::numbers::body(3), vec![0, 1, 2]);
    assert_eq!(strict::total::body(&[&vec![1, 2]], &vec![0]), Ok(4));
    let _ = strict::sums::main;
    let _ = strict::Sized2 { values: Vec::new() }.values;
}
