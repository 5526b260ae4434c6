//! Progress of a long import or export: a line redrawn in place on a terminal (users done,
//! rate, time left), plain log lines otherwise (every 10% and at least every 10 seconds), so
//! a 100,000-user import is never silent.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Below this many users an import or export is over before progress would say anything useful.
const QUIET_BELOW: u64 = 1000;
/// A terminal line is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);
/// A log line at least this often when standard error is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    verb: &'static str,
    realm: String,
    total: u64,
    started: Instant,
    terminal: bool,
    quiet: bool,
    state: Mutex<State>,
}

struct State {
    last_shown: Instant,
    /// Tenths of the total already logged.
    tenths: u64,
    drawn: bool,
}

impl Progress {
    /// `verb` is what is being done to the users (`importing`, `exporting`).
    pub fn new(verb: &'static str, realm: &str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            verb,
            realm: realm.to_string(),
            total,
            started: now,
            terminal: std::io::stderr().is_terminal(),
            quiet: total < QUIET_BELOW,
            state: Mutex::new(State {
                last_shown: now,
                tenths: 0,
                drawn: false,
            }),
        }
    }

    /// `done` users so far.
    pub fn update(&self, done: u64) {
        if self.quiet {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        if self.terminal {
            if now.duration_since(state.last_shown) >= REDRAW || done >= self.total {
                state.last_shown = now;
                state.drawn = true;
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{}", self.line(done));
                let _ = err.flush();
            }
            return;
        }
        let tenths = (done.saturating_mul(10) / self.total.max(1)).min(10);
        if tenths > state.tenths || now.duration_since(state.last_shown) >= LOG_EVERY {
            state.tenths = state.tenths.max(tenths);
            state.last_shown = now;
            let elapsed = self.started.elapsed().as_secs_f64();
            tracing::info!(
                realm = %self.realm,
                users = done,
                total = self.total,
                per_sec = rate(done, elapsed) as u64,
                eta_secs = eta(done, self.total, elapsed).map(|d| d.as_secs()),
                "{} users: {done}/{}",
                self.verb,
                self.total
            );
        }
    }

    /// Ends the terminal line, if one was drawn.
    pub fn finish(&self, done: u64) {
        if self.quiet || !self.terminal {
            return;
        }
        if let Ok(state) = self.state.lock()
            && state.drawn
        {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "\r\x1b[2K{}", self.line(done));
        }
    }

    fn line(&self, done: u64) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = match eta(done, self.total, elapsed) {
            Some(left) => format!("{}s left", left.as_secs()),
            None => "time left unknown".to_string(),
        };
        format!(
            "{} realm {}: {done}/{} users ({}%), {:.0} users/s, {eta}",
            self.verb,
            self.realm,
            self.total,
            done.saturating_mul(100) / self.total.max(1),
            rate(done, elapsed)
        )
    }
}

fn rate(done: u64, elapsed_secs: f64) -> f64 {
    if elapsed_secs > 0.0 {
        done as f64 / elapsed_secs
    } else {
        0.0
    }
}

/// Time left at the rate so far; unknown before the first user.
fn eta(done: u64, total: u64, elapsed_secs: f64) -> Option<Duration> {
    if done == 0 || elapsed_secs <= 0.0 {
        return None;
    }
    let left = total.saturating_sub(done) as f64 / rate(done, elapsed_secs);
    Some(Duration::from_secs_f64(left.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_so_far() {
        assert_eq!(eta(0, 100, 1.0), None);
        assert_eq!(eta(25, 100, 5.0), Some(Duration::from_secs(15)));
        assert_eq!(eta(100, 100, 5.0), Some(Duration::from_secs(0)));
        assert_eq!(rate(500, 2.0), 250.0);
    }
}
