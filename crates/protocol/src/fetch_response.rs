//! Fetch (key 1) response frames, v4-18, as parts to write in order with
//! vectored writes: the encoded header and fields, and each partition's
//! records as the `Bytes` the broker read from its log, never copied into a
//! response buffer, or as records the writer sends itself
//! ([`FramePart::Records`]: a range of a log file the connection hands to
//! sendfile(2), so they never enter memory at all; only their length is
//! encoded here). The bytes on the wire are exactly those of
//! [`crate::response::encode_response`] (kafka-protocol's encoder); the tests
//! compare both at every version.
//!
//! Only what the broker fills is encoded by hand. A response using anything
//! else (unknown tagged fields, node endpoints, a diverging epoch, current
//! leader or snapshot id, a field the version lacks) goes through
//! kafka-protocol as one part, so the two can never disagree.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseKind};

use crate::error::EncodeError;
use crate::frame::SIZE_PREFIX_BYTES;
use crate::response::encode_response;

/// Records shorter than this are copied into the surrounding part: a tiny
/// extra iovec costs more than the copy.
const INLINE_RECORDS_BYTES: usize = 512;
const FIRST_FLEXIBLE_VERSION: i16 = 12;
const FIRST_TOPIC_ID_VERSION: i16 = 13;

/// One part of a response frame, written in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePart<R> {
    /// Encoded bytes (or records read into memory).
    Bytes(Bytes),
    /// Records the frame counts but the writer sends itself.
    Records(R),
}

/// Records sent apart from the encoded parts: the frame holds only their length.
pub trait RecordsApart {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// No records apart: [`encode_fetch_response`]'s parts are all bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRecordsApart {}

impl RecordsApart for NoRecordsApart {
    fn len(&self) -> usize {
        match *self {}
    }
}

/// The frame of a Fetch response (size prefix, header v0/v1, body) as parts.
pub fn encode_fetch_response(version: i16, correlation_id: i32, body: &FetchResponse) -> Result<Vec<Bytes>, EncodeError> {
    let parts = encode_fetch_response_apart::<NoRecordsApart>(version, correlation_id, body, Vec::new())?;
    Ok(parts
        .into_iter()
        .map(|part| match part {
            FramePart::Bytes(bytes) => bytes,
            FramePart::Records(never) => match never {},
        })
        .collect())
}

/// Whether [`encode_fetch_response_apart`] can send records apart for `body`
/// at `version` (otherwise the caller reads them into the body first).
pub fn encodes_records_apart(version: i16, body: &FetchResponse) -> bool {
    hand_encodable(version, body)
}

/// [`encode_fetch_response`], but the records of the `n`th partition (counted
/// across topics, in order) are `apart[n]` where that is `Some`: encoded as
/// their length, then a [`FramePart::Records`] (that partition's `records` in
/// `body` is ignored).
pub fn encode_fetch_response_apart<R: RecordsApart>(
    version: i16,
    correlation_id: i32,
    body: &FetchResponse,
    mut apart: Vec<Option<R>>,
) -> Result<Vec<FramePart<R>>, EncodeError> {
    let any_apart = apart.iter().any(Option::is_some);
    if !hand_encodable(version, body) {
        if any_apart {
            return Err(EncodeError { api_key: ApiKey::Fetch, version, reason: "records apart in a response only kafka-protocol encodes".into() });
        }
        let whole = encode_response(ApiKey::Fetch, version, correlation_id, &ResponseKind::Fetch(body.clone()))?;
        return Ok(vec![FramePart::Bytes(whole)]);
    }
    if apart.iter().flatten().any(|r| r.len() >= i32::MAX as usize) {
        return Err(EncodeError { api_key: ApiKey::Fetch, version, reason: "records apart longer than a frame".into() });
    }
    let mut apart = apart.iter_mut().map(Option::take).chain(std::iter::repeat_with(|| None));
    let flexible = version >= FIRST_FLEXIBLE_VERSION;
    let mut out = Parts { head: None, shared: Vec::new(), buf: BytesMut::with_capacity(256) };
    let buf = &mut out.buf;
    buf.put_i32(0); // size, patched in finish()
    buf.put_i32(correlation_id);
    if flexible {
        put_uvarint(buf, 0); // response header v1: no tagged fields
    }
    buf.put_i32(body.throttle_time_ms);
    if version >= 7 {
        buf.put_i16(body.error_code);
        buf.put_i32(body.session_id);
    }
    put_array_len(buf, flexible, Some(body.responses.len()));
    for topic in &body.responses {
        put_topic(&mut out, version, topic, &mut apart);
    }
    if flexible {
        put_uvarint(&mut out.buf, 0);
    }
    out.finish(version)
}

/// Parts being built: `head` holds the size prefix once something was split
/// off, `shared` the parts after it, `buf` what is being encoded now.
struct Parts<R> {
    head: Option<BytesMut>,
    shared: Vec<FramePart<R>>,
    buf: BytesMut,
}

impl<R: RecordsApart> Parts<R> {
    /// Ends the current part and appends `records` as its own part, uncopied.
    fn push_records(&mut self, records: FramePart<R>) {
        let encoded = self.buf.split();
        match self.head {
            None => self.head = Some(encoded),
            Some(_) => self.shared.push(FramePart::Bytes(encoded.freeze())),
        }
        self.shared.push(records);
    }

