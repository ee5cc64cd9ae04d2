//! Photos' rules: who may upload, store, send and see a photo, and the order in which an
//! upload's record and bytes are written so that no failure leaves bytes nobody will delete.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::attachment::{
    Attachment, AttachmentId, AttachmentRecord, AttachmentState, MediaType, Variant,
};
use crate::error::ChatError;
use crate::ids::{ClientMessageId, RoomId, UserId};
use crate::links::{LinkError, LinkSigner};
use crate::model::{Millis, Room};
use crate::ports::{AttachmentStore, BlobError, BlobRead, BlobStore, ChatStore, ClaimRefused};

/// Limits on photos (API-v2 "Photos" and docs/API.md).
#[derive(Clone, Debug)]
pub struct PhotoLimits {
    /// Largest upload in bytes (`--max-attachment-bytes`, default 10 MiB).
    pub max_bytes: u64,
    /// Most pixels of an image (40 megapixels), checked before its pixels are decoded.
    pub max_pixels: u64,
    /// Most photos in one message.
    pub per_message: usize,
    /// Most uploads of one user that are not sent yet: bounds what one user can make the
    /// service store without ever sending it.
    pub max_unsent: u64,
    /// How long an upload that is never sent is kept (24 h).
    pub unsent_ttl: Duration,
    /// How long a send's claim on its photos may stay unsettled before the janitor resolves it
    /// (a crash between claim and commit).
    pub stale_claim: Duration,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            per_message: 10,
            max_unsent: 100,
            unsent_ttl: Duration::from_secs(24 * 3600),
            stale_claim: Duration::from_secs(600),
        }
    }
}

/// A photo after processing (metadata removed, orientation applied, thumbnail made), ready
/// to be stored.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    /// The stored image's type (the upload's own).
    pub media: MediaType,
    /// The stored image.
    pub bytes: Bytes,
    /// Its width, orientation applied.
    pub width: u32,
    /// Its height, orientation applied.
    pub height: u32,
    /// The thumbnail.
    pub thumbnail: Bytes,
    /// The thumbnail's type.
    pub thumbnail_media: MediaType,
}

/// How a request for a photo proves it may see it.
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    /// A signed address: the request's path and its `exp` and `sig` query parameters.
    Signed {
        /// The request's path.
        path: &'a str,
        /// `exp`.
        expires: &'a str,
        /// `sig`.
        sig: &'a str,
    },
    /// An authenticated user, who must be a member (and, for a photo not sent yet, its uploader).
    Member(&'a UserId),
}

/// A photo a request may see: what to answer with.
#[derive(Clone, Debug)]
pub struct Viewable {
    /// Its record.
    pub record: AttachmentRecord,
    /// Which image.
    pub variant: Variant,
}

impl Viewable {
    /// The `Content-Type` to serve.
    pub fn media(&self) -> MediaType {
        match self.variant {
            Variant::Full => self.record.attachment.media,
            Variant::Thumbnail => self.record.thumbnail_media,
        }
    }

    /// A strong validator: an id's bytes never change, so the id (and variant) is one.
    pub fn etag(&self) -> String {
        match self.variant {
            Variant::Full => format!("\"{}\"", self.record.attachment.id),
            Variant::Thumbnail => format!("\"{}.t\"", self.record.attachment.id),
        }
    }
}

/// The photos part of the domain: built on the attachments' records, the blob store and the
/// room storage (for membership).
pub struct Photos {
    records: Arc<dyn AttachmentStore>,
    rooms: Arc<dyn ChatStore>,
    blobs: Arc<dyn BlobStore>,
    signer: LinkSigner,
    limits: PhotoLimits,
    /// Wakes the janitor (a room was deleted; an upload failed half-way).
    janitor: Arc<Notify>,
}

fn store_failed(operation: &'static str) -> impl Fn(crate::error::StoreError) -> ChatError {
    move |e| e.into_chat_error(operation, None)
}

