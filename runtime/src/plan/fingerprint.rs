//! Node fingerprints: what makes a stored value reusable by a later run.
//!
//! A fingerprint is the xxh3-128 hash of everything that determines a node's output: the step's
//! code hash (supplied by `#[step]`, or by hand), its name and module path, an optional
//! `version` override, the serialized parameters, the output type name, the storage format
//! version and the parents' fingerprints, in that order, each length-prefixed so that no two
//! different inputs hash the same bytes. The code hash covers the step's body and, when the
//! crate runs the `stepstone-build` pass, the same-crate helpers it uses (see `docs/design.md`);
//! `version = "…"` is the override. A step with `InputFile` / `InputGlob` parameters adds the
//! content hash of those files.
//!
//! A *content-addressed* node (volatile, or reading input files) is known to its children by
//! [`content_identity`]: a hash of its name, module, output type and the content hash of its
//! output, resolved when it has run. Its children's fingerprints therefore change exactly when
//! its output changes (early cutoff), never merely because it ran again.

use std::fmt;
use std::str::FromStr;

use xxhash_rust::xxh3::Xxh3;

/// Version of the on-disk object format; part of every fingerprint, so a format change never
/// reuses an old object.
pub const FORMAT_VERSION: u16 = 1;

/// A node's identity across runs (xxh3-128), shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u128);

impl Fingerprint {
    /// The 32-digit lowercase hex form used in file names and reports.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parse the 32-digit hex form ([`Fingerprint::to_hex`]).
    pub fn from_hex(text: &str) -> Option<Fingerprint> {
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(text, 16).ok().map(Fingerprint)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:032x})", self.0)
    }
}

/// A fingerprint string that is not 1–32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a fingerprint: expected up to 32 hexadecimal digits")]
pub struct ParseFingerprintError(pub String);

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 32 {
            return Err(ParseFingerprintError(s.to_string()));
        }
        u128::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|_| ParseFingerprintError(s.to_string()))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The inputs of a fingerprint, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct FingerprintInputs<'a> {
    /// Hash of the step's code tokens (or any stable string for hand-written steps).
    pub code: &'a str,
    /// Step name.
    pub name: &'a str,
    /// Module path of the step.
    pub module: &'a str,
    /// `version = "…"` override, if any.
    pub version: Option<&'a str>,
    /// Serialized parameters (postcard).
    pub params: &'a [u8],
    /// `std::any::type_name` of the output type.
    pub output_type: &'a str,
    /// Parents' fingerprints, in argument order.
    pub parents: &'a [Fingerprint],
    /// Content hash of the files named by the step's `InputFile` / `InputGlob` parameters.
    pub inputs: Option<u128>,
}

impl FingerprintInputs<'_> {
    /// Hash the inputs.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut h = Xxh3::new();
        let mut field = |tag: u8, bytes: &[u8]| {
            h.update(&[tag]);
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        // With a version override the code hash is left out: the user took control.
        match self.version {
            Some(v) => field(b'v', v.as_bytes()),
            None => field(b'c', self.code.as_bytes()),
        }
        field(b'n', self.name.as_bytes());
        field(b'm', self.module.as_bytes());
        field(b'p', self.params);
        field(b't', self.output_type.as_bytes());
        field(b'f', &FORMAT_VERSION.to_le_bytes());
        for parent in self.parents {
            field(b'P', &parent.0.to_le_bytes());
        }
        if let Some(inputs) = self.inputs {
            field(b'i', &inputs.to_le_bytes());
        }
        Fingerprint(h.digest128())
    }
}

/// The identity of a content-addressed node whose output (encoded as stored) hashes to
/// `output`: what its stored object is keyed by and what its children's fingerprints use.
pub fn content_identity(name: &str, module: &str, output_type: &str, output: u128) -> Fingerprint {
    let mut h = Xxh3::new();
    for (tag, bytes) in [
        (b'N', name.as_bytes()),
        (b'M', module.as_bytes()),
        (b'T', output_type.as_bytes()),
        (b'F', &FORMAT_VERSION.to_le_bytes()[..]),
        (b'O', &output.to_le_bytes()[..]),
    ] {
        h.update(&[tag]);
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    Fingerprint(h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> FingerprintInputs<'static> {
        FingerprintInputs {
            code: "abc",
            name: "adjust",
            module: "seed",
            version: None,
            params: &[1, 2],
            output_type: "Vec<Row>",
            parents: &[],
            inputs: None,
        }
    }

    #[test]
    fn every_input_changes_the_fingerprint() {
        let b = base().fingerprint();
        assert_ne!(
            b,
            FingerprintInputs {
                code: "abd",
                ..base()
            }
            .fingerprint()
        );
        assert_ne!(
            b,
            FingerprintInputs {
                name: "x",
                ..base()
            }
            .fingerprint()
        );
        assert_ne!(
            b,
            FingerprintInputs {
                module: "x",
                ..base()
            }
            .fingerprint()
        );
        assert_ne!(
            b,
            FingerprintInputs {
                params: &[1, 3],
                ..base()
            }
            .fingerprint()
        );
        assert_ne!(
            b,
            FingerprintInputs {
                output_type: "u8",
                ..base()
            }
            .fingerprint()
        );
        let p = [Fingerprint(7)];
        assert_ne!(
            b,
            FingerprintInputs {
                parents: &p,
                ..base()
            }
            .fingerprint()
        );
        assert_ne!(
            b,
            FingerprintInputs {
                inputs: Some(1),
                ..base()
            }
            .fingerprint()
        );
        assert_eq!(b, base().fingerprint());
    }

    #[test]
    fn content_identity_depends_on_the_output_only_besides_the_step() {
        let a = content_identity("read", "m", "u64", 7);
        assert_eq!(a, content_identity("read", "m", "u64", 7));
        assert_ne!(a, content_identity("read", "m", "u64", 8));
        assert_ne!(a, content_identity("other", "m", "u64", 7));
    }

    #[test]
    fn version_override_replaces_the_code_hash() {
        let v1 = FingerprintInputs {
            version: Some("1"),
            ..base()
        }
        .fingerprint();
        let v1_other_code = FingerprintInputs {
            version: Some("1"),
            code: "zzz",
            ..base()
        }
        .fingerprint();
        assert_eq!(v1, v1_other_code);
        assert_ne!(
            v1,
            FingerprintInputs {
                version: Some("2"),
                ..base()
            }
            .fingerprint()
        );
    }

    #[test]
    fn hex_round_trip() {
        let f = Fingerprint(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(f.to_hex().parse::<Fingerprint>(), Ok(f));
        assert!("xyz".parse::<Fingerprint>().is_err());
    }
}
