//! Fuzz-style test in the normal test run: for every advertised API key and
//! version, at least [`FEEDS_PER_VERSION`] mutated, truncated and extended
//! frames go through `split_frame` (in random pieces) and `decode_request`.
//! Nothing may panic; every outcome must be a value.
//!
//! What is mutated, and why only that: any byte of the request header (api
//! key, version, correlation id, client id length and bytes, header tagged
//! fields), the size prefix, and the body only by cutting it short or adding
//! bytes after it. A mutant whose header would make the body be read at
//! another offset or as another API or version is fed to `split_frame` but not
//! decoded, and so is one the guard refuses: reading arbitrary bytes as element
//! counts is the guard's job (`guard::check_request_body`), and its own tests
//! mutate counts inside bodies. Until the real guard is merged the guard in
//! this tree accepts everything, so this test keeps to mutants whose body
//! counts are the original ones.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod common;

use bytes::{Bytes, BytesMut};
use common::{advertised, header_len, sample_frame, with_size_prefix};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_protocol::frame::split_frame;
use strom_protocol::header::peek_prefix;
use strom_protocol::request::{decode_request, Decoded};
use strom_protocol::{guard, versions};

/// Frames decoded per advertised (api key, version).
const FEEDS_PER_VERSION: usize = 10_000;

/// The frame limit used here: large enough for every sample, small enough that
/// a mutated size prefix is often over it.
const MAX_FRAME_BYTES: usize = 4096;

#[derive(Default, Debug)]
struct Tally {
    fed: usize,
    decoded: usize,
    refused: usize,
    not_decoded: usize,
}

#[test]
fn mutated_frames_of_every_advertised_version_never_panic() {
    for (api_key, version) in advertised() {
        let tally = fuzz_one(api_key, version);
        let what = format!("{api_key:?} v{version}: {tally:?}");
        assert!(tally.fed >= FEEDS_PER_VERSION, "{what}");
        // Both paths must really be taken: whole requests and refusals.
        assert!(tally.decoded > 100 && tally.refused > 1000, "{what}");
    }
}

fn fuzz_one(api_key: ApiKey, version: i16) -> Tally {
    let (header, _, frame) = sample_frame(api_key, version, 0x5eed);
    let body_start = header_len(&header);
    let seed = ((api_key as u64) << 16) | version as u64;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut attempts = 0;
    while tally.fed < FEEDS_PER_VERSION {
        attempts += 1;
        assert!(attempts < 4 * FEEDS_PER_VERSION, "{api_key:?} v{version}: too many mutants skipped");
        let mutant = mutate(&mut rng, &frame, body_start);
        let Some(split) = through_framing(&mut rng, &mutant) else { continue };
        if reads_body_differently(&split, api_key, version, body_start) {
            tally.not_decoded += 1;
            continue;
        }
        if guard_refuses(&split, api_key, version, body_start) {
            tally.not_decoded += 1;
            continue;
        }
        tally.fed += 1;
        match decode_request(split) {
            Ok(Decoded::Request(_) | Decoded::UnsupportedApiVersions { .. }) => tally.decoded += 1,
            Err(err) => {
                // Every refusal renders as one log line.
                assert!(!err.to_string().is_empty() && !err.to_string().contains('\n'), "{err}");
                tally.refused += 1;
            }
        }
    }
    tally
}

/// One mutant of a valid request frame: header bytes changed, and then the
/// frame either cut short or extended. Never both: bytes appended to a cut
/// frame would stand where body counts were.
fn mutate(rng: &mut StdRng, frame: &Bytes, body_start: usize) -> Vec<u8> {
    let mut out = frame.to_vec();
    let kind = rng.random_range(0..8);
    if kind < 4 {
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..body_start);
            out[at] = if rng.random_bool(0.5) { rng.random() } else { out[at] ^ (1 << rng.random_range(0..8)) };
        }
    }
    let cut = kind == 4 || kind == 6 || (kind < 4 && rng.random_bool(0.25));
    let extend = kind == 5 || (kind < 4 && rng.random_bool(0.1));
    if cut {
        out.truncate(rng.random_range(0..out.len()));
    } else if extend {
        for _ in 0..rng.random_range(1..=16) {
            out.push(rng.random());
        }
    }
    // kind 7: the frame unchanged, only the framing is disturbed below.
    out
}

/// Feeds the mutant with its size prefix (sometimes a damaged one) to
/// `split_frame` in random pieces, as a socket delivers it. Returns the frame
/// that came out, if any.
fn through_framing(rng: &mut StdRng, mutant: &[u8]) -> Option<Bytes> {
    let mut wire = with_size_prefix(mutant).to_vec();
    let prefix_damaged = rng.random_range(0..10) == 0;
    if prefix_damaged {
        let at = rng.random_range(0..4);
        wire[at] = rng.random();
    }
    let mut buf = BytesMut::new();
    let mut sent = 0;
    while sent < wire.len() {
        let piece = rng.random_range(1..=wire.len() - sent);
        buf.extend_from_slice(&wire[sent..sent + piece]);
        sent += piece;
        match split_frame(&mut buf, MAX_FRAME_BYTES) {
            Ok(None) => {}
            Ok(Some(frame)) => {
                if !prefix_damaged {
                    assert_eq!(sent, wire.len(), "a frame came out before all of it arrived");
                    assert_eq!(&frame[..], mutant);
                }
                return Some(frame.freeze());
            }
            Err(_) => {
                assert!(prefix_damaged, "an intact size prefix was refused");
                return None;
            }
        }
    }
    assert!(prefix_damaged, "an intact frame did not come out");
    None
}

/// Whether decoding this frame would read body bytes at another offset or as
/// another API or version than the sample was encoded for.
fn reads_body_differently(frame: &Bytes, api_key: ApiKey, version: i16, body_start: usize) -> bool {
    let Some(prefix) = peek_prefix(frame) else { return false };
    if (prefix.api_key, prefix.api_version) != (api_key as i16, version) {
        // Unknown keys and unserved versions are refused before the body.
        let served = ApiKey::try_from(prefix.api_key).is_ok_and(|k| versions::is_supported(k, prefix.api_version));
        return served;
    }
    let mut rest = frame.clone();
    match RequestHeader::decode(&mut rest, api_key.request_header_version(version)) {
        Ok(_) => frame.len() - rest.len() != body_start,
        Err(_) => false,
    }
}

fn guard_refuses(frame: &Bytes, api_key: ApiKey, version: i16, body_start: usize) -> bool {
    let Some(body) = frame.get(body_start..) else { return false };
    guard::check_request_body(api_key as i16, version, body).is_err()
}
