"""Demo: the whole product on real Kafka traffic (broker, gateway, store, console, client apps).
Wires the other parts together; may import console, reports, store, pricing, usage, gateway,
broker and errors; only cli imports it.

`run_demo(DemoOptions(...), say)` runs it; the client apps keep a ledger of what they really
sent and received (`demo-ledger.json` in the data directory), computed from the batches the broker
stored, independently of the gateway's counting.
"""

from chargeback.demo._ledger import LEDGER_FILE_NAME
from chargeback.demo._runner import STORE_FILE_NAME, DemoOptions, run_demo, store_url
from chargeback.demo.errors import DemoError

__all__ = [
    "LEDGER_FILE_NAME",
    "STORE_FILE_NAME",
    "DemoError",
    "DemoOptions",
    "run_demo",
    "store_url",
]