fn blob_failed(operation: &'static str, e: BlobError) -> ChatError {
    tracing::error!(operation, error = %e, "blob store failed");
    ChatError::Unavailable
}

/// The refusal of a photo that is not there, or not visible to the caller: the same either
/// way, so nobody learns which photos exist.
fn photo_not_found() -> ChatError {
    ChatError::NotFound {
        code: "attachment_not_found",
        message: "no such photo in this room".into(),
    }
}

/// The claim key of a send: the same for every retry of one message (its sender, room and
/// `clientMessageId`), unique otherwise.
pub fn claim_key(room: &RoomId, sender: &UserId, cmid: Option<&ClientMessageId>) -> String {
    match cmid {
        Some(c) => {
            let mut h = Sha256::new();
            for part in [room.to_text().as_str(), sender.as_str(), c.as_str()] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    }
}

impl Photos {
    /// The photos service over its backends.
    pub fn new(
        records: Arc<dyn AttachmentStore>,
        rooms: Arc<dyn ChatStore>,
        blobs: Arc<dyn BlobStore>,
        signer: LinkSigner,
        limits: PhotoLimits,
    ) -> Self {
        Photos {
            records,
            rooms,
            blobs,
            signer,
            limits,
            janitor: Arc::new(Notify::new()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &PhotoLimits {
        &self.limits
    }

    /// The signer of photo addresses.
    pub fn signer(&self) -> &LinkSigner {
        &self.signer
    }

    pub(crate) fn records(&self) -> &Arc<dyn AttachmentStore> {
        &self.records
    }

    pub(crate) fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// What wakes the janitor.
    pub fn janitor_signal(&self) -> Arc<Notify> {
        self.janitor.clone()
    }

    async fn member_of(&self, caller: &UserId, room: &RoomId) -> Result<Room, ChatError> {
        let found = self
            .rooms
            .room(room)
            .await
            .map_err(|e| e.into_chat_error("photo_room", Some(room)))?
            .ok_or(ChatError::RoomNotFound)?;
        if found.is_member(caller) {
            Ok(found)
        } else {
            Err(ChatError::NotMember)
        }
    }

    /// Checked before an upload's body is read: the caller is a member of the room and has not
    /// too many unsent uploads. Answers the room, for the caller's further checks.
    pub async fn may_upload(&self, caller: &UserId, room: &RoomId) -> Result<Room, ChatError> {
        let found = self.member_of(caller, room).await?;
        let unsent = self
            .records
            .unsent_uploads(caller)
            .await
            .map_err(store_failed("unsent_uploads"))?;
        if unsent >= self.limits.max_unsent {
            return Err(ChatError::TooMany {
                code: "too_many_uploads",
                message: format!(
                    "you have {unsent} photos uploaded and not sent (at most {}); send or wait for them to expire",
                    self.limits.max_unsent
                ),
            });
        }
        Ok(found)
    }

    /// Stores a processed upload: its record first (`uploading`), then its bytes, then the
    /// record says `ready`. Answers the photo with fresh links.
    pub async fn store(
        &self,
        caller: &UserId,
        room: &RoomId,
        photo: ProcessedPhoto,
    ) -> Result<Attachment, ChatError> {
        let id = AttachmentId::random();
        let attachment = Attachment {
            id: id.clone(),
            media: photo.media,
            size: photo.bytes.len() as u64,
            width: photo.width,
            height: photo.height,
            links: None,
        };
        let record = AttachmentRecord {
            attachment,
            room: *room,
            uploader: caller.clone(),
            thumbnail_media: photo.thumbnail_media,
            state: AttachmentState::Uploading,
            created_at: Millis::now(),
        };
        self.records
            .record_upload(&record)
            .await
            .map_err(store_failed("record_upload"))?;
        let written = async {
            self.blobs
                .put(&Variant::Full.blob_key(room, &id), photo.bytes)
                .await?;
            self.blobs
                .put(&Variant::Thumbnail.blob_key(room, &id), photo.thumbnail)
                .await
        }
        .await;
        if let Err(e) = written {
            // The record stays `uploading`: the janitor deletes whatever was written.
            self.janitor.notify_one();
            return Err(blob_failed("put", e));
        }
        let ready = self
            .records
            .upload_stored(&id)
            .await
            .map_err(store_failed("upload_stored"))?;
        if !ready {
            // The room was deleted while the bytes were written.
            self.janitor.notify_one();
            return Err(ChatError::RoomNotFound);
        }
        let mut attachment = record.attachment;
        self.signer.link(room, &mut attachment, Millis::now());
        Ok(attachment)
    }

    /// Takes a send's photos for it (see [`AttachmentStore::claim`]); any id that cannot be
    /// taken refuses the whole send with `invalid_attachment`.
    pub async fn claim(
        &self,
        room: &RoomId,
        sender: &UserId,
        ids: &[AttachmentId],
        key: &str,
    ) -> Result<Vec<Attachment>, ChatError> {
        match self
            .records
            .claim(room, sender, ids, key, Millis::now())
            .await
            .map_err(store_failed("claim_attachments"))?
        {
            Ok(photos) => Ok(photos),
            Err(ClaimRefused::NotClaimable) => Err(ChatError::bad(
                "invalid_attachment",
                "an attachment is unknown, not yours, of another room, or already sent",
            )),
        }
    }

    /// Ends a send's claim (see [`AttachmentStore::settle_claim`]). A failure is logged: the
    /// janitor resolves the claim later from what was stored.
    pub async fn settle(&self, key: &str, sent: bool) {
        if let Err(e) = self.records.settle_claim(key, sent).await {
            tracing::warn!(error = %e, sent, "cannot settle a photo claim; the janitor will");
        }
    }

    /// Whether the request may see `variant` of photo `id` in `room`.
    pub async fn open(
        &self,
        room: &RoomId,
        id: &AttachmentId,
        variant: Variant,
        access: Access<'_>,
    ) -> Result<Viewable, ChatError> {
        // The proof comes first, so that nobody learns which photos exist.
        if let Access::Signed { path, expires, sig } = access {
            self.signer
                .verify(path, expires, sig, Millis::now())
                .map_err(|e| ChatError::Forbidden {
                    code: e.code(),
                    message: match e {
                        LinkError::BadSignature => "the photo's address is not valid".into(),
                        LinkError::Expired => {
                            "the photo's address has expired; reload to get a fresh one".into()
                        }
                    },
                })?;
        }
        if let Access::Member(user) = access {
            self.member_of(user, room).await?;
        }
        let record = self
            .records
            .attachment(room, id)
            .await
            .map_err(store_failed("attachment"))?
            .ok_or_else(photo_not_found)?;
        let visible = match (record.state, access) {
            (AttachmentState::Uploading | AttachmentState::Doomed, _) => false,
            (AttachmentState::Sent | AttachmentState::Claimed, _) => true,
            (AttachmentState::Ready, Access::Signed { .. }) => true,
            (AttachmentState::Ready, Access::Member(user)) => &record.uploader == user,
        };
        if !visible {
            return Err(photo_not_found());
        }
        Ok(Viewable { record, variant })
    }

    /// The bytes of a photo a request may see, streamed.
    pub async fn read(&self, photo: &Viewable) -> Result<BlobRead, ChatError> {
        let key = photo
            .variant
            .blob_key(&photo.record.room, &photo.record.attachment.id);
        match self.blobs.get(&key).await {
            Ok(Some(read)) => Ok(read),
            Ok(None) => {
                tracing::error!(key, "a photo's record has no bytes");
                Err(photo_not_found())
            }
            Err(e) => Err(blob_failed("get", e)),
        }
    }

    /// Both stores answer (for `/ready`).
    pub async fn ping(&self) -> Result<(), String> {
        self.blobs.ping().await.map_err(|e| e.to_string())
    }
}
