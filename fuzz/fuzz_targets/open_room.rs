//! Fuzz target: the `POST /room/create` parameters and the id parsers
//! (`chat_core::fuzzing::open_room`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_core::fuzzing::open_room(data));
