"""A client is never told of a gateway port before that port listens.

Opening a listener takes a few turns of the event loop; a second connection that forwards a
response naming the same new broker meanwhile must wait for it, or its client's connection to
the port is refused (librdkafka then logs `Connect to ... failed: Connection refused`).
"""

from __future__ import annotations

import asyncio

from chargeback.demo._services import free_port_pair
from chargeback.gateway import Endpoint, Gateway, GatewaySettings, PrincipalMode
from tests.gateway.harness import MemorySink

NODE_ID = 111


async def _accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return False
    writer.close()
    return True


async def test_a_connection_naming_a_port_another_is_opening_waits_until_it_listens() -> None:
    # Given a gateway, one of whose connections has begun to open the port of a new broker
    settings = GatewaySettings(
        bootstrap_servers=(Endpoint("127.0.0.1", 1),),
        listen=Endpoint("127.0.0.1", free_port_pair()),
        principal_mode=PrincipalMode.CLIENT_ID,
        flush_interval_seconds=3600,
    )
    gateway = Gateway(settings, MemorySink())
    await gateway.start()
    port = gateway.state.brokers.advertise(NODE_ID, Endpoint("127.0.0.1", 1)).port
    opening = asyncio.create_task(gateway.open_new_broker_ports())
    await asyncio.sleep(0)  # the first connection is now inside asyncio.start_server

    # When a second connection is about to forward a response naming that broker, as every
    # connection does: open unopened ports first
    if gateway.state.brokers.has_unopened_ports:
        await gateway.open_new_broker_ports()

    # Then the port already accepts the client's connection
    try:
        assert await _accepts(port)
        assert not gateway.state.brokers.has_unopened_ports
    finally:
        await opening
        await gateway.stop()
