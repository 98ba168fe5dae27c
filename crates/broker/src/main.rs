//! `strom`: a Kafka-compatible message broker. (Stub: broker-core owner fills in.)

mod api;
mod metadata;

fn main() -> anyhow::Result<()> {
    Ok(())
}
