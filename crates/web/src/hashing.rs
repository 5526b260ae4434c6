//! A fixed pool of OS threads for password hashing, each owning argon2's working memory.
//!
//! `spawn_blocking` runs hashes on whichever blocking thread is free and allocates 7 MiB per
//! argon2id call; glibc keeps what each thread freed, so resident memory grew past 250 MiB under
//! first-time logins. Here every worker keeps one [`HashScratch`] while it is busy: memory is
//! bounded by threads x one scratch, and the thread count also bounds how much CPU hashing can
//! take from token signing. A worker that has had nothing to hash for [`KEEP_SCRATCH_IDLE`]
//! gives its scratch back, so a server that answers from cached credentials and refresh tokens
//! does not carry 7 MiB per core from its last burst of logins. (The scratch is sized so that
//! glibc maps it on its own and the release really returns it to the OS: see [`HashScratch`].)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use flume::{Receiver, RecvTimeoutError, Sender};

use portcullis_core::password::HashScratch;
use tokio::sync::oneshot;

use crate::WebError;

type Job = Box<dyn FnOnce(&mut HashScratch) + Send>;

/// How long a worker keeps its scratch with nothing to hash. Allocating it again costs about a
/// millisecond of page faults, against 15-20 ms for the hash itself.
pub(crate) const KEEP_SCRATCH_IDLE: Duration = Duration::from_secs(2);

/// Jobs queue in a channel; `threads` workers take them one at a time. Dropping the pool closes
/// the channel, and the workers exit once the queued jobs are done.
pub(crate) struct HashingPool {
    jobs: Sender<Job>,
    threads: usize,
}

impl HashingPool {
    /// Starts `threads` workers (at least one) named `argon2-<i>`. A worker the OS refuses to
    /// start is logged and left out; with none at all, [`HashingPool::run`] fails.
    pub(crate) fn new(threads: usize) -> Self {
        Self::with_idle(threads, KEEP_SCRATCH_IDLE)
    }

    /// As [`HashingPool::new`], with workers that release their scratch after `idle`.
    pub(crate) fn with_idle(threads: usize, idle: Duration) -> Self {
        // A multi-consumer channel: every worker waits on it with its own timeout (behind a
        // shared lock, a worker holding scratch could wait forever for the lock).
        let (jobs, queue) = flume::unbounded::<Job>();
        let started = (0..threads.max(1))
            .filter(|i| spawn_worker(*i, queue.clone(), idle))
            .count();
        Self {
            jobs,
            threads: started,
        }
    }

    /// Worker threads running.
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `job` on a worker with that worker's scratch memory and waits for its result
    /// without blocking the executor. A job that panics is reported as [`WebError::Pool`]; the
    /// worker survives it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut HashScratch) -> T + Send + 'static,
    ) -> Result<T, WebError> {
        if self.threads == 0 {
            return Err(WebError::Pool("no hashing threads could be started".into()));
        }
        let (reply, result) = oneshot::channel();
        let boxed: Job = Box::new(move |scratch: &mut HashScratch| {
            // The caller may have given up waiting (request cancelled): nothing to tell then.
            let _ = reply.send(job(scratch));
        });
        self.jobs
            .send(boxed)
            .map_err(|_| WebError::Pool("the hashing threads are gone".into()))?;
        result
            .await
            .map_err(|_| WebError::Pool("a hashing job panicked".into()))
    }
}

/// Starts worker `index`; false (and logged) when the OS refuses a thread.
fn spawn_worker(index: usize, queue: Receiver<Job>, idle: Duration) -> bool {
    let spawned = std::thread::Builder::new()
        .name(format!("argon2-{index}"))
        .spawn(move || work(&queue, idle));
    if let Err(e) = &spawned {
        tracing::error!(error = %e, "cannot start a password hashing thread");
    }
    spawned.is_ok()
}

