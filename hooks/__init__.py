"""kafka-access: Metacontroller hooks that manage Kafka topics and ACLs."""
