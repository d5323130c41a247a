"""The gateway's handlers, one concern per module; `gateway.chain` decides their order."""
