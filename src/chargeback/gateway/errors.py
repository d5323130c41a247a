"""The gateway's errors.

ChargebackError
 └── GatewayError                 anything the gateway refuses or cannot do
      ├── FrameError              a Kafka frame that cannot be read (closes only its connection)
      │    └── FrameTimeoutError  a request frame begun but not finished within the frame timeout
      └── UpstreamError           no upstream broker could be reached for a connection
"""

from chargeback.errors import ChargebackError


class GatewayError(ChargebackError):
    """The gateway refused a setting, a frame or a connection."""


class FrameError(GatewayError):
    """A frame is malformed or too large; the message names the connection and the problem."""


class FrameTimeoutError(FrameError):
    """A client began a request frame and did not finish it within the frame timeout."""


class UpstreamError(GatewayError):
    """No upstream broker could be reached."""
