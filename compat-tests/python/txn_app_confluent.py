"""The consume-transform-produce application of test_confluent_kafka_txn.py,
run as a child process so it can be killed with SIGKILL midway:

    python txn_app_confluent.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [STALL_AT]

Reads INPUT as a static member of GROUP, writes each value upper-cased to
OUTPUT and commits the consumed offsets in the same transaction
(send_offsets_to_transaction with the consumer's group metadata), a few
records per transaction. Prints "txn N" after each commit; transaction
STALL_AT, once its records are written, prints "open N" and stalls, so the
test can kill the application in the middle of a transaction. Runs until
killed.
"""

import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, source, sink, group, transactional_id = sys.argv[1:6]
stall_at = int(sys.argv[6]) if len(sys.argv) > 6 else None
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "linger.ms": 5})
# First: fences an earlier instance and aborts its open transaction.
producer.init_transactions(30)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": "txn-app",
                     "isolation.level": "read_committed", "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
consumer.subscribe([source])
committed = 0
while True:
    records = consumer.consume(num_messages=5, timeout=0.2)
    records = [r for r in records if r.error() is None]
    if not records:
        continue
    producer.begin_transaction()
    offsets = {}
    for r in records:
        producer.produce(sink, key=r.key(), value=r.value().upper())
        offsets[(r.topic(), r.partition())] = r.offset() + 1
    producer.flush(30)
    if committed + 1 == stall_at:
        print("open %d" % stall_at, flush=True)
        time.sleep(60)
    producer.send_offsets_to_transaction([TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                         consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
    committed += 1
    print("txn %d" % committed, flush=True)
