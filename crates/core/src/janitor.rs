//! The photo janitor: deletes the bytes of deleted rooms' photos and of uploads never sent,
//! resolves sends that crashed between claiming their photos and storing the message, and
//! retries all of it while a store is down.

use std::sync::Arc;
use std::time::Duration;

use crate::attachment::Variant;
use crate::model::Millis;
use crate::photos::Photos;

/// Counter: photos whose bytes the janitor deleted.
pub const PHOTOS_DELETED: &str = "reuse_chat_photos_deleted_total";

/// Uploads handled per step.
const BATCH: u32 = 100;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Claims resolved (crashed sends).
    pub claims_resolved: u64,
    /// Uploads whose bytes and record were deleted.
    pub deleted: u64,
}

/// Why a sweep stopped early; whatever it did not finish stays recorded and is tried again.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The attachments' records could not be read or written.
    #[error("records: {0}")]
    Records(#[from] crate::error::StoreError),
    /// A blob could not be deleted.
    #[error("blobs: {0}")]
    Blobs(#[from] crate::ports::BlobError),
}

/// Sweeps once as of `now`: resolves stale claims, then deletes expired uploads until none
/// are left. Several nodes may sweep at once: every step is harmless to repeat.
pub async fn sweep(photos: &Photos, now: Millis) -> Result<Sweep, SweepError> {
    let limits = photos.limits();
    let mut done = Sweep::default();
    let stale_before = Millis(now.0 - limits.stale_claim.as_millis() as i64);
    loop {
        let n = photos
            .records()
            .resolve_stale_claims(stale_before, BATCH)
            .await?;
        done.claims_resolved += n;
        if n < u64::from(BATCH) {
            break;
        }
    }
    let unsent_before = Millis(now.0 - limits.unsent_ttl.as_millis() as i64);
    loop {
        let expired = photos
            .records()
            .expired_uploads(unsent_before, BATCH)
            .await?;
        if expired.is_empty() {
            break;
        }
        for upload in &expired {
            for variant in Variant::BOTH {
                photos
                    .blobs()
                    .delete(&variant.blob_key(&upload.room, &upload.id))
                    .await?;
            }
        }
        let ids: Vec<_> = expired.iter().map(|u| u.id.clone()).collect();
        photos.records().forget_uploads(&ids).await?;
        done.deleted += ids.len() as u64;
        metrics::counter!(PHOTOS_DELETED).increment(ids.len() as u64);
        if expired.len() < BATCH as usize {
            break;
        }
    }
    Ok(done)
}

/// Runs the janitor until the returned handle is aborted: a sweep every `interval`, or at
/// once when woken (a room deleted, an upload failed), and after a failure again with a
/// backoff that doubles up to `interval`.
pub fn spawn(photos: Arc<Photos>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let wake = photos.janitor_signal();
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let wait = match sweep(&photos, Millis::now()).await {
                Ok(done) => {
                    if done != Sweep::default() {
                        tracing::info!(
                            deleted = done.deleted,
                            claims_resolved = done.claims_resolved,
                            "photo janitor"
                        );
                    }
                    backoff = Duration::from_secs(1);
                    interval
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "photo janitor failed; will retry");
                    let wait = backoff;
                    backoff = (backoff * 2).min(interval);
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
            }
        }
    })
}