/// Takes jobs until the pool is dropped. A worker holding scratch memory waits at most `idle`
/// for the next job before releasing it; one without waits as long as it takes.
fn work(queue: &Receiver<Job>, idle: Duration) {
    let mut scratch = HashScratch::default();
    loop {
        let next = if scratch.bytes() == 0 {
            queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            queue.recv_timeout(idle)
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                scratch.release();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // A panic drops the job's reply sender, which the waiting caller sees as an error.
        if catch_unwind(AssertUnwindSafe(|| job(&mut scratch))).is_err() {
            tracing::error!("a password hashing job panicked");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use portcullis_core::password::{PasswordPolicy, StoredPassword};

    use super::*;

    fn small_policy() -> PasswordPolicy {
        PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            ..PasswordPolicy::default()
        }
    }

    #[tokio::test]
    async fn runs_jobs_on_named_threads_and_returns_results() {
        let pool = HashingPool::new(2);
        assert_eq!(pool.threads(), 2);
        for i in 0..6 {
            let (value, name) = pool
                .run(move |_| (i * 2, std::thread::current().name().map(str::to_owned)))
                .await
                .unwrap();
            assert_eq!(value, i * 2);
            let name = name.unwrap();
            assert!(["argon2-0", "argon2-1"].contains(&name.as_str()), "{name}");
        }
    }

    #[tokio::test]
    async fn a_worker_keeps_its_scratch_between_jobs() {
        let pool = HashingPool::new(1);
        let stored = pool
            .run(|scratch| StoredPassword::hash_with(&small_policy(), "pw", scratch))
            .await
            .unwrap()
            .unwrap();
        let rows = [("pw", true), ("px", false), ("", false)];
        for (password, expected) in rows {
            let stored = stored.clone();
            let (ok, bytes) = pool
                .run(move |scratch| (stored.verify_with(password, scratch), scratch.bytes()))
                .await
                .unwrap();
            assert_eq!(ok, expected, "{password:?}");
            assert_eq!(bytes, 64 * 1024, "memory of the first job reused");
        }
    }

    #[tokio::test]
    async fn an_idle_worker_releases_its_scratch() {
        let pool = HashingPool::with_idle(1, Duration::from_millis(20));
        let policy = small_policy();
        let held = pool
            .run(move |scratch| {
                StoredPassword::hash_with(&policy, "pw", scratch).unwrap();
                scratch.bytes()
            })
            .await
            .unwrap();
        assert_eq!(held, 64 * 1024);
        // Long past the idle time: the worker has given its memory back, and still works.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after_idle = pool.run(|scratch| scratch.bytes()).await.unwrap();
        assert_eq!(after_idle, 0);
        let policy = small_policy();
        let again = pool
            .run(move |scratch| StoredPassword::hash_with(&policy, "pw", scratch).is_ok())
            .await
            .unwrap();
        assert!(again);
    }

    /// Runs one job on each of two workers at once (they wait for each other), returning what
    /// each job saw of its worker's scratch before and after hashing.
    async fn on_both_workers(pool: &HashingPool) -> Vec<(usize, usize)> {
        let barrier = Arc::new(Barrier::new(2));
        let jobs = [barrier.clone(), barrier].map(|b| {
            pool.run(move |scratch| {
                b.wait();
                let before = scratch.bytes();
                StoredPassword::hash_with(&small_policy(), "pw", scratch).unwrap();
                (before, scratch.bytes())
            })
        });
        let [a, b] = jobs;
        let (a, b) = tokio::join!(a, b);
        vec![a.unwrap(), b.unwrap()]
    }

    #[tokio::test]
    async fn every_idle_worker_releases_its_scratch() {
        let pool = HashingPool::with_idle(2, Duration::from_millis(20));
        assert_eq!(on_both_workers(&pool).await, [(0, 65536), (0, 65536)]);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(on_both_workers(&pool).await, [(0, 65536), (0, 65536)]);
    }

    #[tokio::test]
    async fn workers_run_in_parallel() {
        // Both jobs wait for each other: one thread alone would never finish them.
        let pool = HashingPool::new(2);
        let barrier = Arc::new(Barrier::new(2));
        let jobs = [barrier.clone(), barrier].map(|b| {
            pool.run(move |_| {
                b.wait();
            })
        });
        let both = async {
            let [a, b] = jobs;
            let (a, b) = tokio::join!(a, b);
            a.and(b)
        };
        tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("jobs ran one after the other")
            .unwrap();
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_worker_survives() {
        let pool = HashingPool::new(1);
        let failed = pool.run(|_| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(WebError::Pool(_))));
        assert_eq!(pool.run(|_| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn zero_threads_means_one() {
        let pool = HashingPool::new(0);
        assert_eq!(pool.threads(), 1);
        assert_eq!(pool.run(|_| "ok").await.unwrap(), "ok");
    }
}
