//! The memory budget: a byte count parsed from human sizes (`384MiB`, `2 GiB`, `1.5GB`, `1000`).

use std::fmt;
use std::str::FromStr;

/// A memory budget in bytes (resident memory the run may use for datasets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Budget(pub u64);

impl Budget {
    /// The budget used when nothing sets one: 1 GiB.
    pub const DEFAULT: Budget = Budget(1 << 30);

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// A size string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a memory size ({reason}); write it like `384MiB`, `2 GiB`, `1.5GB` or a number of bytes"
)]
pub struct ParseBudgetError {
    /// What was given.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

impl FromStr for Budget {
    type Err = ParseBudgetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| ParseBudgetError {
            input: s.to_string(),
            reason,
        };
        let bytes = parse_size::parse_size(s.trim()).map_err(|e| err(e.to_string()))?;
        if bytes == 0 {
            return Err(err("a budget must be more than zero bytes".into()));
        }
        Ok(Budget(bytes))
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

/// `1536` → `1.5 KiB`; exact multiples print without decimals (`384 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    let mut value = bytes as f64;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl serde::Serialize for Budget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!("384MiB".parse(), Ok(Budget(384 << 20)));
        assert_eq!("2 GiB".parse(), Ok(Budget(2 << 30)));
        assert_eq!("1.5GB".parse(), Ok(Budget(1_500_000_000)));
        assert_eq!("4096".parse(), Ok(Budget(4096)));
        assert_eq!(" 64GiB ".parse(), Ok(Budget(64 << 30)));
    }

    #[test]
    fn refuses_nonsense_with_the_fix() {
        let e = "12 parsecs".parse::<Budget>().unwrap_err();
        assert!(e.to_string().contains("`12 parsecs`"), "{e}");
        assert!(e.to_string().contains("384MiB"), "{e}");
        assert!("0".parse::<Budget>().is_err());
        assert!("".parse::<Budget>().is_err());
    }

    #[test]
    fn displays_human_sizes() {
        assert_eq!(Budget(384 << 20).to_string(), "384 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
