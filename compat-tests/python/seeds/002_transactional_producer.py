# Producer with exactly-once setup
producer = KafkaProducer(
    bootstrap_servers='localhost:9092',
    enable_idempotence=True,
    acks='all',
    transactional_id='my-transactional-producer'
)

producer.init_transactions()
producer.begin_transaction()
try:
    producer.send('topic1', value=b'message1')
    producer.send('topic2', value=b'message2')
    producer.commit_transaction()
except Exception:
    producer.abort_transaction()
