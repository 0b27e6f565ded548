//! `InputFile` / `InputGlob` parameters of steps and pipelines (with `#[default]` and their
//! `--flag`), and `#[step(volatile)]`, expand and compile, also without the prelude; a bare string
//! `#[default("…")]` converts into the parameter's type.
#![deny(warnings)]

mod strict {
    #![no_implicit_prelude]

    use ::std::vec::Vec;

    #[::stepstone::step(checkpoint)]
    pub(crate) fn read(input: ::stepstone::InputFile, n: u64) -> ::std::result::Result<u64, ::std::io::Error> {
        ::std::result::Result::Ok(::std::fs::read(&*input)?.len() as u64 + n)
    }

    #[::stepstone::step]
    pub(crate) fn read_all(files: ::stepstone::InputGlob) -> Vec<u64> {
        ::std::iter::Iterator::collect(::std::iter::Iterator::map(files.iter(), |f| {
            ::std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)
        }))
    }

    #[::stepstone::step(volatile, checkpoint)]
    pub(crate) fn now(label: ::std::string::String) -> u64 {
        label.len() as u64
    }

    #[::stepstone::step]
    pub(crate) fn add(a: &u64, b: &Vec<u64>, c: &u64) -> u64 {
        a + ::std::iter::Iterator::sum::<u64>(b.iter()) + c
    }

    #[::stepstone::pipeline]
    pub(crate) fn inputs(
        p: &mut ::stepstone::Pipeline,
        #[default(::stepstone::InputFile::new("Cargo.toml"))] input: ::stepstone::InputFile,
        #[default(::stepstone::InputGlob::new("*.toml"))] files: ::stepstone::InputGlob,
    ) -> ::stepstone::Result<::stepstone::Handle<u64>> {
        let a = read(p, input, 1);
        let b = read_all(p, files);
        let c = now(p, ::std::string::String::new());
        ::std::result::Result::Ok(add(p, &a, &b, &c))
    }
}

/// Bare string defaults convert into the parameter's type (`#[default("data/in.csv")]`).
mod bare_defaults {
    use stepstone::prelude::*;

    #[step]
    fn size(input: InputFile, label: String) -> u64 {
        std::fs::metadata(&*input).map(|m| m.len()).unwrap_or(0) + label.len() as u64
    }

    #[pipeline]
    pub(crate) fn bare(
        p: &mut Pipeline,
        #[default("data/in.csv")] input: InputFile,
        #[default("x")] label: String,
    ) -> Result<Handle<u64>> {
        Ok(size(p, input, label))
    }
}

fn main() {
    let _ = strict::inputs::main;
    let _ = bare_defaults::bare::main;
}
