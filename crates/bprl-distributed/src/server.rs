//! A local `redis-server` for one machine: loopback only, a free port, its own data folder,
//! append-only file on with `appendfsync always` (an acknowledged write survives a kill of the
//! server), no RDB snapshots. Stopped (killed and reaped) when dropped, so a test or a
//! launcher leaves no process behind.

use crate::error::{DistError, Result};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running local server.
#[derive(Debug)]
pub struct RedisServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// Whether `redis-server` can be run on this machine.
pub fn available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server with its data in `dir` (created if needed) on a free loopback port and
    /// waits until it answers `PING`.
    ///
    /// # Errors
    /// [`DistError::Server`]: no `redis-server`, or it did not come up within 10 s.
    pub fn start(dir: &Path) -> Result<Self> {
        let port = free_port().map_err(|e| DistError::Server {
            dir: dir.to_path_buf(),
            reason: format!("no free port: {e}"),
        })?;
        Self::start_on(dir, port)
    }

    /// Starts a server on `port` (e.g. again after [`RedisServer::kill`], on the same folder:
    /// it reloads its append-only file).
    ///
    /// # Errors
    /// [`DistError::Server`].
    pub fn start_on(dir: &Path, port: u16) -> Result<Self> {
        let err = |reason: String| DistError::Server {
            dir: dir.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        // Absolute: redis-server changes into `--dir` before it opens `--logfile`, so a
        // relative folder would name the log file twice over (and the server would not start).
        let dir = &std::fs::canonicalize(dir).map_err(|e| err(e.to_string()))?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dir")
            .arg(dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--daemonize", "no", "--protected-mode", "yes"])
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                err(format!(
                    "cannot run redis-server: {e} (scripts/install-deps.sh installs it)"
                ))
            })?;
        let mut server = Self {
            dir: dir.to_path_buf(),
            port,
            child: Some(child),
        };
        let start = Instant::now();
        loop {
            if server.ping() {
                return Ok(server);
            }
            if let Some(c) = server.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                server.child = None;
                return Err(err(format!(
                    "exited with {status} (see {})",
                    dir.join("redis.log").display()
                )));
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(err("did not answer PING within 10 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url().as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is still running (false once it has exited, whatever the
    /// cause, or after [`RedisServer::kill`]).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server (SIGKILL) and reaps it: what a crash does. Writes it acknowledged are
    /// in its append-only file.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the server and starts it again on the same port and folder.
    ///
    /// # Errors
    /// [`DistError::Server`].
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let fresh = Self::start_on(&self.dir, self.port)?;
        *self = fresh;
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
