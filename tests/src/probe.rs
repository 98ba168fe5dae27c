//! Sends hostile frames and classifies what the broker did with each: answered
//! it, closed the connection, or neither (a hang, which is a bug). Reconnects
//! after a close, so one [`Prober`] can send any number of frames.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Buf;
use kafka_protocol::messages::ApiKey;

use crate::client::{frame, is_closed, is_timeout, KafkaConnection, RESPONSE_TIMEOUT};

/// What the broker did with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response with the frame's correlation id arrived, in order.
    Answered,
    /// The broker closed the connection (or reset it).
    Closed,
    /// A request that may legitimately wait (a long-poll Fetch, a JoinGroup
    /// waiting for members) was not answered quickly; the connection was dropped.
    Held,
}

/// APIs whose requests a broker may park for as long as the request asks
/// (Fetch max_wait_ms, JoinGroup/SyncGroup rebalances, ShareFetch): a mutated
/// timeout field makes a long wait correct, not a hang.
const MAY_WAIT: [ApiKey; 4] = [
    ApiKey::Fetch,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::ShareFetch,
];

/// How long a request of a [`MAY_WAIT`] API gets before it counts as parked.
const PARKED_AFTER: Duration = Duration::from_millis(250);

/// A frame the broker mishandled, with what went wrong.
#[derive(Debug)]
pub struct Misbehaviour {
    pub what: String,
    pub frame: Vec<u8>,
}

impl std::fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.frame[..self.frame.len().min(128)];
        let hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
        write!(
            f,
            "{} (frame of {} bytes: {hex}",
            self.what,
            self.frame.len()
        )?;
        if shown.len() < self.frame.len() {
            write!(f, "...")?;
        }
        write!(f, ")")
    }
}

/// Counters for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub frames: u64,
    pub answered: u64,
    pub closed: u64,
    pub held: u64,
    pub connections: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.frames += other.frames;
        self.answered += other.answered;
        self.closed += other.closed;
        self.held += other.held;
        self.connections += other.connections;
    }
}

/// One client connection at a time to `addr`, reopened after each close.
pub struct Prober {
    addr: SocketAddr,
    conn: Option<KafkaConnection>,
    /// The last bytes written: when the broker goes away, the likely culprit
    /// (or another thread's last frame).
    last_sent: Vec<u8>,
    pub tally: Tally,
}

impl Prober {
    pub fn new(addr: SocketAddr) -> Self {
        Prober {
            addr,
            conn: None,
            last_sent: Vec::new(),
            tally: Tally::default(),
        }
    }

