"""Gateway: the metering Kafka proxy. Listener, connection pairs, framing, handler chain,
identity, meters, flush to a UsageSink. Imports usage, errors and kio only; only cli and demo
import it.
"""
