//! Live fuzz test: hostile bytes must never take the broker down.
//!
//! For every API key and version the broker advertises (read from its own
//! ApiVersions answer), at least `FRAMES_PER_VERSION` mutated and truncated
//! request bodies behind well-formed headers; then random garbage frames,
//! negative and oversized size prefixes, and truncated frames followed by a
//! disconnect. Frames go over many connections (a new one whenever the broker
//! closes one), from several threads. Every frame must be answered in order or
//! make the broker close the connection; afterwards the process must still run
//! and answer Metadata promptly.
//!
//! Measured on 2 busy cores against a release broker: about 8,500 frames/s,
//! so 70 API versions (42 before the transaction APIs) x 10,000 frames plus
//! the framing abuse take about 80 s.
//!
//! Environment: `STROM_FUZZ_SEED` (reproduce a run; printed at the start),
//! `STROM_FUZZ_FRAMES` (frames per API version, default 10000),
//! `STROM_FUZZ_THREADS` (default 4), `STROM_FUZZ_APIS` (comma-separated API
//! keys: fuzz only those, e.g. `3,18`, to replay or narrow down a failure).

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_tests::bodies::seed_bodies;
use strom_tests::client::{api_name, frame, size_prefixed};
use strom_tests::mutate::{garbage_payload, mutate_body};
use strom_tests::probe::{Misbehaviour, Prober, Tally};
use strom_tests::StromProcess;

const FRAMES_PER_VERSION: usize = 10_000;
/// Each kind of framing abuse, per run.
const FRAMING_FRAMES: usize = 2_000;
/// Guard sample bodies per API version (different seeds give different shapes).
const GUARD_SAMPLES: u64 = 16;
/// "Promptly": a valid request after the storm is answered within this.
const PROMPT: Duration = Duration::from_secs(1);
/// Stop collecting after this many misbehaviours: the first few say enough.
const MAX_REPORTED: usize = 20;

/// One unit of work for a thread.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Mutated bodies for one API key and version.
    Version {
        api_key: i16,
        version: i16,
    },
    GarbageFrames,
    NegativeSizes,
    OversizedSizes,
    TruncatedThenGone,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn hostile_frames_never_take_the_broker_down() {
    let seed: u64 = env_or("STROM_FUZZ_SEED", rand::random());
    let frames_per_version: usize = env_or("STROM_FUZZ_FRAMES", FRAMES_PER_VERSION);
    let threads: usize = env_or("STROM_FUZZ_THREADS", 4);
    eprintln!("fuzz: STROM_FUZZ_SEED={seed} STROM_FUZZ_FRAMES={frames_per_version} STROM_FUZZ_THREADS={threads}");

    // Auto creation off: mutated Metadata requests should not litter the disk.
    let mut broker = StromProcess::start_with_env(&[("STROM_AUTO_CREATE_TOPICS", "false")])
        .expect("start strom");
    let advertised = broker
        .connect()
        .and_then(|mut c| c.api_versions(3))
        .expect("ApiVersions v3");
    let versions: Vec<(i16, i16)> = advertised
        .api_keys
        .iter()
        .flat_map(|k| (k.min_version..=k.max_version).map(move |v| (k.api_key, v)))
        .collect();
    let only: Option<Vec<i16>> = std::env::var("STROM_FUZZ_APIS").ok().map(|list| {
        list.split(',')
            .filter_map(|k| k.trim().parse().ok())
            .collect()
    });
    let versions: Vec<(i16, i16)> = match &only {
        Some(keys) => versions
            .into_iter()
            .filter(|(key, _)| keys.contains(key))
            .collect(),
        None => versions,
    };
    assert!(
        !versions.is_empty(),
        "the broker advertises no API (that STROM_FUZZ_APIS selects)"
    );

    let mut jobs: Vec<Job> = versions
        .iter()
        .map(|&(api_key, version)| Job::Version { api_key, version })
        .collect();
    jobs.extend([
        Job::GarbageFrames,
        Job::NegativeSizes,
        Job::OversizedSizes,
        Job::TruncatedThenGone,
    ]);
    let next_job = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let problems: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let totals: Mutex<Tally> = Mutex::new(Tally::default());
    let addr = broker.addr();
    let started = Instant::now();

    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut prober = Prober::new(addr);
                while !stop.load(Ordering::Relaxed) {
                    let Some(&job) = jobs.get(next_job.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let mut rng = StdRng::seed_from_u64(seed ^ job_seed(job));
                    let failures =
                        run_job(job, &mut prober, &mut rng, frames_per_version, &versions);
                    if !failures.is_empty() {
                        let mut problems = problems.lock().unwrap_or_else(|e| e.into_inner());
                        for failure in failures {
                            if problems.len() < MAX_REPORTED {
                                problems.push(format!("{job:?}: {failure}"));
                            }
                        }
                        // A gone broker makes every later frame fail too.
                        if problems.iter().any(|p| p.contains("cannot connect")) {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                *totals.lock().unwrap_or_else(|e| e.into_inner()) += prober.tally;
            });
        }
    });

    let took = started.elapsed();
    let tally = *totals.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "fuzz: {} API versions, {} frames ({} answered, {} closed, {} parked) over {} connections in {:.1} s ({:.0} frames/s)",
        versions.len(),
        tally.frames,
        tally.answered,
        tally.closed,
        tally.held,
        tally.connections,
        took.as_secs_f64(),
        tally.frames as f64 / took.as_secs_f64().max(1e-9),
    );

    let exit = broker.exit_status().expect("wait for strom");
    let problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(
        exit.is_none() && problems.is_empty(),
        "strom {}; {} problems (seed {seed}):\n{}\nlog tail:\n{}",
        exit.map_or("still runs".to_string(), |s| format!("exited with {s}")),
        problems.len(),
        problems.join("\n"),
        broker.log_tail(30)
    );

    let asked = Instant::now();
    let mut conn = broker.connect().expect("connect after the fuzz");
    let metadata = conn.metadata_all(12).expect("Metadata after the fuzz");
    let answered_in = asked.elapsed();
    assert!(
        answered_in < PROMPT,
        "Metadata took {answered_in:?} after the fuzz"
    );
    assert_eq!(
        metadata.brokers.len(),
        1,
        "one broker in Metadata after the fuzz"
    );
    assert!(
        broker.exit_status().expect("wait for strom").is_none(),
        "strom exited after the fuzz"
    );
}

