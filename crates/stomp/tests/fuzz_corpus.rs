//! Replays the `stomp_decoder` fuzz target's committed corpus and crash reproducers through
//! its harness, [`reuse_stomp::fuzzing::stomp_decoder`].

#[path = "../../../fuzz/replay.rs"]
mod replay;

#[test]
fn stomp_decoder_corpus() {
    replay::replay("stomp_decoder", reuse_stomp::fuzzing::stomp_decoder);
}
