"""`chargeback gateway`: run the metering gateway in front of a Kafka cluster.

Every option can also be set in the config file's `[gateway]` table, under the option's name
with underscores (`bootstrap_server = "kafka-1:9092,kafka-2:9092"`); the command line wins.
Usage goes to the configured store (`--db`), which is the gateway's UsageSink.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

import typer

from chargeback.cli._gateway_users import IdentityOptions, gateway_identity
from chargeback.cli._settings import (
    EXIT_ERROR,
    clean_errors,
    fail,
    open_store_from_context,
    settings_from_context,
)
from chargeback.errors import ConfigError
from chargeback.gateway import (
    DEFAULT_DRAIN_TIMEOUT_SECONDS,
    DEFAULT_FRAME_TIMEOUT_SECONDS,
    DEFAULT_MAX_FRAME_BYTES,
    GatewayError,
    GatewaySettings,
    PrincipalMode,
    parse_endpoint,
    parse_endpoints,
    run_gateway,
)
from chargeback.store import Store, open_store
from chargeback.usage import UsageRecord

_DEFAULTS: dict[str, Any] = {
    "bootstrap_server": None,
    "listen": "127.0.0.1:9092",
    "advertised_host": None,
    "cluster": "default",
    "principal": "sasl",
    "flush_interval": 10.0,
    "metrics_port": None,
    "max_frame_bytes": DEFAULT_MAX_FRAME_BYTES,
    "frame_timeout": DEFAULT_FRAME_TIMEOUT_SECONDS,
    "drain_timeout": DEFAULT_DRAIN_TIMEOUT_SECONDS,
    "log_level": "INFO",
    "sasl_mode": "passthrough",
    "oauth_claim": "sub",
    "session_lifetime_ms": 0,
    "upstream_sasl_mechanism": None,
    "upstream_sasl_username": None,
    "upstream_sasl_password_file": None,
    "tls_cert": None,
    "tls_key": None,
    "tls_client_ca": None,
    "principal_mapping_rules": None,
    "upstream_tls": False,
    "upstream_tls_ca": None,
    "upstream_tls_cert": None,
    "upstream_tls_key": None,
}
_PATH_OPTIONS = {
    "upstream_sasl_password_file",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "upstream_tls_ca",
    "upstream_tls_cert",
    "upstream_tls_key",
}

# The gateway's writes to a PostgreSQL store give up instead of waiting without end (on a table
# another session locked, say): a failed write is kept and retried with the same batch id, and
# a stopping gateway is not held up by it.
STORE_LOCK_TIMEOUT_MS = 5_000
STORE_STATEMENT_TIMEOUT_MS = 60_000

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the `gateway` command to `app`."""
    app.command("gateway")(gateway)


Opt = typer.Option