/// A per-job seed, so that one job's frames do not depend on thread timing.
fn job_seed(job: Job) -> u64 {
    match job {
        Job::Version { api_key, version } => {
            ((api_key as u16 as u64) << 16) | version as u16 as u64
        }
        Job::GarbageFrames => 1 << 40,
        Job::NegativeSizes => 2 << 40,
        Job::OversizedSizes => 3 << 40,
        Job::TruncatedThenGone => 4 << 40,
    }
}

fn run_job(
    job: Job,
    prober: &mut Prober,
    rng: &mut StdRng,
    frames_per_version: usize,
    versions: &[(i16, i16)],
) -> Vec<Misbehaviour> {
    let mut failures = Vec::new();
    let mut record = |result: Result<(), Misbehaviour>| -> bool {
        if let Err(m) = result {
            let gone = m.what.contains("cannot connect");
            failures.push(m);
            return gone || failures.len() >= 3;
        }
        false
    };
    match job {
        Job::Version { api_key, version } => {
            let mut seeds = seed_bodies(api_key, version, GUARD_SAMPLES);
            if seeds.is_empty() {
                // An API kafka-protocol does not know: random bodies only.
                seeds.push(Vec::new());
            }
            let started = Instant::now();
            for i in 0..frames_per_version {
                let base = &seeds[i % seeds.len()];
                let body = mutate_body(rng, base);
                if record(prober.request(api_key, version, &body).map(|_| ())) {
                    break;
                }
            }
            if std::env::var_os("STROM_FUZZ_VERBOSE").is_some() {
                eprintln!(
                    "fuzz: {} v{version}: {:?}",
                    api_name(api_key),
                    started.elapsed()
                );
            }
        }
        Job::GarbageFrames => {
            for _ in 0..FRAMING_FRAMES {
                let payload = garbage_payload(rng, versions);
                if record(prober.raw(&size_prefixed(&payload)).map(|_| ())) {
                    break;
                }
            }
        }
        Job::NegativeSizes => {
            for _ in 0..FRAMING_FRAMES {
                let size: i32 = rng.random_range(i32::MIN..0);
                let mut bytes = size.to_be_bytes().to_vec();
                bytes.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>()));
                if record(prober.expect_close(&bytes)) {
                    break;
                }
            }
        }
        Job::OversizedSizes => {
            for i in 0..FRAMING_FRAMES {
                // Far above any sane request limit (Kafka's default is 100 MiB).
                let size: i32 = if i % 4 == 0 {
                    i32::MAX
                } else {
                    rng.random_range(200 << 20..=i32::MAX)
                };
                let mut bytes = size.to_be_bytes().to_vec();
                bytes.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>()));
                if record(prober.expect_close(&bytes)) {
                    break;
                }
            }
        }
        Job::TruncatedThenGone => {
            for i in 0..FRAMING_FRAMES {
                let (api_key, version) = versions[rng.random_range(0..versions.len())];
                let body = seed_bodies(api_key, version, 1).pop().unwrap_or_default();
                let Ok(whole) = frame(api_key, version, i as i32, &body) else {
                    continue;
                };
                let cut = rng.random_range(0..whole.len());
                if record(prober.truncate_and_leave(&whole[..cut], i % 2 == 0)) {
                    break;
                }
            }
        }
    }
    failures
}
