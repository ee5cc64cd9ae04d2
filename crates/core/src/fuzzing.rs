//! The fuzz harnesses of the request bodies and parameters the domain validates: the `SEND`
//! body, the `POST /inquiry` body, the `POST /room/create` parameters, and the identifiers
//! inside them. The cargo-fuzz targets and the corpus replay tests both call these functions,
//! so a crash the fuzzer found stays fixed. Built only with the `fuzzing` feature.
//!
//! Each harness panics when the code under test breaks one of its promises: an accepted input
//! must come out normalised, within the limits, and accepted again, unchanged, when its
//! normalised form is sent back; a refused one must be refused as the caller's fault.

use crate::error::ChatError;
use crate::ids::{ClientMessageId, RoomId, UserId, MAX_CLIENT_MESSAGE_ID_CHARS, MAX_USER_ID_CHARS};
use crate::limits::DomainLimits;
use crate::model::{NewInquiry, NewMessage, NewRoom};
use crate::service::{OpenRoomRequest, SendCommand};

/// The authenticated caller every harness acts as (unless the input names another).
const CALLER: &str = "alice";
/// The room every `SEND` goes to.
const ROOM: &str = "0b8e0000-0000-4000-8000-000000000000";

/// Limits far below the defaults, so that the fuzzer reaches every size check cheaply.
fn tiny_limits() -> DomainLimits {
    DomainLimits {
        max_content_chars: 4,
        max_room_name_chars: 3,
        max_product_id_chars: 3,
        max_inquiry_title_chars: 3,
        max_inquiry_content_chars: 4,
        ..DomainLimits::default()
    }
}

fn caller() -> UserId {
    UserId::parse(CALLER).unwrap_or_else(|e| panic!("the harness caller is invalid: {e}"))
}

/// A refusal must be the caller's fault (a 400 or a 413), never a server failure.
fn assert_refusal(e: &ChatError, what: &str) {
    assert!(
        matches!(e, ChatError::BadInput { .. } | ChatError::TooLarge { .. }),
        "{what} failed with {e:?} instead of refusing the input"
    );
}

/// An input the default limits refused with `e` is refused as the caller's fault, and refused
/// under tighter limits too, with an error `tiny_ok` accepts.
fn check_refusal<T: std::fmt::Debug>(
    e: &ChatError,
    tiny: &Result<T, ChatError>,
    what: &str,
    tiny_ok: impl Fn(&ChatError) -> bool,
) {
    assert_refusal(e, what);
    match tiny {
        Ok(t) => panic!("tighter limits accepted {t:?}, the defaults refused: {e:?}"),
        Err(t) => assert!(
            tiny_ok(t),
            "tighter limits changed the refusal {e:?} into {t:?}"
        ),
    }
}

/// The `SEND` body target: `data` is the frame body for the fixed room, sent by the fixed
/// caller. Checks that an accepted message is well formed and accepted again unchanged when
/// re-sent in canonical form, and that tighter limits only ever refuse more.
pub fn send_body(data: &[u8]) {
    let caller = caller();
    let room = RoomId::parse(ROOM).unwrap_or_else(|e| panic!("the harness room is invalid: {e}"));
    let limits = DomainLimits::default();
    let result = SendCommand::parse(&limits, &caller, room, data);
    let tiny = SendCommand::parse(&tiny_limits(), &caller, room, data);
    let cmd = match result {
        Err(e) => {
            // The length check comes before the clientMessageId's, so tighter limits may
            // refuse a body for its length that the defaults refuse for its id.
            return check_refusal(&e, &tiny, "SendCommand::parse", |t| {
                *t == e || t.code() == "content_too_long"
            });
        }
        Ok(cmd) => cmd,
    };
    match &tiny {
        Ok(t) => assert_eq!(
            same_time(t, &cmd),
            cmd.message,
            "tighter limits changed the message"
        ),
        Err(t) => assert!(
            t.code() == "content_too_long",
            "tighter limits refused {cmd:?} with {t:?}"
        ),
    }
    let m = &cmd.message;
    assert_eq!(m.room, room, "the message went to another room");
    assert_eq!(m.sender, caller, "the message has another sender");
    assert!(!m.content.trim().is_empty(), "blank content was accepted");
    assert!(!m.content.contains('\0'), "content with NUL was accepted");
    let chars = m.content.chars().count();
    assert!(
        chars <= limits.max_content_chars,
        "{chars} characters of content were accepted"
    );
    if let Some(id) = &m.client_message_id {
        check_client_message_id(id.as_str());
    }
    let canonical = serde_json::json!({
        "roomUUID": room.to_text(),
        "sender": caller.as_str(),
        "content": m.content,
        "clientMessageId": m.client_message_id.as_ref().map(ClientMessageId::as_str),
    });
    let again = SendCommand::parse(&limits, &caller, room, canonical.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("the canonical form {canonical} of an accepted body: {e:?}"));
    assert_eq!(
        same_time(&again, &cmd),
        cmd.message,
        "the canonical form of an accepted body means something else"
    );
}

