//! Throw-away databases for tests: each test gets its own database under a random name on the
//! real server, dropped again when the guard goes away (also when the test panics).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use sqlx::{Connection, Executor};

use crate::Backend;

/// Where the tests find each server, overridable for other machines.
pub const MYSQL_ENV: &str = "REUSE_CHAT_TEST_MYSQL_URL";
/// See [`MYSQL_ENV`].
pub const POSTGRES_ENV: &str = "REUSE_CHAT_TEST_POSTGRES_URL";

/// The server URL (without a database) for a backend, from the environment or the default
/// local service.
pub fn server_url(backend: Backend) -> String {
    match backend {
        Backend::MySql => {
            std::env::var(MYSQL_ENV).unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
        }
        Backend::Postgres => std::env::var(POSTGRES_ENV)
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned()),
        Backend::Sqlite => String::new(),
    }
}

/// A random lower-case hex name with a recognisable prefix, so leftovers are easy to find.
pub fn random_name(prefix: &str) -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{prefix}{:016x}", h.finish())
}

/// A database that exists for one test.
pub struct TestDatabase {
    backend: Backend,
    url: String,
    name: String,
    // Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates a fresh, empty database. Fails with a message naming the service when the
    /// server cannot be reached, never silently.
    pub async fn create(backend: Backend) -> Result<TestDatabase, String> {
        let name = random_name("rc_test_");
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
                let url = format!("sqlite://{}", dir.path().join("chat.db").display());
                Ok(TestDatabase {
                    backend,
                    url,
                    name,
                    _dir: Some(dir),
                })
            }
            Backend::MySql => {
                let server = server_url(backend);
                let mut c = sqlx::MySqlConnection::connect(&server).await.map_err(|e| {
                    format!("MariaDB/MySQL is not reachable at {server} (set {MYSQL_ENV}): {e}")
                })?;
                c.execute(
                    format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                        .as_str(),
                )
                .await
                .map_err(|e| format!("cannot create database {name} on MariaDB: {e}"))?;
                let _ = c.close().await;
                Ok(TestDatabase {
                    backend,
                    url: format!("{server}/{name}"),
                    name,
                    _dir: None,
                })
            }
            Backend::Postgres => {
                let server = server_url(backend);
                let admin = format!("{server}/postgres");
                let mut c = sqlx::PgConnection::connect(&admin).await.map_err(|e| {
                    format!("PostgreSQL is not reachable at {server} (set {POSTGRES_ENV}): {e}")
                })?;
                c.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .map_err(|e| format!("cannot create database {name} on PostgreSQL: {e}"))?;
                let _ = c.close().await;
                Ok(TestDatabase {
                    backend,
                    url: format!("{server}/{name}"),
                    name,
                    _dir: None,
                })
            }
        }
    }

    /// The URL to give the store (or the server's `--database`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A migrated store on this database: each call is a separate pool, as another node's.
    pub async fn open(&self) -> Result<crate::SqlStore, String> {
        let store = crate::SqlStore::connect(&self.url, crate::StoreOptions::default())
            .await
            .map_err(|e| format!("cannot open {}: {e}", self.url))?;
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot migrate {}: {e}", self.url))?;
        Ok(store)
    }

    async fn drop_database(backend: Backend, name: &str) -> Result<(), sqlx::Error> {
        match backend {
            Backend::Sqlite => Ok(()),
            Backend::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&server_url(backend)).await?;
                c.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                    .await?;
                c.close().await
            }
            Backend::Postgres => {
                let admin = format!("{}/postgres", server_url(backend));
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                c.close().await
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.backend == Backend::Sqlite {
            return;
        }
        // Drop runs inside the test's runtime, which cannot block on itself: a short-lived
        // thread with its own runtime removes the database.
        let (backend, name) = (self.backend, self.name.clone());
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                if let Err(e) = rt.block_on(Self::drop_database(backend, &name)) {
                    eprintln!("could not drop test database {name}: {e}");
                }
            }
        });
        let _ = handle.join();
    }
}

/// A fresh database on `backend` and a migrated store on it, for the storage suites: the
/// database lives (and is dropped) with the returned [`TestDatabase`]. Fails naming the service
/// when it cannot be reached.
pub async fn fresh_store(backend: Backend) -> (TestDatabase, crate::SqlStore) {
    let db = TestDatabase::create(backend)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = crate::SqlStore::connect(db.url(), crate::StoreOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", db.url()));
    store.migrate().await.expect("migrate");
    (db, store)
}
