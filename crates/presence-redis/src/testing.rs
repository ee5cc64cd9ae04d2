//! Test support: where tests find Redis, and a random key prefix whose keys are deleted when
//! the guard goes away (also when the test panics).

use std::time::Duration;

/// The environment variable that points the tests at another Redis.
pub const REDIS_ENV: &str = "REUSE_CHAT_TEST_REDIS_URL";

/// The Redis the tests use: [`REDIS_ENV`], else the local one.
pub fn redis_url() -> String {
    std::env::var(REDIS_ENV).unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A random key prefix on the test Redis, for one test.
pub struct TestPrefix {
    url: String,
    prefix: String,
}

impl TestPrefix {
    /// A fresh prefix; fails with a message naming Redis when it cannot be reached, so a test
    /// without Redis fails instead of passing silently.
    pub fn create() -> Result<TestPrefix, String> {
        let url = redis_url();
        let reachable = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(3)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if let Err(e) = reachable {
            return Err(format!(
                "Redis is not reachable at {url} (set {REDIS_ENV}): {e}"
            ));
        }
        let prefix = format!("rc-test-{}", uuid::Uuid::new_v4().simple());
        Ok(TestPrefix { url, prefix })
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix to configure.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every key under the prefix, sorted (to check what is left behind).
    pub fn keys(&self) -> Result<Vec<String>, String> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())?;
        let mut c = client
            .get_connection_with_timeout(Duration::from_secs(3))
            .map_err(|e| format!("Redis at {}: {e}", self.url))?;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut c)
            .map_err(|e| format!("Redis at {}: {e}", self.url))?;
        keys.sort();
        Ok(keys)
    }

    /// Deletes every key under the prefix.
    pub fn clear(&self) -> Result<(), String> {
        let keys = self.keys()?;
        if keys.is_empty() {
            return Ok(());
        }
        let client = redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())?;
        let mut c = client
            .get_connection_with_timeout(Duration::from_secs(3))
            .map_err(|e| format!("Redis at {}: {e}", self.url))?;
        redis::cmd("DEL")
            .arg(keys)
            .query::<i64>(&mut c)
            .map(|_| ())
            .map_err(|e| format!("Redis at {}: {e}", self.url))
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        if let Err(e) = self.clear() {
            eprintln!("could not delete the test keys under {}: {e}", self.prefix);
        }
    }
}
