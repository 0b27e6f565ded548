//! Code generation from the parsed model: steps, pipelines, `MemSize` impls, and the code
//! fingerprint. Only called on input that parsed (errors in options are reported beside a
//! normal expansion; errors in signatures go to `fallback`).

pub(crate) mod fingerprint;
pub(crate) mod helpers;
pub(crate) mod mem_size;
pub(crate) mod paths;
pub(crate) mod pipeline;
pub(crate) mod repartition;
pub(crate) mod step;

#[cfg(test)]
mod tests {
    use crate::errors::Errors;

    fn expand(kind: &str, attr: &str, item: &str) -> String {
        let mut errors = Errors::default();
        let attr = attr.parse().unwrap();
        let out = match kind {
            "step" => {
                let options = crate::parse::options::step(attr, &mut errors);
                let step = crate::parse::step(syn::parse_str(item).unwrap(), &mut errors).unwrap();
                super::step::expand(&step, &options)
            }
            "pipeline" => {
                let options = crate::parse::options::pipeline(attr, &mut errors);
                let mut item = syn::parse_str(item).unwrap();
                let pipeline = crate::parse::pipeline(&mut item, &mut errors).unwrap();
                super::pipeline::expand(&pipeline, &options)
            }
            _ => {
                let input = syn::parse_str(item).unwrap();
                let parsed = crate::parse::mem_size::parse(input, &mut errors).unwrap();
                super::mem_size::expand(&parsed)
            }
        };
        assert_eq!(errors.len(), 0);
        out.to_string()
    }

    #[test]
    fn crate_override_replaces_every_runtime_path() {
        let step = expand(
            "step",
            "crate = \"::ss\"",
            "fn f(x: &Vec<u8>, k: u32) -> Vec<u8> { x.clone() }",
        );
        let pipeline = expand(
            "pipeline",
            "crate = \"ss\"",
            "fn p(p: &mut Pipeline, n: u32) -> Result<Handle<u8>> { todo!() }",
        );
        let derived = expand(
            "derive",
            "",
            "#[mem_size(crate = \"ss\")] struct S { a: String }",
        );
        for out in [&step, &pipeline, &derived] {
            assert!(!out.contains(":: stepstone"), "{out}");
            assert!(out.contains("ss :: __private ::"), "{out}");
        }
        let default = expand("step", "", "fn f(x: &Vec<u8>) -> Vec<u8> { x.clone() }");
        assert!(
            default.contains(":: stepstone :: __private :: Pipeline"),
            "{default}"
        );
    }

    #[test]
    fn companion_visibility_names_the_same_scope() {
        let vis = |v: &str| super::paths::one_level_down(&syn::parse_str(v).unwrap()).to_string();
        assert_eq!(vis(""), "pub (super)");
        assert_eq!(vis("pub"), "pub");
        assert_eq!(vis("pub(crate)"), "pub (crate)");
        assert_eq!(vis("pub(self)"), "pub (super)");
        assert_eq!(vis("pub(super)"), "pub (in super :: super)");
        assert_eq!(vis("pub(in crate::a)"), "pub (in crate :: a)");
    }
}
