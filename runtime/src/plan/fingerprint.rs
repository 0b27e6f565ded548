//! Node fingerprints: what makes a stored value reusable by a later run.
//!
//! A fingerprint is the xxh3-128 hash of everything that determines a node's output: the step's
//! code hash (supplied by `#[step]`, or by hand), its name and module path, an optional
//! `version` override, the serialized parameters, the output type name, the storage format
//! version and the parents' fingerprints, in that order, each length-prefixed so that no two
//! different inputs hash the same bytes. Functions *called* by a step are not part of its code
//! hash; `version = "…"` is the override for that case.

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
        Fingerprint(h.digest128())
    }
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
        assert_eq!(b, base().fingerprint());
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
