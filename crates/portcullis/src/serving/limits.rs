//! The open-file limit, and the connection cap derived from it.
//!
//! Every connection is a descriptor. If clients could take them all, `accept` would fail with
//! "Too many open files" and so would opening the database or a realm file. The cap leaves a
//! reserve below the limit for everything else, and the serving loop never holds more client
//! connections than the cap (see `conns.rs` for what happens at it).

/// Descriptors kept for everything but client connections: the database pool (PostgreSQL:
/// sqlx's 10 connections; SQLite: 4 connections with the database, -wal and -shm files each),
/// the listener, the runtime's epoll and event descriptors, standard streams, a realm file or
/// TLS certificate being read, and connections being evicted.
const RESERVE: u64 = 64;

/// Open connections by default: more would rarely be clients and mostly be someone holding
/// sockets; each costs up to the 64 KiB header buffer.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The open-file limits at start-up.
#[derive(Debug, Clone, Copy)]
pub struct FdLimits {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard limit (a process may, without privileges).
#[cfg(unix)]
pub fn raise_open_file_limit() -> std::io::Result<FdLimits> {
    let (soft_before, hard) = rlimit::Resource::NOFILE.get()?;
    let soft = if soft_before < hard {
        rlimit::increase_nofile_limit(hard)?
    } else {
        soft_before
    };
    Ok(FdLimits {
        soft_before,
        soft,
        hard,
    })
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> std::io::Result<FdLimits> {
    Err(std::io::Error::other("no open-file limit on this platform"))
}

/// Connections that fit under an open-file limit of `soft`, after the reserve (half the limit
/// when the limit is very low).
pub fn fitting_connections(soft: u64) -> usize {
    let reserve = if soft >= 2 * RESERVE {
        RESERVE
    } else {
        soft / 2
    };
    usize::try_from(soft - reserve).unwrap_or(usize::MAX).max(1)
}

/// The cap: the configured or default number, lowered to what fits under the limit. The second
/// value says whether a configured number was lowered.
pub fn connection_cap(configured: Option<usize>, soft: Option<u64>) -> (usize, bool) {
    let wanted = configured.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    match soft {
        Some(soft) if fitting_connections(soft) < wanted => {
            (fitting_connections(soft), configured.is_some())
        }
        _ => (wanted, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_a_reserve_under_the_limit() {
        for (configured, soft, want) in [
            (None, Some(256), (192, false)),
            (None, Some(1024), (960, false)),
            (None, Some(1_048_576), (DEFAULT_MAX_CONNECTIONS, false)),
            (Some(100), Some(256), (100, false)),
            (Some(10_000), Some(1024), (960, true)),
            (Some(10_000), None, (10_000, false)),
            (None, Some(64), (32, false)),
            (None, Some(1), (1, false)),
        ] {
            assert_eq!(
                connection_cap(configured, soft),
                want,
                "{configured:?} {soft:?}"
            );
        }
    }
}
