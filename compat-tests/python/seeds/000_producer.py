from kafka import KafkaProducer
import json

producer = KafkaProducer(bootstrap_servers='localhost:9092', value_serializer=lambda v: json.dumps(v).encode('utf-8'))

# Produce a message
producer.send('logs-topic', {'log': 'Error in service A'})
producer.send('logs-topic', {'log': 'Service B is healthy'})
producer.flush()  # Ensures messages are sent
