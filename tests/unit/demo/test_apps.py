"""What a demo consumer knows without a broker: how far behind given end offsets it is."""

from chargeback.demo._apps import ConsumerApp, ConsumerPlan
from chargeback.demo._logins import SaslLogin


def test_messages_behind_counts_only_the_consumers_own_topics() -> None:
    # Given a consumer of `orders` that has read partition 0 up to offset 40, nothing of 1
    plan = ConsumerPlan("billing-consumers", "billing", ("orders",))
    consumer = ConsumerApp(plan, "127.0.0.1:1", SaslLogin("PLAIN", "billing-consumers", "pw"))
    consumer.record.next_offsets[("orders", 0)] = 40

    # When the end offsets of its topic and of a topic it does not read are known
    behind = consumer.messages_behind({("orders", 0): 100, ("orders", 1): 7, ("audit-log", 0): 9})

    # Then only `orders` counts: 60 + 7
    assert behind == 67