    /// The open connection (taken out of `self`: put it back with
    /// `self.conn = Some(..)` if it is still usable), or a new one.
    /// `bytes` are what the caller is about to send: remembered as the last
    /// bytes sent.
    fn take_connection(&mut self, bytes: &[u8]) -> Result<KafkaConnection, Misbehaviour> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let conn = KafkaConnection::connect(self.addr).map_err(|e| Misbehaviour {
                    what: format!("cannot connect to the broker any more ({e:#}); the last frame this thread sent"),
                    frame: self.last_sent.clone(),
                })?;
                self.tally.connections += 1;
                conn
            }
        };
        self.last_sent.clear();
        self.last_sent.extend_from_slice(bytes);
        Ok(conn)
    }

    /// Sends a request of `api_key`/`version` with `body` (any bytes) behind a
    /// well-formed header, and waits for the answer or a close. Produce gets a
    /// valid ApiVersions request right behind it, because an acks=0 Produce is
    /// legitimately never answered.
    pub fn request(
        &mut self,
        api_key: i16,
        version: i16,
        body: &[u8],
    ) -> Result<Outcome, Misbehaviour> {
        let mut conn = self.take_connection(body)?;
        let correlation_id = conn.next_correlation_id();
        let mut bytes =
            frame(api_key, version, correlation_id, body).map_err(|e| Misbehaviour {
                what: format!("test bug: cannot build a frame: {e:#}"),
                frame: body.to_vec(),
            })?;
        let mut wait_for = correlation_id;
        if api_key == ApiKey::Produce as i16 {
            wait_for = conn.next_correlation_id();
            if let Ok(ping) = frame(ApiKey::ApiVersions as i16, 0, wait_for, &[]) {
                bytes.extend_from_slice(&ping);
            }
        }
        self.last_sent.clone_from(&bytes);
        let may_wait = MAY_WAIT.iter().any(|&k| k as i16 == api_key);
        if may_wait {
            let _ = conn.set_response_timeout(PARKED_AFTER);
        }
        self.exchange(conn, &bytes, correlation_id, wait_for, may_wait)
    }

    /// Sends raw bytes (any content behind a correct size prefix) and waits
    /// for an answer or a close; any well-framed response counts as
    /// [`Outcome::Answered`].
    pub fn raw(&mut self, bytes: &[u8]) -> Result<Outcome, Misbehaviour> {
        let conn = self.take_connection(bytes)?;
        self.exchange(conn, bytes, i32::MIN, i32::MIN, false)
    }

    /// Sends raw bytes that the broker must refuse by closing the connection
    /// (negative or oversized size prefixes).
    pub fn expect_close(&mut self, bytes: &[u8]) -> Result<(), Misbehaviour> {
        let mut conn = self.take_connection(bytes)?;
        self.tally.frames += 1;
        if let Err(e) = conn.write_all(bytes) {
            return self.closed_if(is_closed(&e), bytes, format!("write failed: {e}"));
        }
        let result = conn.read_frame();
        match result {
            Ok(None) => {
                self.tally.closed += 1;
                Ok(())
            }
            Ok(Some(_)) => Err(Misbehaviour {
                what: "answered instead of closing".into(),
                frame: bytes.to_vec(),
            }),
            Err(e) => match e.downcast_ref::<io::Error>() {
                Some(io) if is_closed(io) => {
                    self.tally.closed += 1;
                    Ok(())
                }
                _ => Err(Misbehaviour {
                    what: format!("connection not closed: {e:#}"),
                    frame: bytes.to_vec(),
                }),
            },
        }
    }

    /// Writes the start of a frame and goes away: either closes the socket at
    /// once (`half_close == false`) or half-closes it and checks that the broker
    /// closes its side rather than waiting for the rest forever.
    pub fn truncate_and_leave(
        &mut self,
        bytes: &[u8],
        half_close: bool,
    ) -> Result<(), Misbehaviour> {
        let mut conn = self.take_connection(bytes)?;
        self.tally.frames += 1;
        self.tally.closed += 1;
        let write = conn.write_all(bytes);
        if !half_close || write.is_err() {
            return Ok(());
        }
        let _ = conn.stream().shutdown(Shutdown::Write);
        let started = Instant::now();
        let result = conn.read_frame();
        match result {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(Misbehaviour {
                what: "answered a truncated frame".into(),
                frame: bytes.to_vec(),
            }),
            Err(e) => match e.downcast_ref::<io::Error>() {
                Some(io) if is_closed(io) => Ok(()),
                _ => Err(Misbehaviour {
                    what: format!(
                        "no close {:?} after a truncated frame and EOF: {e:#}",
                        started.elapsed()
                    ),
                    frame: bytes.to_vec(),
                }),
            },
        }
    }

    /// Writes `bytes` and reads responses until the one with correlation id
    /// `last` (after `first`, if they differ) or a close. `first == i32::MIN`
    /// means raw bytes: any one response frame counts as an answer.
    fn exchange(
        &mut self,
        mut conn: KafkaConnection,
        bytes: &[u8],
        first: i32,
        last: i32,
        may_wait: bool,
    ) -> Result<Outcome, Misbehaviour> {
        self.tally.frames += 1;
        if let Err(e) = conn.write_all(bytes) {
            return self
                .closed_if(is_closed(&e), bytes, format!("write failed: {e}"))
                .map(|()| Outcome::Closed);
        }
        let mut expected = first;
        loop {
            match conn.read_frame() {
                Ok(Some(mut response)) => {
                    if response.remaining() < 4 {
                        return Err(
                            self.broken(bytes, format!("response of {} bytes", response.len()))
                        );
                    }
                    let correlation_id = response.get_i32();
                    if first == i32::MIN {
                        // Raw garbage: any well-framed answer is fine, and it
                        // is the only one (there was at most one request).
                        self.tally.answered += 1;
                        self.conn = Some(conn);
                        return Ok(Outcome::Answered);
                    }
                    // An acks=0 Produce is never answered: the ping behind it
                    // may come first.
                    if correlation_id != expected && correlation_id != last {
                        return Err(self.broken(
                            bytes,
                            format!("response with correlation id {correlation_id}, expected {expected}"),
                        ));
                    }
                    if correlation_id == last {
                        self.tally.answered += 1;
                        if may_wait {
                            let _ = conn.set_response_timeout(RESPONSE_TIMEOUT);
                        }
                        self.conn = Some(conn);
                        return Ok(Outcome::Answered);
                    }
                    expected = last;
                }
                Ok(None) => {
                    return self
                        .closed_if(true, bytes, String::new())
                        .map(|()| Outcome::Closed)
                }
                Err(e) if may_wait && e.downcast_ref::<io::Error>().is_some_and(is_timeout) => {
                    self.tally.held += 1;
                    return Ok(Outcome::Held);
                }
                Err(e) => {
                    let closed = e.downcast_ref::<io::Error>().is_some_and(is_closed);
                    return self
                        .closed_if(closed, bytes, format!("{e:#}"))
                        .map(|()| Outcome::Closed);
                }
            }
        }
    }

    fn closed_if(&mut self, closed: bool, bytes: &[u8], error: String) -> Result<(), Misbehaviour> {
        self.conn = None;
        if closed {
            self.tally.closed += 1;
            Ok(())
        } else {
            Err(Misbehaviour {
                what: format!("neither answered nor closed: {error}"),
                frame: bytes.to_vec(),
            })
        }
    }

    fn broken(&mut self, bytes: &[u8], what: String) -> Misbehaviour {
        self.conn = None;
        Misbehaviour {
            what,
            frame: bytes.to_vec(),
        }
    }
}