    fn finish(self, version: i16) -> Result<Vec<FramePart<R>>, EncodeError> {
        let Parts { head, shared, buf } = self;
        let part_len = |part: &FramePart<R>| match part {
            FramePart::Bytes(bytes) => bytes.len(),
            FramePart::Records(records) => records.len(),
        };
        let total = head.as_ref().map_or(0, BytesMut::len) + shared.iter().map(part_len).sum::<usize>() + buf.len();
        let size = i32::try_from(total - SIZE_PREFIX_BYTES).map_err(|_| EncodeError {
            api_key: ApiKey::Fetch,
            version,
            reason: format!("response of {total} bytes does not fit a frame"),
        })?;
        let size = size.to_be_bytes();
        Ok(match head {
            None => {
                let mut whole = buf;
                whole[..SIZE_PREFIX_BYTES].copy_from_slice(&size);
                vec![FramePart::Bytes(whole.freeze())]
            }
            Some(mut head) => {
                head[..SIZE_PREFIX_BYTES].copy_from_slice(&size);
                let mut parts = Vec::with_capacity(shared.len() + 2);
                parts.push(FramePart::Bytes(head.freeze()));
                parts.extend(shared);
                if !buf.is_empty() {
                    parts.push(FramePart::Bytes(buf.freeze()));
                }
                parts
            }
        })
    }
}

fn put_topic<R: RecordsApart>(out: &mut Parts<R>, version: i16, topic: &FetchableTopicResponse, apart: &mut impl Iterator<Item = Option<R>>) {
    let flexible = version >= FIRST_FLEXIBLE_VERSION;
    let buf = &mut out.buf;
    if version < FIRST_TOPIC_ID_VERSION {
        put_string(buf, flexible, topic.topic.0.as_bytes());
    } else {
        buf.put_slice(topic.topic_id.as_bytes());
    }
    put_array_len(buf, flexible, Some(topic.partitions.len()));
    for partition in &topic.partitions {
        put_partition(out, version, partition, apart.next().flatten());
    }
    if flexible {
        put_uvarint(&mut out.buf, 0);
    }
}

fn put_partition<R: RecordsApart>(out: &mut Parts<R>, version: i16, p: &PartitionData, apart: Option<R>) {
    let flexible = version >= FIRST_FLEXIBLE_VERSION;
    let buf = &mut out.buf;
    buf.put_i32(p.partition_index);
    buf.put_i16(p.error_code);
    buf.put_i64(p.high_watermark);
    buf.put_i64(p.last_stable_offset);
    if version >= 5 {
        buf.put_i64(p.log_start_offset);
    }
    put_array_len(buf, flexible, p.aborted_transactions.as_ref().map(Vec::len));
    for aborted in p.aborted_transactions.iter().flatten() {
        buf.put_i64(aborted.producer_id.0);
        buf.put_i64(aborted.first_offset);
        if flexible {
            put_uvarint(buf, 0);
        }
    }
    if version >= 11 {
        buf.put_i32(p.preferred_read_replica.0);
    }
    let put_len = |buf: &mut BytesMut, len: usize| {
        if flexible {
            put_uvarint(buf, len as u64 + 1);
        } else {
            // hand_encodable (and the check of records apart) made sure every length fits an i32.
            buf.put_i32(len as i32);
        }
    };
    match (apart, &p.records) {
        (Some(records), _) => {
            put_len(buf, records.len());
            out.push_records(FramePart::Records(records));
        }
        (None, None) if flexible => put_uvarint(buf, 0),
        (None, None) => buf.put_i32(-1),
        (None, Some(records)) => {
            put_len(buf, records.len());
            if records.len() < INLINE_RECORDS_BYTES {
                buf.put_slice(records);
            } else {
                out.push_records(FramePart::Bytes(records.clone()));
            }
        }
    }
    if flexible {
        put_uvarint(&mut out.buf, 0);
    }
}

/// Whether every field set in `body` is one this module encodes at `version`
/// (otherwise kafka-protocol encodes it, or reports why it cannot).
fn hand_encodable(version: i16, body: &FetchResponse) -> bool {
    let flexible = version >= FIRST_FLEXIBLE_VERSION;
    (4..=18).contains(&version)
        && (version >= 7 || body.session_id == 0)
        && body.node_endpoints.is_empty()
        && body.unknown_tagged_fields.is_empty()
        && body.responses.iter().all(|t| {
            t.unknown_tagged_fields.is_empty()
                && (flexible || t.topic.0.len() <= i16::MAX as usize)
                && t.partitions.iter().all(|p| {
                    p.unknown_tagged_fields.is_empty()
                        && p.diverging_epoch == Default::default()
                        && p.current_leader == Default::default()
                        && p.snapshot_id == Default::default()
                        && (version >= 11 || p.preferred_read_replica.0 == -1)
                        && p.aborted_transactions.iter().flatten().all(|a| a.unknown_tagged_fields.is_empty())
                        && p.records.as_ref().is_none_or(|r| r.len() < i32::MAX as usize)
                })
        })
}

fn put_uvarint(buf: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// An array length: compact (unsigned varint of n + 1, 0 for null) or i32 (-1 for null).
fn put_array_len(buf: &mut BytesMut, flexible: bool, len: Option<usize>) {
    match (flexible, len) {
        (true, None) => put_uvarint(buf, 0),
        (true, Some(n)) => put_uvarint(buf, n as u64 + 1),
        (false, None) => buf.put_i32(-1),
        (false, Some(n)) => buf.put_i32(i32::try_from(n).unwrap_or(i32::MAX)),
    }
}

fn put_string(buf: &mut BytesMut, flexible: bool, s: &[u8]) {
    if flexible {
        put_uvarint(buf, s.len() as u64 + 1);
    } else {
        // hand_encodable checked the length.
        buf.put_i16(s.len() as i16);
    }
    buf.put_slice(s);
}

#[cfg(test)]
#[path = "fetch_response_tests.rs"]
mod tests;
