//! Fuzz target: the `POST /inquiry` body parser (`chat_core::fuzzing::inquiry_body`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_core::fuzzing::inquiry_body(data));
