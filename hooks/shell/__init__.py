"""The imperative shell: Kafka and MSK clients, and nothing that decides."""
