//! The few places where the three SQL dialects differ.

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// MySQL 8 or MariaDB 10.11.
    MySql,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, by its scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// A short name for logs and `/ready`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mysql",
            Backend::Postgres => "postgres",
        }
    }

    /// Rewrites the portable `?` placeholders into PostgreSQL's `$1, $2, …`. Queries are our
    /// own constants and contain no `?` inside literals; input never reaches SQL text.
    pub fn placeholders(self, sql: &str) -> String {
        if self != Backend::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// How write transactions start. SQLite's default `BEGIN` takes the write lock only at the
    /// first write, and two connections that both read first then fail with `BUSY` instead of
    /// waiting; `IMMEDIATE` takes it up front, so writers queue behind the busy timeout.
    pub fn begin(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::MySql | Backend::Postgres => "BEGIN",
        }
    }

    /// Row locking for a read that precedes a write in the same transaction. SQLite has no
    /// row locks; its single writer connection serialises those transactions instead.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::MySql | Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Row locking for a queue: rows another transaction holds are skipped instead of waited
    /// for, so concurrent claimers take disjoint rows without queueing behind each other
    /// (MySQL 8, MariaDB 10.6+, PostgreSQL). SQLite's single writer serialises claims instead.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::MySql | Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let q = "SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?";
        assert_eq!(
            Backend::Postgres.placeholders(q),
            "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3"
        );
        assert_eq!(Backend::MySql.placeholders(q), q);
        assert_eq!(Backend::Sqlite.placeholders(q), q);
    }

    #[test]
    fn backends_are_named_by_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/chat.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("mariadb://root@h/db"),
            Some(Backend::MySql)
        );
        assert_eq!(Backend::from_url("MySQL://root@h/db"), Some(Backend::MySql));
        assert_eq!(
            Backend::from_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("redis://h"), None);
        assert_eq!(Backend::from_url("nonsense"), None);
    }
}
