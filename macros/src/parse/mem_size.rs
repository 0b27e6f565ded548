//! Parsing of `#[derive(MemSize)]` input: the `#[mem_size(crate = "…")]` container attribute
//! and `#[mem_size(skip)]` on fields. Unions are refused (the active field is unknown).

use syn::{Attribute, Data, DeriveInput, Fields, Path};

use crate::errors::Errors;

/// Options and the shape of the type whose size is derived.
pub(crate) struct MemSizeInput {
    /// The type as written.
    pub(crate) input: DeriveInput,
    /// `crate = "…"`.
    pub(crate) krate: Option<Path>,
    /// `skip` flags per variant (one entry for a struct), per field.
    pub(crate) skips: Vec<Vec<bool>>,
}

/// Parse a derive input; `None` for unions (error recorded).
pub(crate) fn parse(input: DeriveInput, errors: &mut Errors) -> Option<MemSizeInput> {
    let krate = container_attrs(&input.attrs, errors);
    let skips = match &input.data {
        Data::Struct(s) => vec![field_skips(&s.fields, errors)],
        Data::Enum(e) => e
            .variants
            .iter()
            .map(|v| field_skips(&v.fields, errors))
            .collect(),
        Data::Union(u) => {
            errors.spanned(
                u.union_token,
                "MemSize cannot be derived for a union: the active field is unknown; implement \
                 `MemSize::add_heap` by hand",
            );
            return None;
        }
    };
    Some(MemSizeInput {
        input,
        krate,
        skips,
    })
}

fn container_attrs(attrs: &[Attribute], errors: &mut Errors) -> Option<Path> {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("mem_size")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = Some(lit.parse::<Path>()?);
                Ok(())
            } else {
                Err(meta.error("unknown #[mem_size] container option; expected `crate = \"…\"`"))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    krate
}

fn field_skips(fields: &Fields, errors: &mut Errors) -> Vec<bool> {
    fields
        .iter()
        .map(|field| {
            let mut skip = false;
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("mem_size")) {
                let result = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("skip") {
                        skip = true;
                        Ok(())
                    } else {
                        Err(meta.error("unknown #[mem_size] field option; expected `skip`"))
                    }
                });
                if let Err(e) = result {
                    errors.push(e);
                }
            }
            skip
        })
        .collect()
}
