from kafka import KafkaConsumer
import json

consumer = KafkaConsumer('logs-topic', group_id='log-aggregator', bootstrap_servers='localhost:9092', value_deserializer=lambda m: json.loads(m.decode('utf-8')))

for message in consumer:
    print(message.value)  # Process the message
