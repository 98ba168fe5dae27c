//! `strom`: a Kafka-compatible message broker. (Stub: broker-core owner fills in.)

mod api;
mod metadata;
mod partitions;

fn main() -> anyhow::Result<()> {
    Ok(())
}
