"""kafka-chargeback: meter Kafka usage per service account, price it, and report who pays what.

Packages, in the direction data flows (each may import only those after it):

    gateway  -> usage          the metering Kafka proxy emits UsageRecords to a UsageSink
    cli > demo > console > reports > store > pricing > usage

`errors` is the root of our exceptions and imports nothing of ours. `broker` runs the embedded
Kafka-compatible broker (Tansu) for the demo and the tests; only cli and demo import it.
"""

__version__ = "0.1.0"
