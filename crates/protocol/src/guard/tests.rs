//! The guard's tests: the schemas agree byte for byte with the crate, hostile
//! bodies never panic the guard nor get past it into an aborting decode, and
//! the unit cases from the design.

use super::{
    check_request_body, covered_api_keys, has_schema, sample_body, schema_versions, GuardError,
};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};

/// Every covered (api key, version).
fn covered() -> Vec<(i16, i16)> {
    let mut out = Vec::new();
    for &key in covered_api_keys() {
        let Some((min, max)) = schema_versions(key) else {
            panic!("no versions for {key}")
        };
        out.extend((min..=max).map(|v| (key, v)));
    }
    out
}

fn api(key: i16) -> ApiKey {
    ApiKey::try_from(key).unwrap_or_else(|()| panic!("unknown api key {key}"))
}

/// Decodes with the crate; returns the decoded request and the bytes left over.
fn crate_decode(key: i16, version: i16, body: &[u8]) -> Result<(RequestKind, usize), String> {
    let mut bytes = Bytes::copy_from_slice(body);
    let request =
        RequestKind::decode(api(key), &mut bytes, version).map_err(|e| format!("{e:#}"))?;
    Ok((request, bytes.len()))
}

/// Tiny deterministic PRNG for mutations (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn schemas_match_the_crate_byte_for_byte() {
    const SAMPLES: u64 = 60;
    let mut checked = 0;
    for (key, version) in covered() {
        for seed in 0..SAMPLES {
            let body = sample_body(key, version, seed)
                .unwrap_or_else(|| panic!("no sample {key} v{version}"));
            let ctx = format!("api {key} v{version} seed {seed} body {body:02x?}");
            assert_eq!(
                check_request_body(key, version, &body),
                Ok(()),
                "guard refused a valid body: {ctx}"
            );
            let (request, left) =
                crate_decode(key, version, &body).unwrap_or_else(|e| panic!("crate: {e}: {ctx}"));
            assert_eq!(left, 0, "crate left bytes over: {ctx}");
            let mut out = BytesMut::new();
            request
                .encode(&mut out, version)
                .unwrap_or_else(|e| panic!("re-encode: {e:#}: {ctx}"));
            assert_eq!(&out[..], &body[..], "re-encoding differs: {ctx}");
            checked += 1;
        }
    }
    eprintln!("round-tripped {checked} sample bodies");
}

/// One random corruption of a valid body.
fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    let len = body.len();
    match rng.below(7) {
        0 if len > 0 => {
            let i = rng.below(len);
            body[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            body[i] = rng.next() as u8;
        }
        // A huge i32 count or length.
        2 => {
            let i = rng.below(len + 1);
            let huge: [u8; 4] = if rng.below(2) == 0 {
                [0x7f, 0xff, 0xff, 0xff]
            } else {
                [0x00, 0x10, 0x00, 0x00]
            };
            for (k, b) in huge.into_iter().enumerate() {
                match body.get_mut(i + k) {
                    Some(slot) => *slot = b,
                    None => body.push(b),
                }
            }
        }
        // A huge varint count or length (2^32-1, 2^31, 2^21).
        3 => {
            let i = rng.below(len + 1);
            let huge: &[u8] = match rng.below(3) {
                0 => &[0xff, 0xff, 0xff, 0xff, 0x0f],
                1 => &[0x80, 0x80, 0x80, 0x80, 0x08],
                _ => &[0x80, 0x80, 0x80, 0x01],
            };
            if rng.below(2) == 0 {
                body.splice(i..i, huge.iter().copied());
            } else {
                for (k, &b) in huge.iter().enumerate() {
                    match body.get_mut(i + k) {
                        Some(slot) => *slot = b,
                        None => body.push(b),
                    }
                }
            }
        }
        4 => body.truncate(rng.below(len + 1)),
        5 => {
            for _ in 0..1 + rng.below(8) {
                body.push(rng.next() as u8);
            }
        }
        _ if len > 0 => {
            let i = rng.below(len);
            body.remove(i);
        }
        _ => body.push(0xff),
    }
}

#[test]
fn hostile_bodies_never_panic_nor_reach_an_aborting_decode() {
    // 10,000 per API version by default (~5 s in debug); raise for a longer soak.
    let per_version: usize = std::env::var("STROM_GUARD_FUZZ_PER_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let started = std::time::Instant::now();
    let mut rng = Rng(0x0bad_5eed);
    let (mut total, mut accepted, mut decoded) = (0usize, 0usize, 0usize);
    for (key, version) in covered() {
        let samples: Vec<Vec<u8>> = (0..32)
            .filter_map(|seed| sample_body(key, version, seed))
            .collect();
        for _ in 0..per_version {
            let mut body = samples[rng.below(samples.len())].clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut body);
            }
            total += 1;
            if check_request_body(key, version, &body).is_ok() {
                accepted += 1;
                // Must not abort (nor panic); an error is fine. A success must
                // consume exactly what the walk consumed, or the two are out of sync.
                if let Ok((_, left)) = crate_decode(key, version, &body) {
                    assert_eq!(
                        left, 0,
                        "api {key} v{version}: crate stopped early on {body:02x?}"
                    );
                    decoded += 1;
                }
            }
        }
    }
    eprintln!(
        "{total} hostile bodies: {accepted} accepted by the guard, {decoded} of those decoded by the crate, in {:?}",
        started.elapsed()
    );
}