/// `cmd`'s message with `like`'s commit time, since two parses of one body differ in that.
fn same_time(cmd: &SendCommand, like: &SendCommand) -> NewMessage {
    NewMessage {
        created_at: like.message.created_at,
        ..cmd.message.clone()
    }
}

/// The `POST /inquiry` body target: `data` is the request body; the caller is anonymous, or
/// the fixed caller when the body's length is odd. Checks that an accepted inquiry is trimmed,
/// within the limits and accepted again unchanged in canonical form, and that tighter limits
/// only ever refuse more.
pub fn inquiry_body(data: &[u8]) {
    let user = (data.len() % 2 == 1).then(caller);
    let limits = DomainLimits::default();
    let result = NewInquiry::parse(&limits, user.clone(), data);
    let tiny = NewInquiry::parse(&tiny_limits(), user.clone(), data);
    let inquiry = match result {
        Err(e) => return check_refusal(&e, &tiny, "NewInquiry::parse", |_| true),
        Ok(inquiry) => inquiry,
    };
    if let Ok(t) = &tiny {
        assert_eq!(
            strip_time(t),
            strip_time(&inquiry),
            "tighter limits changed the inquiry"
        );
    }
    assert_eq!(inquiry.user, user, "the inquiry has another sender");
    let email = &inquiry.email;
    assert_eq!(email.trim(), email, "the e-mail address was not trimmed");
    assert!(
        email.split('@').count() == 2 && !email.starts_with('@'),
        "{email:?} was accepted as an e-mail address"
    );
    assert!(
        !email.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{email:?} was accepted as an e-mail address"
    );
    let title = &inquiry.title;
    assert_eq!(title.trim(), title, "the title was not trimmed");
    assert!(!title.is_empty(), "a blank title was accepted");
    assert!(
        !title.chars().any(char::is_control),
        "a title with control characters was accepted"
    );
    assert!(title.chars().count() <= limits.max_inquiry_title_chars);
    let content = &inquiry.content;
    assert!(!content.trim().is_empty(), "blank content was accepted");
    assert!(!content.contains('\0'), "content with NUL was accepted");
    assert!(content.chars().count() <= limits.max_inquiry_content_chars);
    let canonical = serde_json::json!({"email": email, "title": title, "content": content});
    let again = NewInquiry::parse(&limits, user, canonical.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("the canonical form {canonical} of an accepted body: {e:?}"));
    assert_eq!(
        strip_time(&again),
        strip_time(&inquiry),
        "the canonical form of an accepted inquiry means something else"
    );
}

/// An inquiry without its arrival time, which differs between two parses of the same body.
fn strip_time(i: &NewInquiry) -> (&str, &str, &str, Option<&UserId>) {
    (&i.email, &i.title, &i.content, i.user.as_ref())
}

