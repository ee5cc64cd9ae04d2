//! Fuzz target: the `SEND` body parser (`chat_core::fuzzing::send_body`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_core::fuzzing::send_body(data));
