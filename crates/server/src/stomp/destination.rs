//! The STOMP destinations of the contract, in one routing table that parsing (what a client
//! may send to or subscribe to) and formatting (what the hub writes in `MESSAGE` frames) share.

use chat_core::RoomId;

/// A destination the server knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `/sub/chat/room/{roomUUID}`: where a room's messages are delivered.
    RoomMessages(RoomId),
    /// `/pub/room/{roomUUID}/message`: where a member sends a message to a room.
    RoomSend(RoomId),
    /// `/pub/room/{roomUUID}/read`: where a member marks a room read (API-v2).
    RoomRead(RoomId),
    /// `/pub/room/{roomUUID}/typing`: where a member says they type (API-v2).
    RoomTyping(RoomId),
}

/// The prefix of the Spring user destinations (`/user/queue/events`): a client may subscribe
/// to its own queues only, and to nothing else under it (`forbidden_destination`).
pub const USER_PREFIX: &str = "/user/";

/// The session's own user's event stream (API-v2): the one destination served under
/// [`USER_PREFIX`].
pub const USER_EVENTS: &str = "/user/queue/events";

/// Which destination a route stands for, before its room is known.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Messages,
    Send,
    Read,
    Typing,
}

/// The routing table: (route, prefix, suffix) with the room's UUID between prefix and suffix.
const ROUTES: &[(Route, &str, &str)] = &[
    (Route::Messages, "/sub/chat/room/", ""),
    (Route::Send, "/pub/room/", "/message"),
    (Route::Read, "/pub/room/", "/read"),
    (Route::Typing, "/pub/room/", "/typing"),
];

impl Destination {
    /// Reads a destination header; `None` for anything not in the table (or a bad room id).
    pub fn parse(s: &str) -> Option<Destination> {
        ROUTES.iter().find_map(|(route, prefix, suffix)| {
            let room = s.strip_prefix(prefix)?.strip_suffix(suffix)?;
            let room = RoomId::parse(room).ok()?;
            Some(match route {
                Route::Messages => Destination::RoomMessages(room),
                Route::Send => Destination::RoomSend(room),
                Route::Read => Destination::RoomRead(room),
                Route::Typing => Destination::RoomTyping(room),
            })
        })
    }

    fn route(&self) -> (Route, &RoomId) {
        match self {
            Destination::RoomMessages(r) => (Route::Messages, r),
            Destination::RoomSend(r) => (Route::Send, r),
            Destination::RoomRead(r) => (Route::Read, r),
            Destination::RoomTyping(r) => (Route::Typing, r),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (route, room) = self.route();
        let (_, prefix, suffix) = ROUTES
            .iter()
            .find(|(r, _, _)| *r == route)
            .ok_or(std::fmt::Error)?;
        write!(f, "{prefix}{room}{suffix}")
    }
}

/// The destination a room's messages are delivered to.
pub fn room_messages(room: &RoomId) -> String {
    Destination::RoomMessages(*room).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_parses_what_it_formats() {
        let room = RoomId::new_random();
        for d in [
            Destination::RoomMessages(room),
            Destination::RoomSend(room),
            Destination::RoomRead(room),
            Destination::RoomTyping(room),
        ] {
            assert_eq!(Destination::parse(&d.to_string()), Some(d));
        }
        assert_eq!(room_messages(&room), format!("/sub/chat/room/{room}"));
        assert_eq!(
            Destination::parse(&format!("/pub/room/{room}/message")),
            Some(Destination::RoomSend(room))
        );
    }

    #[test]
    fn anything_else_is_unknown() {
        let room = RoomId::new_random();
        for bad in [
            String::new(),
            "/sub/chat/room/".into(),
            "/sub/chat/room/not-a-uuid".into(),
            format!("/sub/chat/room/{room}/extra"),
            format!("/pub/room/{room}"),
            format!("/pub/room/{room}/messages"),
            format!("/pub/room/{room}/reads"),
            format!("/pub/room/{room}/typing/"),
            format!("/topic/{room}"),
            format!("/user/queue/{room}"),
        ] {
            assert_eq!(Destination::parse(&bad), None, "{bad}");
        }
    }
}
