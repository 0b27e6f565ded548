//! Memory-mapping an object file as an Arrow [`Buffer`]; the one `unsafe` call of the Arrow
//! support.
//!
//! Responsible for: mapping a whole file read-only and wrapping the map in a `Buffer` that
//! owns it (zero copy: arrays decoded from it point into the map and keep it alive).
//!
//! **The SIGBUS hazard.** A read of a mapped page whose file was truncated beneath it raises
//! SIGBUS (the process dies, no error can be returned). Stepstone never truncates or rewrites an
//! object in place: objects are written to `tmp/` and renamed into place (a rename replaces
//! the directory entry; the mapped inode is untouched), removed by unlinking (the inode lives
//! until the last map is gone), and a download from S3 is a fresh file of its own that is
//! unlinked once mapped. Only a process outside Stepstone truncating a file in `objects/` while
//! a run maps it can trigger it; that is the contract of the checkpoint directory (like a
//! database's files), documented in docs/design.md ("Arrow values").
//!
//! **Budget.** Mapped pages are file-backed and clean: the kernel may drop them under pressure
//! and read them again, and they count in RSS only once touched. The runtime charges a mapped
//! batch the bytes of its buffers like heap memory (the conservative choice: a step reads them,
//! so they become resident), so tracked memory never undercounts what RSS will show.

use std::fs::File;
use std::io;

use arrow_buffer::Buffer;

/// Map `file` (whole, read-only) as a `Buffer` that owns the map.
pub(crate) fn map_file(file: &File) -> io::Result<Buffer> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Buffer::from_vec(Vec::<u8>::new()));
    }
    let map = map_readonly(file)?;
    Ok(Buffer::from(bytes::Bytes::from_owner(map)))
}

/// The unsafe part, as small as it gets.
#[allow(unsafe_code)]
fn map_readonly(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the mapped bytes can change or vanish if the file
    // is modified or truncated while mapped. Stepstone's objects are immutable once published
    // (written to tmp/ then renamed; removed by unlink, never truncated or rewritten in place;
    // S3 downloads are private files unlinked after mapping), so within Stepstone the bytes
    // stay as verified for the life of the map. The map is read-only; no `&mut` aliases it.
    unsafe { memmap2::MmapOptions::new().map(file) }
}
