//! Turns valid request bodies into hostile ones, the way a broken or malicious
//! client would: flipped bits, counts and lengths replaced by extreme values,
//! truncation, appended and inserted bytes.

use rand::Rng;

/// 32-bit values that break naive length and count handling: negative, just
/// below and above common limits, and `i32::MAX` (a 4-byte body claiming 2^31
/// elements was the kafka-protocol 0.18 allocation bug).
const HOSTILE_I32: [u32; 8] = [
    0x7fff_ffff,
    0xffff_ffff,
    0x8000_0000,
    0x0100_0000,
    0x0000_ffff,
    0x0001_0000,
    0xffff_fffe,
    0x4000_0000,
];

/// Unsigned varints (compact lengths and tagged field counts in flexible
/// versions) of the same kind: huge, overlong, and a varint that never ends.
const HOSTILE_VARINTS: [&[u8]; 6] = [
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0xff, 0xff, 0xff, 0xff, 0x07],
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x80, 0x80, 0x80, 0x04],
    &[0xff, 0xff, 0x03],
];

/// One mutation of `body`; never returns `body` unchanged when it is non-empty
/// (except when a random write happens to write the same bytes).
pub fn mutate_body(rng: &mut impl Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    // Several small mutations now and then, so that later fields get reached
    // after an earlier field was made strange but still valid.
    let rounds = if rng.random_bool(0.2) {
        rng.random_range(2..=4)
    } else {
        1
    };
    for _ in 0..rounds {
        mutate_once(rng, &mut out);
    }
    out
}

fn mutate_once(rng: &mut impl Rng, out: &mut Vec<u8>) {
    match rng.random_range(0..8) {
        0 | 1 => flip_bytes(rng, out),
        2 => overwrite_i32(rng, out),
        3 => overwrite_varint(rng, out),
        4 => {
            // Truncate anywhere, including to nothing.
            let keep = rng.random_range(0..=out.len());
            out.truncate(keep);
        }
        5 => {
            let extra = rng.random_range(1..=16);
            out.extend((0..extra).map(|_| rng.random::<u8>()));
        }
        6 => {
            let at = rng.random_range(0..=out.len());
            let extra: Vec<u8> = (0..rng.random_range(1..=8))
                .map(|_| rng.random::<u8>())
                .collect();
            out.splice(at..at, extra);
        }
        _ => {
            // Remove a short run from the middle: fields shift onto each other.
            if !out.is_empty() {
                let at = rng.random_range(0..out.len());
                let end = (at + rng.random_range(1..=4)).min(out.len());
                out.drain(at..end);
            }
        }
    }
}

fn flip_bytes(rng: &mut impl Rng, out: &mut Vec<u8>) {
    if out.is_empty() {
        out.push(rng.random());
        return;
    }
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..out.len());
        if rng.random_bool(0.5) {
            out[at] ^= 1 << rng.random_range(0..8);
        } else {
            out[at] = rng.random();
        }
    }
}

fn overwrite_i32(rng: &mut impl Rng, out: &mut Vec<u8>) {
    let value = HOSTILE_I32[rng.random_range(0..HOSTILE_I32.len())].to_be_bytes();
    // Also i16 positions (string lengths in non-flexible versions).
    let width = if rng.random_bool(0.7) { 4 } else { 2 };
    let value = &value[4 - width..];
    if out.len() < width {
        out.extend_from_slice(value);
        return;
    }
    let at = rng.random_range(0..=out.len() - width);
    out[at..at + width].copy_from_slice(value);
}

fn overwrite_varint(rng: &mut impl Rng, out: &mut Vec<u8>) {
    let varint = HOSTILE_VARINTS[rng.random_range(0..HOSTILE_VARINTS.len())];
    let at = rng.random_range(0..=out.len());
    let end = (at + varint.len()).min(out.len());
    out.splice(at..end, varint.iter().copied());
}

/// Random bytes of random length, sometimes with a plausible header in front
/// (a known API key and version) so they get past the first checks.
pub fn garbage_payload(rng: &mut impl Rng, known_keys: &[(i16, i16)]) -> Vec<u8> {
    let len = rng.random_range(0..=256);
    let mut out: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
    if !known_keys.is_empty() && rng.random_bool(0.5) {
        let (key, version) = known_keys[rng.random_range(0..known_keys.len())];
        let mut prefix = Vec::with_capacity(4);
        prefix.extend_from_slice(&key.to_be_bytes());
        prefix.extend_from_slice(&version.to_be_bytes());
        out.splice(0..0, prefix);
    }
    out
}
