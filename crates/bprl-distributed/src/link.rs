//! A Redis connection that survives the server going away: every command runs through
//! [`Link::call`], which reconnects with exponential backoff (a server restarting from its AOF
//! answers `LOADING` for a while: also retried) until the reconnect budget is spent.
//!
//! Retrying a command is safe only when the command is idempotent: every command of this crate
//! is, or is made so (an actor's `XADD` goes through a script that refuses a sequence number it
//! already recorded; `XACK`, `HSET`, `XGROUP SETID` and `XTRIM MINID` can be repeated).

use crate::error::{DistError, Result};
use redis::{Client, Connection, RedisError};
use std::time::{Duration, Instant};

/// How a [`Link`] retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait after a failure.
    pub initial: Duration,
    /// The longest wait between attempts (each wait doubles up to this).
    pub max: Duration,
    /// How long a command may keep failing before the error is returned.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    /// 20 ms doubling to 1 s, for at most 60 s.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(20),
            max: Duration::from_secs(1),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// One connection to one Redis server, reopened as needed.
pub struct Link {
    url: String,
    client: Client,
    con: Option<Connection>,
    backoff: Backoff,
    reconnects: u64,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.url)
            .field("connected", &self.con.is_some())
            .field("reconnects", &self.reconnects)
            .finish()
    }
}

/// Whether an error means "the server is (for now) not there": worth reconnecting and retrying.
pub fn is_transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
}

impl Link {
    /// A link to `url` (`redis://127.0.0.1:PORT/`); connects lazily, on the first command.
    ///
    /// # Errors
    /// [`DistError::Redis`] for a URL the client cannot parse.
    pub fn open(url: &str, backoff: Backoff) -> Result<Self> {
        let client = Client::open(url).map_err(|e| DistError::Redis {
            url: url.into(),
            op: "open".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            url: url.into(),
            client,
            con: None,
            backoff,
            reconnects: 0,
        })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many times the link has had to reconnect after a failure.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Runs `f` on the connection; on a transient failure drops the connection, waits (doubling
    /// from `backoff.initial` to `backoff.max`) and tries again, for at most
    /// `backoff.give_up_after`. `op` names the command in errors.
    ///
    /// # Errors
    /// [`DistError::Redis`]: a non-transient error at once, a transient one after the budget.
    pub fn call<T>(
        &mut self,
        op: &str,
        mut f: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let start = Instant::now();
        let mut wait = self.backoff.initial;
        loop {
            let attempt = match self.con.as_mut() {
                Some(c) => f(c),
                None => match self
                    .client
                    .get_connection_with_timeout(Duration::from_secs(5))
                {
                    Ok(mut c) => {
                        let r = f(&mut c);
                        self.con = Some(c);
                        r
                    }
                    Err(e) => Err(e),
                },
            };
            match attempt {
                Ok(v) => return Ok(v),
                Err(e) if is_transient(&e) && start.elapsed() < self.backoff.give_up_after => {
                    if self.con.take().is_some() {
                        self.reconnects += 1;
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(self.backoff.max);
                }
                Err(e) => {
                    self.con = None;
                    return Err(DistError::Redis {
                        url: self.url.clone(),
                        op: op.into(),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
}
