//! Gives back the pages of code and read-only data that only start-up needed.
//!
//! The kernel maps pages of the executable and its libraries into the process as they are
//! touched (and their neighbours with them) and leaves them mapped, so they count as resident
//! memory for as long as the process lives. Start-up runs much code the server never runs
//! again: argument parsing, migrations, realm import, the bootstrap of `master`; once ready, the
//! process carried ~4 MiB of such pages (BENCHMARKS.md, "Memory, session 4").
//!
//! `madvise(MADV_DONTNEED)` on a private file mapping drops its page-table entries and nothing
//! else: the file's pages stay in the kernel's page cache, and the ones the server touches again
//! come straight back on first use (a minor fault, no disk read). Only mappings that were never
//! written are dropped: read-only, private, file-backed, and without a single copy-on-write
//! page (relocated data such as `.data.rel.ro` is excluded that way), so no byte of state can be
//! lost, only the count of resident pages changes.

use std::ops::Range;

/// Mappings in `/proc/self/smaps` text that may be dropped: private, read-only and file-backed,
/// with no private dirty or anonymous (copy-on-write) page.
pub fn clean_read_only_file_mappings(smaps: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    // The mapping being read, if it qualifies so far.
    let mut candidate: Option<Range<usize>> = None;
    for line in smaps.lines() {
        if let Some(mapping) = parse_mapping_header(line) {
            found.extend(candidate.take());
            candidate = mapping.droppable.then_some(mapping.range);
            continue;
        }
        let written = ["Private_Dirty:", "Anonymous:"]
            .iter()
            .any(|key| line.strip_prefix(key).is_some_and(|kib| !is_zero_kib(kib)));
        if written {
            candidate = None;
        }
    }
    found.extend(candidate);
    found
}

/// One mapping, from its header line in `/proc/self/smaps`.
struct Mapping {
    range: Range<usize>,
    /// Private, read-only and backed by a file (its pages may still have been written).
    droppable: bool,
}

/// The mapping a header line describes; `None` for any other line.
fn parse_mapping_header(line: &str) -> Option<Mapping> {
    let mut fields = line.split_ascii_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?.as_bytes();
    // offset, device, inode, then the path (absent for anonymous memory).
    let path = fields.nth(3).unwrap_or("");
    let read_only_private =
        perms.len() == 4 && perms[0] == b'r' && perms[1] == b'-' && perms[3] == b'p';
    Some(Mapping {
        droppable: read_only_private && path.starts_with('/') && start < end,
        range: start..end,
    })
}

fn is_zero_kib(value: &str) -> bool {
    value.trim().trim_end_matches("kB").trim() == "0"
}

/// Drops the resident pages of every clean read-only file mapping; returns the bytes of address
/// space advised. Call once the server is ready: what serving needs faults back in on use.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn release() -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut released = 0;
    for range in clean_read_only_file_mappings(&smaps) {
        let len = range.end - range.start;
        // SAFETY: the range is a whole private, read-only mapping of a file that this process
        // never wrote (no dirty or anonymous page, and nothing can write a read-only mapping),
        // so MADV_DONTNEED only unmaps pages that later accesses read again from the same
        // file. The range is page-aligned, as the kernel reports mappings.
        let advised =
            unsafe { libc::madvise(range.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if advised == 0 {
            released += len;
        }
    }
    released
}

/// Elsewhere: nothing to release.
#[cfg(not(target_os = "linux"))]
pub fn release() -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0328000 r--p 00000000 fe:00 10010634                   /usr/bin/portcullis
Size:               3232 kB
Rss:                1468 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
VmFlags: rd mr mw me sd
55d0c0329000-55d0c10cf000 r-xp 00328000 fe:00 10010634                   /usr/bin/portcullis
Rss:                4496 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
55d0c10cf000-55d0c112e000 r--p 010cd000 fe:00 10010634                   /usr/bin/portcullis
Rss:                 376 kB
Private_Dirty:       376 kB
Anonymous:           376 kB
55d0c112e000-55d0c1135000 rw-p 0112c000 fe:00 10010634                   /usr/bin/portcullis
Private_Dirty:        28 kB
Anonymous:            28 kB
55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0                          [heap]
Private_Dirty:       500 kB
7f00a0000000-7f00a0100000 r--p 00000000 00:00 0
Private_Dirty:         0 kB
Anonymous:             0 kB
7f00b0028000-7f00b01b0000 r-xp 00028000 fe:00 2007                       /usr/lib/x86_64-linux-gnu/libc.so.6
Private_Dirty:         0 kB
Anonymous:             0 kB
7f00b0200000-7f00b0204000 r--p 001d6000 fe:00 2007                       /usr/lib/x86_64-linux-gnu/libc.so.6
Private_Dirty:         4 kB
Anonymous:             4 kB
7f00b0300000-7f00b0301000 r--s 00000000 fe:00 3001                       /data/portcullis.db-shm
Private_Dirty:         0 kB
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Private_Dirty:         0 kB
";

    #[test]
    fn picks_only_clean_private_read_only_file_mappings() {
        let ranges = clean_read_only_file_mappings(SMAPS);
        assert_eq!(
            ranges,
            vec![
                // The executable's headers and read-only data, then its code.
                0x55d0_c000_0000..0x55d0_c032_8000,
                0x55d0_c032_9000..0x55d0_c10c_f000,
                // libc's code.
                0x7f00_b002_8000..0x7f00_b01b_0000,
            ]
        );
    }

    #[test]
    fn a_written_page_anywhere_in_a_mapping_excludes_it() {
        let smaps = "\
7f00b0028000-7f00b01b0000 r-xp 00028000 fe:00 2007 /lib/libc.so.6
Private_Dirty:         0 kB
Anonymous:             4 kB
";
        assert!(clean_read_only_file_mappings(smaps).is_empty());
    }

    #[test]
    fn garbage_is_no_mapping() {
        assert!(clean_read_only_file_mappings("").is_empty());
        assert!(clean_read_only_file_mappings("zz-yy r--p 0 0 0 /x\nnot a line\n").is_empty());
    }

    /// Resident pages mapped from files, in KiB, from `/proc/self/status`.
    #[cfg(target_os = "linux")]
    fn rss_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn releasing_drops_file_pages_and_leaves_the_process_working() {
        let before = rss_file_kib();
        assert!(
            release() > 0,
            "the test binary maps its own code from a file"
        );
        let after = rss_file_kib();
        assert!(
            after < before,
            "RssFile {before} KiB before, {after} KiB after"
        );
        // Code and read-only data come back on use.
        let numbers = std::hint::black_box(vec![1u8, 2, 3]);
        assert_eq!(format!("{numbers:?}"), "[1, 2, 3]");
    }
}
