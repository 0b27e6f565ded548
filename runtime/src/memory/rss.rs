//! What the operating system sees: resident set size, its peak, and handing freed memory back.
//!
//! Linux-specific readings come from `/proc/self`; elsewhere they are reported as unknown (0).

/// Current resident set size of this process in bytes (0 when unknown).
pub fn current_rss() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Some(statm) = read_statm()
            && let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u64>().ok())
        {
            return pages * page_size();
        }
    }
    0
}

/// `/proc/self/statm`, read through a descriptor each thread keeps open: the runtime samples
/// RSS at step boundaries (at most once a millisecond: even a `pread` at offset 0, which makes
/// the kernel regenerate the contents, costs microseconds), and opening the file each time
/// cost more than reading it.
#[cfg(target_os = "linux")]
fn read_statm() -> Option<String> {
    use std::os::unix::fs::FileExt;
    thread_local! {
        static STATM: Option<std::fs::File> = std::fs::File::open("/proc/self/statm").ok();
    }
    STATM.with(|file| {
        let mut buf = [0u8; 256];
        let n = file.as_ref()?.read_at(&mut buf, 0).ok()?;
        String::from_utf8(buf.get(..n)?.to_vec()).ok()
    })
}

/// Peak resident set size (`VmHWM`) in bytes since the process started or the last
/// [`reset_peak_rss`] (0 when unknown).
pub fn peak_rss() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            for line in status.lines() {
                if let Some(rest) = line.strip_prefix("VmHWM:") {
                    let kib = rest.trim().trim_end_matches("kB").trim();
                    if let Ok(k) = kib.parse::<u64>() {
                        return k * 1024;
                    }
                }
            }
        }
    }
    0
}

/// Reset the kernel's peak-RSS counter so [`peak_rss`] measures from now. Returns whether it
/// worked (it needs Linux ≥ 4.0 and a writable `/proc/self/clear_refs`).
pub fn reset_peak_rss() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", b"5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    #[allow(unsafe_code)]
    // SAFETY: sysconf has no preconditions; it returns -1 on error, handled below.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as u64 } else { 4096 }
}

/// Pin glibc malloc's `mmap` threshold at its default (128 KiB), which also turns off its
/// dynamic adjustment. Left dynamic, freeing one `mmap`ed block of up to 32 MiB raises the
/// threshold to that size, and from then on allocations below it come from the heap, where
/// freed memory stays resident until trimmed: a run that frees a 24 MB buffer and later decodes
/// 8 MB ones held tens of MB more RSS than it charged. The size model
/// ([`super::size::allocation_cost`]) and the trimming decisions assume the fixed threshold.
/// Process-wide; called when a run starts. Returns whether it was applied.
pub fn fix_mmap_threshold() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: mallopt only changes the allocator's parameters; it is thread-safe.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        ok == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Return memory that the allocator keeps after frees to the operating system, so RSS follows
/// what the runtime accounts (glibc keeps freed small chunks otherwise).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