/// The `POST /room/create` target: `data` holds up to four UTF-8 fields separated by `0xFF`
/// bytes (never part of UTF-8): the caller (the fixed caller when absent or invalid), then the
/// `user`, `name` and `productId` parameters, absent when missing. Every field also goes
/// through [`check_ids`]. Checks that an accepted room is normalised and within the limits, and
/// that its idempotency key is the same whichever of the two users opens it.
pub fn open_room(data: &[u8]) {
    let mut fields = Vec::with_capacity(4);
    for field in data.split(|&b| b == 0xFF).take(4) {
        let Ok(field) = std::str::from_utf8(field) else {
            return; // The REST layer refuses parameters that are not UTF-8.
        };
        check_ids(field);
        fields.push(field);
    }
    let field = |i: usize| fields.get(i).map(|s| s.to_string());
    let caller = fields
        .first()
        .and_then(|s| UserId::parse(s).ok())
        .unwrap_or_else(caller);
    let req = OpenRoomRequest {
        seller: field(1),
        name: field(2),
        product_id: field(3),
    };
    let limits = DomainLimits::default();
    let result = req.validate(&limits, &caller);
    let tiny = req.validate(&tiny_limits(), &caller);
    let room = match result {
        Err(e) => return check_refusal(&e, &tiny, "OpenRoomRequest::validate", |_| true),
        Ok(room) => room,
    };
    if let Ok(t) = &tiny {
        assert_eq!(t.pair_key, room.pair_key, "tighter limits changed the room");
    }
    assert_eq!(room.buyer, caller, "the room has another buyer");
    assert_ne!(room.seller, caller, "a room with oneself was accepted");
    assert_eq!(Some(room.seller.as_str()), req.seller.as_deref());
    assert_eq!(room.name.trim(), room.name, "the name was not trimmed");
    assert!(!room.name.is_empty(), "a blank name was accepted");
    assert!(room.name.chars().count() <= limits.max_room_name_chars);
    assert!(!room.name.chars().any(char::is_control));
    if let Some(p) = &room.product_id {
        assert_eq!(p.trim(), p, "the productId was not trimmed");
        assert!(!p.is_empty(), "a blank productId was kept");
        assert!(p.chars().count() <= limits.max_product_id_chars);
        assert!(!p.chars().any(char::is_control));
    }
    let key = &room.pair_key;
    assert!(
        key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "the pair key {key:?} is not a SHA-256 in hex"
    );
    assert_eq!(
        *key,
        NewRoom::pair_key(
            &caller,
            &room.seller,
            room.product_id.as_deref(),
            &room.name
        )
    );
    // The seller opening the same room (already normalised) finds the same key.
    let mirrored = OpenRoomRequest {
        seller: Some(caller.as_str().to_owned()),
        name: Some(room.name.clone()),
        product_id: room.product_id.clone(),
    };
    let other = mirrored
        .validate(&limits, &room.seller)
        .unwrap_or_else(|e| panic!("the seller cannot open the room {room:?}: {e:?}"));
    assert_eq!(
        (&other.pair_key, &other.name, &other.product_id),
        (key, &room.name, &room.product_id),
        "the seller opening the same room gets another one"
    );
}

/// The identifier checks, run on every field [`open_room`] is given: whatever each parser
/// accepts keeps its text (canonicalised, for room ids), parses again to itself and respects
/// the documented alphabet and length; whatever it refuses is the caller's fault.
pub fn check_ids(s: &str) {
    match UserId::parse(s) {
        Ok(u) => {
            assert_eq!(u.as_str(), s, "a user id changed its text");
            assert_eq!(u.to_string(), s, "a user id displays differently");
            assert!((1..=MAX_USER_ID_CHARS).contains(&s.len()));
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b)),
                "{s:?} was accepted as a user id"
            );
            assert_eq!(UserId::parse(u.as_str()).ok(), Some(u));
        }
        Err(e) => assert_refusal(&e, "UserId::parse"),
    }
    match RoomId::parse(s) {
        Ok(r) => {
            let text = r.to_text();
            assert_eq!(r.to_string(), text, "a room id displays differently");
            assert!(
                text.len() == 36
                    && text.bytes().enumerate().all(|(i, b)| match i {
                        8 | 13 | 18 | 23 => b == b'-',
                        _ => matches!(b, b'0'..=b'9' | b'a'..=b'f'),
                    }),
                "{text:?} is not a canonical room id"
            );
            assert_eq!(RoomId::parse(&text).ok(), Some(r));
            assert_eq!(RoomId::parse(&text.to_uppercase()).ok(), Some(r));
        }
        Err(e) => assert_refusal(&e, "RoomId::parse"),
    }
    match ClientMessageId::parse(s) {
        Ok(c) => {
            assert_eq!(c.as_str(), s, "a clientMessageId changed its text");
            check_client_message_id(s);
        }
        Err(e) => assert_refusal(&e, "ClientMessageId::parse"),
    }
}

fn check_client_message_id(s: &str) {
    let n = s.chars().count();
    assert!(
        (1..=MAX_CLIENT_MESSAGE_ID_CHARS).contains(&n) && !s.chars().any(char::is_control),
        "{s:?} was accepted as a clientMessageId"
    );
}
