//! A real S3-protocol server for tests: `s3s-fs` (installed by `scripts/test.sh`), started on
//! a free port over a temporary directory, one random bucket per caller, stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The access key the test server accepts.
pub const ACCESS_KEY: &str = "reuse-chat-test";
/// The secret key the test server accepts.
pub const SECRET_KEY: &str = "reuse-chat-test-secret";

/// A running `s3s-fs`.
pub struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `s3s-fs` over `root` on `port` and waits until it listens.
fn spawn(root: &std::path::Path, port: u16) -> Child {
    let bin = std::env::var("S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
    let child = Command::new(&bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "the S3-protocol test server '{bin}' cannot be started ({e}); install it with \
                 `cargo install s3s-fs --version 0.14.1 --features binary --locked` \
                 (scripts/test.sh does) or set S3S_FS"
            )
        });
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "s3s-fs did not listen on {port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl S3Server {
    /// Starts the server (`S3S_FS` names the binary, else `s3s-fs` from `PATH`); panics with a
    /// message naming what is missing.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let child = spawn(root.path(), port);
        S3Server { child, root, port }
    }

    /// Makes a new bucket with a random name; returns its `--blobs` address.
    pub fn bucket(&self) -> String {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        std::fs::create_dir(self.root.path().join(&name)).expect("create the bucket");
        self.address(&name)
    }

    /// The `--blobs` address of `bucket`.
    pub fn address(&self, bucket: &str) -> String {
        format!(
            "s3://{bucket}?endpoint=http://127.0.0.1:{}&region=us-east-1",
            self.port
        )
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The environment a process needs to use the server (the standard AWS variables).
    pub fn env() -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
    }

    /// Sets [`S3Server::env`] in this process, for stores opened in it. Every test sets the
    /// same values, so tests running at once cannot disagree.
    pub fn set_env() {
        for (k, v) in Self::env() {
            std::env::set_var(k, v);
        }
    }

    /// Stops the server (a store pointed at it then fails as when S3 is down).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory after [`S3Server::stop`].
    pub fn restart(&mut self) {
        self.child = spawn(self.root.path(), self.port);
    }

    /// Every object in the server's buckets (file paths under its root): to check that
    /// nothing is left behind.
    pub fn objects(&self, bucket_address: &str) -> Vec<String> {
        let bucket = bucket_address
            .strip_prefix("s3://")
            .and_then(|r| r.split('?').next())
            .unwrap_or_default();
        let mut out = Vec::new();
        let mut dirs = vec![self.root.path().join(bucket)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let name = path.display().to_string();
                    // s3s-fs keeps its own bookkeeping files beside the objects.
                    if !name.contains(".s3s-fs") {
                        out.push(name);
                    }
                }
            }
        }
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
