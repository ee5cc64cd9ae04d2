//! Photos as the domain sees them: their ids, media types, the record of an upload and its
//! lifecycle state, and where their bytes live in a blob store.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::{RoomId, UserId};
use crate::model::Millis;

/// An upload's id: 32 lowercase hex digits (a random UUID's simple form). Strict, so that an id
/// can be part of a blob key and a URL path without escaping, and nothing path-like gets in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttachmentId(String);

impl AttachmentId {
    /// A new random id.
    pub fn random() -> Self {
        AttachmentId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Reads an id a client gave; anything but 32 lowercase hex digits is `invalid_attachment`.
    pub fn parse(s: &str) -> Result<Self, ChatError> {
        if s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(AttachmentId(s.to_owned()))
        } else {
            Err(ChatError::bad(
                "invalid_attachment",
                "an attachment id is 32 lowercase hex digits",
            ))
        }
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AttachmentId {
    type Error = ChatError;
    fn try_from(s: String) -> Result<Self, ChatError> {
        AttachmentId::parse(&s)
    }
}

impl From<AttachmentId> for String {
    fn from(id: AttachmentId) -> String {
        id.0
    }
}

impl fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The image formats a photo may have (API-v2 "Photos": JPEG, PNG, WebP, GIF), read from the
/// bytes, never from what the client declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `image/jpeg`
    Jpeg,
    /// `image/png`
    Png,
    /// `image/webp`
    Webp,
    /// `image/gif`
    Gif,
}

impl MediaType {
    /// The MIME type, as served in `Content-Type` and shown in `contentType`.
    pub fn as_mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
        }
    }

    /// Reads a stored MIME type back.
    pub fn from_mime(s: &str) -> Option<Self> {
        match s {
            "image/jpeg" => Some(MediaType::Jpeg),
            "image/png" => Some(MediaType::Png),
            "image/webp" => Some(MediaType::Webp),
            "image/gif" => Some(MediaType::Gif),
            _ => None,
        }
    }
}

impl Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_mime())
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MediaType::from_mime(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown media type {s}")))
    }
}

/// The signed, expiring addresses of a photo and its thumbnail, made for one reader at one
/// time (they are never stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The full-size photo.
    pub url: String,
    /// The thumbnail (at most 320 px on its longer side).
    #[serde(rename = "thumbnailUrl")]
    pub thumbnail_url: String,
}

/// A photo as a message carries it and as the upload answers it (API-v2 "Photos"). Stored
/// with the message without `links`; readers get fresh links.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The upload's id.
    pub id: AttachmentId,
    /// The stored image's type.
    #[serde(rename = "contentType")]
    pub media: MediaType,
    /// The stored image's size in bytes.
    pub size: u64,
    /// Width in pixels, orientation applied.
    pub width: u32,
    /// Height in pixels, orientation applied.
    pub height: u32,
    /// Where a reader fetches it; absent in storage.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
}

/// Where an upload is in its life. Only `Ready` uploads can be attached to a message; a
/// `Claimed` one is being sent; `Doomed` ones (their room was deleted) wait for the janitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttachmentState {
    /// Recorded before its bytes are stored: a crash here leaves a record the janitor finds.
    Uploading,
    /// Stored, not sent yet.
    Ready,
    /// Taken by a send that is being committed.
    Claimed,
    /// Part of a stored message.
    Sent,
    /// Its room was deleted: its bytes are to be deleted.
    Doomed,
}

impl AttachmentState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentState::Uploading => "uploading",
            AttachmentState::Ready => "ready",
            AttachmentState::Claimed => "claimed",
            AttachmentState::Sent => "sent",
            AttachmentState::Doomed => "doomed",
        }
    }

    /// Reads the stored spelling back; an unknown one is treated as doomed (never served).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "uploading" => AttachmentState::Uploading,
            "ready" => AttachmentState::Ready,
            "claimed" => AttachmentState::Claimed,
            "sent" => AttachmentState::Sent,
            _ => AttachmentState::Doomed,
        }
    }
}

/// The stored record of one upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// What a message would carry.
    pub attachment: Attachment,
    /// The room it was uploaded to (and may only be sent to).
    pub room: RoomId,
    /// Who uploaded it (and alone may send it).
    pub uploader: UserId,
    /// The thumbnail's type.
    pub thumbnail_media: MediaType,
    /// Where it is in its life.
    pub state: AttachmentState,
    /// When the upload began.
    pub created_at: Millis,
}

/// Which of a photo's two images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The stored photo.
    Full,
    /// Its thumbnail.
    Thumbnail,
}

impl Variant {
    /// The variant's key in the blob store for `id` in `room`. Keys are made only from parsed
    /// ids, so no client text ever becomes part of a path.
    pub fn blob_key(self, room: &RoomId, id: &AttachmentId) -> String {
        match self {
            Variant::Full => format!("attachments/{}/{id}", room.to_text()),
            Variant::Thumbnail => format!("attachments/{}/{id}.thumb", room.to_text()),
        }
    }

    /// Both variants, for deleting.
    pub const BOTH: [Variant; 2] = [Variant::Full, Variant::Thumbnail];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strict() {
        let id = AttachmentId::random();
        assert_eq!(AttachmentId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "",
            "../../etc/passwd",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcde/",
        ] {
            assert_eq!(
                AttachmentId::parse(bad).unwrap_err().code(),
                "invalid_attachment",
                "{bad}"
            );
        }
    }

    #[test]
    fn stored_form_has_no_links_and_reads_back() {
        let a = Attachment {
            id: AttachmentId::random(),
            media: MediaType::Webp,
            size: 10,
            width: 3,
            height: 4,
            links: None,
        };
        let text = serde_json::to_string(&a).unwrap();
        assert!(!text.contains("url"), "{text}");
        assert!(text.contains("\"contentType\":\"image/webp\""), "{text}");
        let back: Attachment = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        let linked = Attachment {
            links: Some(Links {
                url: "/a".into(),
                thumbnail_url: "/b".into(),
            }),
            ..a
        };
        let v = serde_json::to_value(&linked).unwrap();
        assert_eq!(v["url"], "/a");
        assert_eq!(v["thumbnailUrl"], "/b");
    }

    #[test]
    fn blob_keys_are_per_room_and_variant() {
        let room = RoomId::parse("8a4b5a44-9e2d-4c8e-9c84-2b1f1c0e2a11").unwrap();
        let id = AttachmentId::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            Variant::Full.blob_key(&room, &id),
            "attachments/8a4b5a44-9e2d-4c8e-9c84-2b1f1c0e2a11/0123456789abcdef0123456789abcdef"
        );
        assert!(Variant::Thumbnail.blob_key(&room, &id).ends_with(".thumb"));
    }
}