#[test]
fn metadata_body_claiming_2_pow_31_topics_is_refused() {
    let body = [0x7f, 0xff, 0xff, 0xff];
    for version in 0..=8 {
        assert!(
            matches!(
                check_request_body(3, version, &body),
                Err(GuardError::Malformed(_))
            ),
            "v{version}"
        );
    }
    // Compact form: varint 2^32-1 elements.
    let compact = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00, 0x00];
    assert!(matches!(
        check_request_body(3, 12, &compact),
        Err(GuardError::Malformed(_))
    ));
}

#[test]
fn null_arrays_are_accepted_where_nullable_only() {
    // Metadata v1: topics = null (-1) means "all topics".
    let v1 = [0xff, 0xff, 0xff, 0xff];
    assert_eq!(check_request_body(3, 1, &v1), Ok(()));
    assert!(crate_decode(3, 1, &v1).is_ok());
    // Metadata v12: topics null (varint 0), auto-create, topic ops, no tags.
    let v12 = [0x00, 0x01, 0x00, 0x00];
    assert_eq!(check_request_body(3, 12, &v12), Ok(()));
    assert!(crate_decode(3, 12, &v12).is_ok());
    // CreatePartitions v0: a topic whose assignments are null.
    let mut cp = vec![0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff];
    cp.extend_from_slice(&[0, 0, 0x27, 0x10, 0]);
    assert_eq!(check_request_body(37, 0, &cp), Ok(()));
    assert!(crate_decode(37, 0, &cp).is_ok());
    // CreateTopics v2: topics is not nullable.
    let ct = [0xff, 0xff, 0xff, 0xff, 0, 0, 0x27, 0x10, 0];
    assert!(matches!(
        check_request_body(19, 2, &ct),
        Err(GuardError::Malformed(_))
    ));
}

/// Fetch v12 with no topics and a tagged cluster_id (tag 0) of `declared` size
/// holding the compact string "ab" (3 bytes).
fn fetch_v12_with_cluster_id(declared: u8) -> Vec<u8> {
    let mut body = vec![];
    body.extend_from_slice(&(-1i32).to_be_bytes()); // replica_id
    body.extend_from_slice(&500i32.to_be_bytes()); // max_wait_ms
    body.extend_from_slice(&1i32.to_be_bytes()); // min_bytes
    body.extend_from_slice(&1024i32.to_be_bytes()); // max_bytes
    body.push(0); // isolation_level
    body.extend_from_slice(&0i32.to_be_bytes()); // session_id
    body.extend_from_slice(&(-1i32).to_be_bytes()); // session_epoch
    body.push(1); // topics: empty
    body.push(1); // forgotten_topics_data: empty
    body.push(1); // rack_id: ""
    body.extend_from_slice(&[1, 0, declared, 3, b'a', b'b']);
    if declared > 3 {
        // Keep the total length right, so only the size disagreement is wrong.
        body.extend(std::iter::repeat_n(0, usize::from(declared - 3)));
    }
    body
}

#[test]
fn known_tagged_field_must_fill_its_declared_size() {
    let good = fetch_v12_with_cluster_id(3);
    assert_eq!(check_request_body(1, 12, &good), Ok(()));
    assert!(crate_decode(1, 12, &good).is_ok());
    for declared in [2, 5] {
        let bad = fetch_v12_with_cluster_id(declared);
        assert!(
            matches!(
                check_request_body(1, 12, &bad),
                Err(GuardError::Malformed(_))
            ),
            "size {declared}"
        );
    }
    // Tag 1 (replica_state) only exists from v15: the crate refuses it in v12,
    // and so does the guard, even with a consistent size.
    let mut early = fetch_v12_with_cluster_id(3);
    let tags_at = early.len() - 6;
    early.truncate(tags_at);
    early.extend_from_slice(&[1, 1, 13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert!(crate_decode(1, 12, &early).is_err());
    assert!(matches!(
        check_request_body(1, 12, &early),
        Err(GuardError::Malformed(_))
    ));
    assert_eq!(
        check_request_body(1, 15, &early[4..]),
        Ok(()),
        "v15 drops replica_id, keeps the tag"
    );
    assert!(crate_decode(1, 15, &early[4..]).is_ok());
}

#[test]
fn every_covered_version_has_a_schema_and_matches_the_crate_range() {
    let expected: &[i16] = &[
        0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28,
        29, 30, 31, 32, 33, 35, 36, 37, 42, 44, 47, 50, 51, 60, 61, 65, 66,
    ];
    assert_eq!(covered_api_keys(), expected);
    for &key in expected {
        let range = api(key).valid_versions();
        for version in range.min..=range.max {
            // The crate's message type is the authority on what it can decode:
            // it says so on an empty body.
            let unsupported = match crate_decode(key, version, &[]) {
                Err(e) => e.contains("specified version not supported"),
                Ok(_) => false,
            };
            assert_eq!(
                has_schema(key, version),
                !unsupported,
                "api {key} v{version}"
            );
        }
        let (min, _) = schema_versions(key).unwrap_or_default();
        assert_eq!(
            min, range.min,
            "api {key}: schema starts at the crate's minimum"
        );
        assert!(!has_schema(key, range.min - 1) && !has_schema(key, range.max + 1));
    }
    assert!(!has_schema(4, 0), "LeaderAndIsr is not covered");
    assert!(matches!(
        check_request_body(4, 0, &[]),
        Err(GuardError::NoSchema {
            api_key: 4,
            version: 0
        })
    ));
}
