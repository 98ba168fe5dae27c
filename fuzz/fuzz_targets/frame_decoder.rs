#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strom_tests::fuzz_targets::frame_decoder(data));
