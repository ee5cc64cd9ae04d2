//! Fuzz target: the STOMP decoder, fed arbitrary bytes in arbitrary chunks under
//! arbitrary limits (the input layout is `reuse_stomp::fuzzing::Setup::parse`'s).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reuse_stomp::fuzzing::stomp_decoder(data));
