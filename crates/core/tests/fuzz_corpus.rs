//! Replays the committed corpora and crash reproducers of the `send_body`, `inquiry_body` and
//! `open_room` fuzz targets through their harnesses in [`chat_core::fuzzing`].

#[path = "../../../fuzz/replay.rs"]
mod replay;

#[test]
fn send_body_corpus() {
    replay::replay("send_body", chat_core::fuzzing::send_body);
}

#[test]
fn inquiry_body_corpus() {
    replay::replay("inquiry_body", chat_core::fuzzing::inquiry_body);
}

#[test]
fn open_room_corpus() {
    replay::replay("open_room", chat_core::fuzzing::open_room);
}
