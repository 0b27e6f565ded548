//! Rebuild when `templates/` changes (the archetypes are compiled into the binary with
//! `include_dir!`, which cargo does not track by itself), and refuse to embed a symlink: an
//! archetype must never carry one, and `include_dir!` would silently copy its target.

use std::path::Path;

fn check(dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if kind.is_symlink() {
            return Err(format!(
                "{} is a symlink; archetypes may not contain symlinks",
                entry.path().display()
            ));
        }
        if kind.is_dir() {
            check(&entry.path())?;
        }
    }
    Ok(())
}

fn main() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    println!("cargo:rerun-if-changed={}", templates.display());
    if let Err(message) = check(&templates) {
        println!("cargo:warning={message}");
        std::process::exit(1);
    }
}
