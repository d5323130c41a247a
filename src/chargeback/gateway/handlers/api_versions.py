"""ApiVersions: offer clients only the versions the gateway can parse.

Only APIs that some handler hooks are capped; the others pass through as bytes, so any version
the broker speaks is fine for them. A cap only ever lowers a maximum: raising a minimum would make
clients drop features (librdkafka stops compressing when Produce's minimum looks too high).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from kio.index import load_response_schema
from kio.schema.errors import ErrorCode
from kio.schema.index import api_key_map, schema_name_map
from kio.serial import entity_reader
from kio.serial.errors import SerialError
from kio.serial.readers import read_int16
from kio.static.primitive import i16

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.errors import FrameError
from chargeback.gateway.frames import ResponseFrame

_API_VERSIONS_KEY = 18
# Highest versions offered on purpose below what kio reads: Fetch v16+ adds broker addresses
# (KIP-951 node endpoints) to Fetch responses, which would force the gateway to hold every
# Fetch response whole to rewrite them; up to v15 responses stream through (see connection).
# Clients learn new leaders from Metadata instead, as they did before KIP-951.
_OFFERED_AT_MOST = {1: 15}


@cache
def parseable_versions(api_key: int) -> tuple[int, int] | None:
    """Return the lowest and highest version kio can read for `api_key` (None: unknown API).

    >>> parseable_versions(18)
    (0, 4)
    """
    name = api_key_map.get(api_key)
    if name is None:
        return None
    versions = [int(version) for version in schema_name_map[name]]
    return min(versions), max(versions)


def capped(api_key: int, min_version: int, max_version: int, hooked: frozenset[int]) -> int:
    """Return the max version to offer for an API the broker offers as min..max.

    >>> capped(0, 0, 99, frozenset({0}))
    13
    >>> capped(0, 0, 99, frozenset())
    99
    >>> capped(1, 4, 17, frozenset({1}))
    15
    """
    known = parseable_versions(api_key)
    if api_key not in hooked or known is None:
        return max_version
    highest_known = min(known[1], _OFFERED_AT_MOST.get(api_key, known[1]))
    if highest_known < min_version:
        # Capping below the broker's minimum would offer nothing usable; pass through instead
        # (such frames are counted as unmetered).
        return max_version
    return min(max_version, highest_known)


class ApiVersionsCap:
    """Caps every hooked API's max version in ApiVersions responses (also in error-35 form)."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection

    def on_api_versions_response(self, frame: ResponseFrame) -> None:
        """Cap the versions offered; an UNSUPPORTED_VERSION answer is read in its v0 form."""
        if self._error_code(frame) == ErrorCode.unsupported_version:
            # The broker did not speak the requested version, so it answered in v0 form.
            schema = load_response_schema(_API_VERSIONS_KEY, 0)
            try:
                message, _ = entity_reader(schema)(frame.raw, frame.body_offset)
            except (SerialError, ValueError) as error:
                raise FrameError(f"malformed ApiVersions v0 error response: {error}") from error
        else:
            message = frame.message()
        # Always re-encoded, capped or not: kio leaves out tagged fields that hold their default
        # values, which is equivalent on the wire, and it spares older clients (librdkafka 2.0,
        # as in Debian's kcat) a parsing bug with Tansu's default-valued feature tags.
        frame.replace(self._capped(message))

    def _error_code(self, frame: ResponseFrame) -> int:
        try:
            code, _ = read_int16(frame.raw, frame.body_offset)
        except SerialError as error:
            raise FrameError(f"ApiVersions response without error code: {error}") from error
        return int(code)

    def _capped(self, message: Any) -> Any:
        hooked = self._connection.hooked_api_keys
        changed = False
        entries = []
        for entry in message.api_keys:
            max_version = capped(entry.api_key, entry.min_version, entry.max_version, hooked)
            if max_version != entry.max_version:
                entry = dataclasses.replace(entry, max_version=i16(max_version))
                changed = True
            entries.append(entry)
        return dataclasses.replace(message, api_keys=tuple(entries)) if changed else message
