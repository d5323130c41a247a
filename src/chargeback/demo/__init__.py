"""Demo: the whole product on real Kafka traffic (broker, gateway, store, console, client apps).
Wires the other parts together; only cli imports it.
"""
