//! What a notification says, as JSON: the Web Push payload the page's service worker shows,
//! and the webhook's body.

use chat_core::notify::QueuedNotification;
use serde::Serialize;

/// A notification on the wire.
#[derive(Clone, Debug, Serialize)]
pub struct Payload<'a> {
    /// Always `MESSAGE`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The notification's id: the same on every retry.
    pub id: i64,
    /// Who is told.
    pub user: &'a str,
    /// The room.
    #[serde(rename = "roomUUID")]
    pub room: String,
    /// The room's name, with the count when it tells of several messages.
    pub title: String,
    /// The newest message's preview.
    pub body: &'a str,
    /// How many messages it tells of.
    pub count: i64,
    /// The newest message's id.
    #[serde(rename = "messageId")]
    pub message_id: i64,
    /// Where the page opens the room.
    pub url: String,
    /// Notifications of one room replace each other on the device.
    pub tag: String,
}

impl<'a> Payload<'a> {
    /// The payload of `n`.
    pub fn of(n: &'a QueuedNotification) -> Payload<'a> {
        let room = n.room.to_text();
        Payload {
            kind: "MESSAGE",
            id: n.id,
            user: n.user.as_str(),
            title: if n.count > 1 {
                format!("{} (새 메시지 {}개)", n.title, n.count)
            } else {
                n.title.clone()
            },
            body: &n.body,
            count: n.count,
            message_id: n.message_id,
            url: format!("/?room={room}"),
            tag: format!("room-{room}"),
            room,
        }
    }

    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and numbers always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
