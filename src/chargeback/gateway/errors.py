"""The gateway's errors.

ChargebackError
 └── GatewayError                        anything the gateway refuses or cannot do
      ├── FrameError                     a Kafka frame that cannot be read (closes its connection)
      │    ├── FrameTimeoutError         a request frame begun but not finished in time
      │    └── ProtocolViolationError    a well-formed request no real client sends
      │         ├── CorrelationIdReusedError   reuses the id of a request that may be answered
      │         └── DuplicatePartitionError    a Produce naming one partition twice
      └── UpstreamError                  no upstream broker could be reached for a connection

Each FrameError names its `kind`: the label under which `errors_total` counts it.
"""

from chargeback.errors import ChargebackError


class GatewayError(ChargebackError):
    """The gateway refused a setting, a frame or a connection."""


class FrameError(GatewayError):
    """A frame is malformed or too large; the message names the connection and the problem."""

    kind = "frame"


class FrameTimeoutError(FrameError):
    """A client began a request frame and did not finish it within the frame timeout."""

    kind = "frame_timeout"


class ProtocolViolationError(FrameError):
    """A request that decodes, but breaks a rule of the protocol that metering relies on."""

    kind = "protocol_violation"


class CorrelationIdReusedError(ProtocolViolationError):
    """A request reuses the correlation id of a request whose answer may still come: the
    answer could not be told apart from its own."""

    kind = "correlation_id_reused"


class DuplicatePartitionError(ProtocolViolationError):
    """A Produce request names the same partition twice: brokers differ in what they store
    and answer for it (Kafka keeps the last batch, Tansu both), so it cannot be metered."""

    kind = "duplicate_partition"


class UpstreamError(GatewayError):
    """No upstream broker could be reached."""
