# PRODUCER
from kafka import KafkaProducer
import json

producer = KafkaProducer(
    bootstrap_servers='localhost:9092',
    acks='all',  # Wait for all replicas
    value_serializer=lambda v: json.dumps(v).encode('utf-8')
)

# Send messages
for i in range(10):
    message = {'event_id': i, 'data': f'Event {i}'}
    future = producer.send('events', value=message)
    result = future.get(timeout=10)  # Block until sent
    print(f"Sent: {message} to partition {result.partition}")

producer.close()