@clean_errors
def gateway(
    ctx: typer.Context,
    bootstrap_server: Annotated[
        str | None, Opt(metavar="HOST:PORT[,...]", help="The cluster's brokers.")
    ] = None,
    listen: Annotated[
        str | None,
        Opt(
            metavar="HOST:PORT",
            help="Bootstrap port of the gateway; brokers get the next ports. [127.0.0.1:9092]",
        ),
    ] = None,
    advertised_host: Annotated[
        str | None,
        Opt(metavar="HOST", help="Host name clients are told to use. [the --listen host]"),
    ] = None,
    cluster: Annotated[
        str | None, Opt(metavar="NAME", help="Cluster name usage is recorded under. [default]")
    ] = None,
    principal: Annotated[
        str | None,
        Opt(metavar="sasl|client-id|tls", help="Where the service account comes from. [sasl]"),
    ] = None,
    flush_interval: Annotated[
        float | None, Opt(metavar="SECONDS", help="Seconds between writes to the store. [10]")
    ] = None,
    metrics_port: Annotated[
        int | None,
        Opt(metavar="PORT", help="Serve Prometheus metrics on this port (on the --listen host)."),
    ] = None,
    max_frame_bytes: Annotated[
        int | None,
        Opt(
            metavar="BYTES",
            help="Largest request frame accepted; larger closes the connection. [100 MiB]",
        ),
    ] = None,
    frame_timeout: Annotated[
        float | None,
        Opt(
            metavar="SECONDS",
            help="A request frame must end this long after its first byte, or the connection "
            "closes. [60]",
        ),
    ] = None,
    drain_timeout: Annotated[
        float | None,
        Opt(
            metavar="SECONDS",
            help="At a stop (or when a client leaves), how long to wait for the brokers' answers "
            "to requests already forwarded, so that they are metered. [10]",
        ),
    ] = None,
    log_level: Annotated[
        str | None, Opt(metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR. [INFO]")
    ] = None,
    sasl_mode: Annotated[
        str | None,
        Opt(
            metavar="passthrough|managed",
            help="passthrough: the brokers check SASL logins; managed: the gateway does.",
        ),
    ] = None,
    oauth_claim: Annotated[
        str | None, Opt(metavar="CLAIM", help="OAUTHBEARER claim naming the service account. [sub]")
    ] = None,
    session_lifetime_ms: Annotated[
        int | None,
        Opt(metavar="MS", help="Managed SASL: session lifetime for KIP-368 re-authentication."),
    ] = None,
    upstream_sasl_mechanism: Annotated[
        str | None,
        Opt(metavar="MECHANISM", help="The gateway's own SASL login to the brokers: mechanism."),
    ] = None,
    upstream_sasl_username: Annotated[
        str | None, Opt(metavar="NAME", help="... its user name.")
    ] = None,
    upstream_sasl_password_file: Annotated[
        Path | None, Opt(metavar="FILE", help="... a file holding its password.")
    ] = None,
    tls_cert: Annotated[
        Path | None, Opt(metavar="FILE", help="TLS towards clients: certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, Opt(metavar="FILE", help="TLS towards clients: private key (PEM).")
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        Opt(metavar="FILE", help="CA that client certificates must chain to (--principal tls)."),
    ] = None,
    principal_mapping_rules: Annotated[
        str | None,
        Opt(metavar="RULES", help="Rules mapping certificate subjects to service accounts."),
    ] = None,
    upstream_tls: Annotated[
        bool | None, Opt("--upstream-tls/--no-upstream-tls", help="TLS towards the brokers.")
    ] = None,
    upstream_tls_ca: Annotated[
        Path | None, Opt(metavar="FILE", help="CA of the brokers' certificates.")
    ] = None,
    upstream_tls_cert: Annotated[
        Path | None, Opt(metavar="FILE", help="Client certificate for brokers.")
    ] = None,
    upstream_tls_key: Annotated[Path | None, Opt(metavar="FILE", help="Its private key.")] = None,
) -> None:
    """Run the metering gateway until SIGTERM or SIGINT (then flush all usage and stop)."""
    given = {name: value for name, value in locals().items() if name != "ctx"}
    options = _resolve(given, settings_from_context(ctx).gateway)
    _configure_logging(options["log_level"])
    identity_options = _identity_options(options)
    store = open_store_from_context(ctx)
    identity = gateway_identity(identity_options, store)
    settings = _gateway_settings(options, identity)
    if identity.refresher is not None:
        identity.refresher.start()
    sink_store = _open_sink_store(ctx, store)
    try:
        is_flushed = run_gateway(settings, StoreSink(sink_store))
    finally:
        if identity.refresher is not None:
            identity.refresher.stop()
    if not is_flushed:
        fail("some usage could not be written to the store (see the log)", EXIT_ERROR)


class StoreSink:
    """The store as the gateway's UsageSink; notes batches the store already had (a retry)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
        """Write one batch; a batch id already stored changes nothing."""
        if not self._store.write_usage(batch_id, records):
            log.info("event=batch_already_stored batch_id=%s", batch_id)


def _open_sink_store(ctx: typer.Context, store: Store) -> Store:
    """The store the gateway writes usage to: `store`, or for PostgreSQL a second one whose
    sessions have lock and statement timeouts (`store` also serves the migrations and the
    gateway users, which must not time out)."""
    url = settings_from_context(ctx).db_url
    bounded_url = _store_url_with_timeouts(url)
    if bounded_url == url:
        return store
    sink_store = open_store(bounded_url)
    ctx.find_root().call_on_close(sink_store.close)
    return sink_store


def _store_url_with_timeouts(url: str) -> str:
    """Add PostgreSQL's lock_timeout and statement_timeout to `url`'s libpq `options`.

    Other URLs are returned as they are; options already in the URL are kept.

    >>> _store_url_with_timeouts("sqlite:///usage.db")
    'sqlite:///usage.db'
    >>> _store_url_with_timeouts("postgresql://db/usage?options=-csearch_path%3Dgw")
    'postgresql://db/usage?options=-csearch_path%3Dgw%20-c%20lock_timeout%3D5000%20-c%20statement_timeout%3D60000'
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        return url
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    given = [value for name, value in pairs if name == "options"]
    timeouts = (
        f"-c lock_timeout={STORE_LOCK_TIMEOUT_MS} -c statement_timeout={STORE_STATEMENT_TIMEOUT_MS}"
    )
    options = " ".join([*given, timeouts])
    kept = [(name, value) for name, value in pairs if name != "options"]
    return base + "?" + urlencode([*kept, ("options", options)], quote_via=quote)


def _resolve(given: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """Command line over the `[gateway]` table over defaults.

    Raises:
        ConfigError: the table names an option that does not exist.
    """
    unknown = sorted(set(table) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"[gateway] table: unknown setting(s) {', '.join(unknown)}")
    resolved = dict(_DEFAULTS)
    for name, value in table.items():
        resolved[name] = Path(value) if name in _PATH_OPTIONS and value is not None else value
    for name, value in given.items():
        if value is not None:
            resolved[name] = value
    if not resolved["bootstrap_server"]:
        raise ConfigError("--bootstrap-server (or bootstrap_server in [gateway]) is required")
    return resolved


def _identity_options(options: dict[str, Any]) -> IdentityOptions:
    try:
        principal = PrincipalMode(options["principal"])
    except ValueError:
        raise ConfigError(
            f"--principal: {options['principal']!r} is not sasl, client-id or tls"
        ) from None
    fields = {
        name: options[name]
        for name in IdentityOptions.__dataclass_fields__
        if name != "principal" and options.get(name) is not None
    }
    return IdentityOptions(principal=principal, **fields)


def _gateway_settings(options: dict[str, Any], identity: Any) -> GatewaySettings:
    try:
        flush_interval = float(options["flush_interval"])
        max_frame_bytes = int(options["max_frame_bytes"])
        frame_timeout = float(options["frame_timeout"])
        drain_timeout = float(options["drain_timeout"])
        metrics_port = None if options["metrics_port"] is None else int(options["metrics_port"])
        if flush_interval <= 0:
            raise ConfigError(f"--flush-interval: {flush_interval} is not a positive number")
        if max_frame_bytes < 1024 * 1024:
            raise ConfigError(f"--max-frame-bytes: {max_frame_bytes} is below 1 MiB")
        if not frame_timeout > 0:
            raise ConfigError(f"--frame-timeout: {frame_timeout} is not a positive number")
        if not drain_timeout >= 0:
            raise ConfigError(f"--drain-timeout: {drain_timeout} is not zero or more")
        return GatewaySettings(
            bootstrap_servers=parse_endpoints(
                str(options["bootstrap_server"]), "--bootstrap-server"
            ),
            listen=parse_endpoint(str(options["listen"]), "--listen"),
            advertised_host=options["advertised_host"],
            cluster=str(options["cluster"]),
            principal_mode=PrincipalMode(options["principal"]),
            flush_interval_seconds=flush_interval,
            metrics_port=metrics_port,
            max_frame_bytes=max_frame_bytes,
            frame_timeout_seconds=frame_timeout,
            drain_timeout_seconds=drain_timeout,
            client_tls=identity.client_tls,
            upstream_tls=identity.upstream_tls,
            identity=identity.identity,
        )
    except GatewayError as error:
        raise ConfigError(str(error)) from None
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[gateway] settings: {error}") from None


def _configure_logging(level_name: Any) -> None:
    level = logging.getLevelName(str(level_name).upper())
    if not isinstance(level, int):
        raise ConfigError(f"--log-level: {level_name!r} is not DEBUG, INFO, WARNING or ERROR")
    logging.basicConfig(
        level=level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
