# CONSUMER (at-least-once)
from kafka import KafkaConsumer
import json

consumer = KafkaConsumer(
    'events',
    bootstrap_servers='localhost:9092',
    group_id='my-consumer-group',
    enable_auto_commit=False,  # Manual commit
    value_deserializer=lambda v: json.loads(v.decode('utf-8'))
)

for message in consumer:
    try:
        event = message.value
        print(f"Processing: {event}")
        
        # Your processing logic here
        process_event(event)
        
        # Commit only after successful processing
        consumer.commit()
        
    except Exception as e:
        print(f"Error processing: {e}")
        # Message will be re-delivered on next poll
