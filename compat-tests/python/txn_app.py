"""A consume-transform-produce application for the transaction tests, run as
a child process so it can be killed with SIGKILL midway:

    python txn_app.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [STALL_AT]

Reads INPUT (read_committed) as a static member of GROUP, writes each value
upper-cased to OUTPUT and commits the consumed offsets in the same
transaction, a few records per transaction. Prints "txn N" after each
commit; transaction STALL_AT, once its records are written, prints "open N"
and stalls, so the test can kill the application in the middle of a
transaction. Runs until killed.
"""

import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

import kp

bootstrap, source, sink, group, transactional_id = sys.argv[1:6]
stall_at = int(sys.argv[6]) if len(sys.argv) > 6 else None
producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id,
                         request_timeout_ms=kp.REQUEST_TIMEOUT_MS, max_block_ms=kp.REQUEST_TIMEOUT_MS)
# First: fences an earlier instance and aborts its open transaction.
producer.init_transactions()
consumer = KafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, group_instance_id="txn-app",
                         isolation_level="read_committed", enable_auto_commit=False,
                         auto_offset_reset="earliest", max_poll_records=5, session_timeout_ms=6000,
                         request_timeout_ms=kp.REQUEST_TIMEOUT_MS + 5000)
committed = 0
while True:
    polled = consumer.poll(timeout_ms=200)
    if not polled:
        continue
    producer.begin_transaction()
    offsets = {}
    for tp, records in polled.items():
        for r in records:
            producer.send(sink, key=r.key, value=r.value.upper())
        offsets[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
    producer.flush()
    if committed + 1 == stall_at:
        print("open %d" % stall_at, flush=True)
        time.sleep(60)
    kp.send_offsets_to_transaction(producer, offsets, consumer, group)
    producer.commit_transaction()
    committed += 1
    print("txn %d" % committed, flush=True)
