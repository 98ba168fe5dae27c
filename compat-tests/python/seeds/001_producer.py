from kafka import KafkaProducer

producer = KafkaProducer(
    bootstrap_servers='localhost:9092',
    key_serializer=lambda k: k.encode('utf-8'),
    value_serializer=lambda v: v.encode('utf-8')
)

# Send messages
producer.send('my-topic', key='key1', value='Hello Kafka!')
producer.send('my-topic', key='key2', value='Kafka is great!')
producer.flush()  # Ensure all messages are sent
producer.close()
