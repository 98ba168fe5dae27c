//! Producing and consuming records over [`KafkaConnection`], as an idempotent
//! producer and a plain consumer do, for the durability tests: topics with
//! configs, InitProducerId, acks=all produces of numbered records, fetching a
//! whole partition, and committing and fetching group offsets.

use anyhow::{ensure, Context};
use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use crate::KafkaConnection;

/// Kafka's KAFKA_STORAGE_ERROR.
pub const KAFKA_STORAGE_ERROR: i16 = 56;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.into()))
}

/// Milliseconds since the Unix epoch, as producers stamp records.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Creates a topic with `partitions` and topic `configs`; an existing one is fine.
pub fn create_topic(conn: &mut KafkaConnection, topic: &str, partitions: i32, configs: &[(&str, &str)]) -> anyhow::Result<()> {
    let configs = configs
        .iter()
        .map(|(k, v)| CreatableTopicConfig::default().with_name(StrBytes::from_string((*k).into())).with_value(Some(StrBytes::from_string((*v).into()))))
        .collect();
    let topic_req = CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(-1)
        .with_configs(configs);
    let request = CreateTopicsRequest::default().with_timeout_ms(10_000).with_topics(vec![topic_req]);
    let response = conn.send(&request, 7)?;
    let code = response.topics.first().map_or(-1, |t| t.error_code);
    ensure!(code == 0 || code == 36, "CreateTopics {topic}: error {code}");
    Ok(())
}

/// A producer id and epoch from InitProducerId (an idempotent producer's first request).
pub fn init_producer_id(conn: &mut KafkaConnection) -> anyhow::Result<(i64, i16)> {
    let request = InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(60_000);
    let response = conn.send(&request, 4)?;
    ensure!(response.error_code == 0, "InitProducerId: error {}", response.error_code);
    Ok((response.producer_id.0, response.producer_epoch))
}

/// An idempotent batch of `values` from `producer` at `sequence`, as a producer encodes it.
pub fn batch(producer: (i64, i16), sequence: i32, values: &[Vec<u8>]) -> anyhow::Result<Bytes> {
    batch_in_txn(producer, sequence, values, false)
}

/// [`batch`], transactional (attributes bit 4) when `transactional`.
pub fn batch_in_txn(producer: (i64, i16), sequence: i32, values: &[Vec<u8>], transactional: bool) -> anyhow::Result<Bytes> {
    let timestamp = now_ms();
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, value)| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: producer.0,
            producer_epoch: producer.1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: sequence + i as i32,
            timestamp,
            key: None,
            value: Some(Bytes::from(value.clone())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None })
        .context("encoding a record batch")?;
    Ok(buf.freeze())
}

/// What a produce of one partition got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produced {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub base_offset: i64,
}

/// Produces `records` to one partition with `acks`.
pub fn produce(conn: &mut KafkaConnection, topic: &str, partition: i32, acks: i16, records: Bytes) -> anyhow::Result<Produced> {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    let topic_data = TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![data]);
    let request = ProduceRequest::default().with_acks(acks).with_timeout_ms(10_000).with_topic_data(vec![topic_data]);
    let response = conn.send(&request, 9)?;
    let p = response
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .context("a produce response without the partition")?;
    Ok(Produced { error_code: p.error_code, error_message: p.error_message.as_ref().map(|m| m.to_string()), base_offset: p.base_offset })
}

/// Every record of a partition from `from`, as (offset, value), reading until
/// the high watermark.
pub fn fetch_all(conn: &mut KafkaConnection, topic: &str, partition: i32, from: i64) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut offset = from;
    // Bounded: each round returns at least one batch or ends the loop.
    for _ in 0..100_000 {
        let p = FetchPartition::default().with_partition(partition).with_fetch_offset(offset).with_partition_max_bytes(1 << 20);
        let t = FetchTopic::default().with_topic(name(topic)).with_partitions(vec![p]);
        let request = FetchRequest::default().with_max_bytes(4 << 20).with_max_wait_ms(0).with_topics(vec![t]);
        let response = conn.send(&request, 12)?;
        let p = response.responses.first().and_then(|t| t.partitions.first()).context("a fetch response without the partition")?;
        ensure!(p.error_code == 0, "fetch {topic}-{partition} at {offset}: error {}", p.error_code);
        let mut records = p.records.clone().unwrap_or_default();
        if records.is_empty() {
            ensure!(offset >= p.high_watermark, "no records at {offset} below the high watermark {}", p.high_watermark);
            return Ok(out);
        }
        while !records.is_empty() {
            let set = RecordBatchDecoder::decode(&mut records).context("decoding fetched records")?;
            for record in set.records {
                if record.offset >= offset {
                    out.push((record.offset, record.value.map_or_else(Vec::new, |v| v.to_vec())));
                    offset = record.offset + 1;
                }
            }
        }
    }
    anyhow::bail!("fetching {topic}-{partition} did not end")
}

/// Commits `offset` for `group` (simple consumer: generation -1, no member).
pub fn commit_offset(conn: &mut KafkaConnection, group: &str, topic: &str, partition: i32, offset: i64) -> anyhow::Result<()> {
    let p = OffsetCommitRequestPartition::default().with_partition_index(partition).with_committed_offset(offset);
    let t = OffsetCommitRequestTopic::default().with_name(name(topic)).with_partitions(vec![p]);
    let request = OffsetCommitRequest::default().with_group_id(GroupId(StrBytes::from_string(group.into()))).with_generation_id_or_member_epoch(-1).with_topics(vec![t]);
    let response = conn.send(&request, 8)?;
    let code = response.topics.first().and_then(|t| t.partitions.first()).map_or(-1, |p| p.error_code);
    ensure!(code == 0, "OffsetCommit {group}: error {code}");
    Ok(())
}

/// The committed offset of `group` for a partition (-1 when none).
pub fn fetch_offset(conn: &mut KafkaConnection, group: &str, topic: &str, partition: i32) -> anyhow::Result<i64> {
    let t = OffsetFetchRequestTopic::default().with_name(name(topic)).with_partition_indexes(vec![partition]);
    let request = OffsetFetchRequest::default().with_group_id(GroupId(StrBytes::from_string(group.into()))).with_topics(Some(vec![t]));
    let response = conn.send(&request, 7)?;
    ensure!(response.error_code == 0, "OffsetFetch {group}: error {}", response.error_code);
    let p = response.topics.first().and_then(|t| t.partitions.first()).context("an offset fetch response without the partition")?;
    ensure!(p.error_code == 0, "OffsetFetch {group}: partition error {}", p.error_code);
    Ok(p.committed_offset)
}
