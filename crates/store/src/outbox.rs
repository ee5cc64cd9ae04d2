//! What every outbox table (inquiries, notifications) shares: rows due at `next_attempt_at`,
//! claimed under a lease (`claimed_by`, `claimed_until`) so that no two claimers ever hold one
//! row, settled by `sent_at`, and handed back at shutdown.

use chat_core::{Millis, StoreError};

use crate::rows::SqlRow;
use crate::{classify, on_pool, Pools, SqlStore};

/// `?, ?, …` for an `IN` list of `n` values.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Claims up to `limit` due rows of `table` for `claimer` until `lease_until`; their ids, in
/// due order. Picks under row locks (skipping rows another claimer holds), then claims with a
/// conditional UPDATE that re-checks the lease, all in one transaction: two claimers can
/// never both take a row. SQLite gets the same from `BEGIN IMMEDIATE`.
pub(crate) async fn claim_ids(
    store: &SqlStore,
    table: &'static str,
    claimer: &str,
    now: Millis,
    lease_until: Millis,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let backend = store.backend;
    let pick = store.sql(&format!(
        "SELECT id FROM {table} WHERE sent_at IS NULL AND next_attempt_at <= ? \
         AND (claimed_until IS NULL OR claimed_until < ?) \
         ORDER BY next_attempt_at, id LIMIT ?{}",
        backend.skip_locked()
    ));
    on_pool!(store, write, |pool| {
        let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
        let picked = sqlx::query(&pick)
            .bind(now.0)
            .bind(now.0)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(classify)?;
        let ids = picked
            .iter()
            .map(|r| r.int("id"))
            .collect::<Result<Vec<i64>, _>>()?;
        if !ids.is_empty() {
            let claim = store.sql(&format!(
                "UPDATE {table} SET claimed_by = ?, claimed_until = ? \
                 WHERE id IN ({}) AND sent_at IS NULL \
                 AND (claimed_until IS NULL OR claimed_until < ?)",
                marks(ids.len())
            ));
            let mut q = sqlx::query(&claim).bind(claimer).bind(lease_until.0);
            for id in &ids {
                q = q.bind(*id);
            }
            q.bind(now.0).execute(&mut *tx).await.map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(ids)
    })
}

/// Hands back every unsettled claim of `claimer` in `table`; how many.
pub(crate) async fn release(
    store: &SqlStore,
    table: &'static str,
    claimer: &str,
) -> Result<u64, StoreError> {
    let sql = store.sql(&format!(
        "UPDATE {table} SET claimed_by = NULL, claimed_until = NULL \
         WHERE claimed_by = ? AND sent_at IS NULL"
    ));
    on_pool!(store, write, |pool| {
        let done = sqlx::query(&sql)
            .bind(claimer)
            .execute(pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected())
    })
}

/// How many rows of `table` wait to be sent.
pub(crate) async fn pending(store: &SqlStore, table: &'static str) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE sent_at IS NULL");
    on_pool!(store, read, |pool| {
        let n: i64 = sqlx::query_scalar(&sql)
            .fetch_one(pool)
            .await
            .map_err(classify)?;
        Ok(n.max(0) as u64)
    })
}
