//! One module per Kafka API. (Stub: broker-core owner fills in.)
