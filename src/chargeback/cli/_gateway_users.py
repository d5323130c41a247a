"""`chargeback gateway-users add|remove|list`: the SASL users of gateway-managed authentication,
and the identity options of `chargeback gateway` (`IdentityOptions` -> `gateway_identity`).

Only salted SCRAM material is stored (RFC 5802: salt, iterations, StoredKey, ServerKey, for
SCRAM-SHA-256 and SCRAM-SHA-512); PLAIN logins are checked against the same material.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chargeback.cli._console import plain_console
from chargeback.cli._settings import EXIT_ERROR, clean_errors, fail, open_store_from_context
from chargeback.errors import ConfigError
from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    DEFAULT_ITERATIONS,
    DEFAULT_OAUTH_CLAIM,
    DEFAULT_RULES,
    MIN_ITERATIONS,
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    IdentityError,
    IdentitySettings,
    SaslMode,
    ScramCredential,
    UpstreamSasl,
    client_tls_context,
    make_credential,
    parse_mapping_rules,
    server_tls_context,
)
from chargeback.store import GatewayUserRow, Store
from chargeback.usage import name_fault

log = logging.getLogger(__name__)

gateway_users_app = typer.Typer(
    no_args_is_help=True, help="Manage the SASL users of gateway-managed authentication."
)

CREDENTIAL_REFRESH_SECONDS = 30.0


def register(app: typer.Typer) -> None:
    """Add the `gateway-users` command group to `app`."""
    app.add_typer(gateway_users_app, name="gateway-users")


@gateway_users_app.command("add")
@clean_errors
def add(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="SASL user name (the service account).")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    iterations: Annotated[
        int,
        typer.Option(
            "--iterations", metavar="N", min=MIN_ITERATIONS, help="PBKDF2 iterations of SCRAM."
        ),
    ] = DEFAULT_ITERATIONS,
    replace: Annotated[
        bool, typer.Option("--replace", help="Change the password of an existing user.")
    ] = False,
) -> None:
    """Add a gateway SASL user (SCRAM-SHA-256 and -512 material; PLAIN checks it too)."""
    if not name.strip() or name != name.strip():
        fail(f"bad gateway user name {name!r}: no empty names, no surrounding spaces", EXIT_ERROR)
    # The user name is the service account: the store would refuse (quarantine) its usage.
    if fault := name_fault(name):
        fail(f"bad gateway user name {name!r}: it {fault}", EXIT_ERROR)
    store = open_store_from_context(ctx)
    if store.get_gateway_user(name) is not None and not replace:
        fail(f"gateway user {name!r} exists; add --replace to change its password", EXIT_ERROR)
    password = _read_password_stdin() if password_stdin else _ask_password(name)
    for mechanism in SCRAM_MECHANISMS:
        store.put_gateway_user(_row(make_credential(name, mechanism, password, iterations)))
    typer.echo(f"{'updated' if replace else 'added'} gateway user {name!r}")


@gateway_users_app.command("remove")
@clean_errors
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="User to remove.")]
) -> None:
    """Remove a gateway SASL user; running gateways refuse its new logins within 30 seconds."""
    if not open_store_from_context(ctx).remove_gateway_user(name):
        fail(f"no gateway user {name!r} (see `chargeback gateway-users list`)", EXIT_ERROR)
    typer.echo(f"removed gateway user {name!r}")


@gateway_users_app.command("list")
@clean_errors
def list_users(ctx: typer.Context) -> None:
    """List gateway SASL users with their mechanisms and iterations (never key material)."""
    by_name: dict[str, list[GatewayUserRow]] = {}
    for row in open_store_from_context(ctx).list_gateway_users():
        by_name.setdefault(row.name, []).append(row)
    table = Table("User", "Mechanisms", "Iterations")
    for name in sorted(by_name):
        rows = sorted(by_name[name], key=lambda r: r.mechanism)
        iterations = sorted({str(r.iterations) for r in rows})
        table.add_row(name, ", ".join(r.mechanism for r in rows), ", ".join(iterations))
    plain_console().print(table)


def _row(credential: ScramCredential) -> GatewayUserRow:
    return GatewayUserRow(
        name=credential.name,
        mechanism=credential.mechanism,
        salt=credential.salt,
        iterations=credential.iterations,
        stored_key=credential.stored_key,
        server_key=credential.server_key,
    )


def _credential(row: GatewayUserRow) -> ScramCredential:
    return ScramCredential(
        name=row.name,
        mechanism=row.mechanism,
        salt=row.salt,
        iterations=row.iterations,
        stored_key=row.stored_key,
        server_key=row.server_key,
    )


def _without_line_end(line: str) -> str:
    r"""A line without its line end, "\n" or "\r\n" (spaces are kept).

    >>> _without_line_end(" pass word\r\n")
    ' pass word'
    """
    return line.removesuffix("\n").removesuffix("\r")


def _read_password_stdin() -> str:
    """The first line of standard input, without its line end (spaces are kept)."""
    password = _without_line_end(sys.stdin.readline())
    if not password:
        fail("no password on standard input", EXIT_ERROR)
    return password


def _ask_password(name: str) -> str:
    password: str = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return password


class CredentialRefresher:
    """Reloads the gateway users from the store into a `CredentialSnapshot` every
    `interval_seconds`, in a daemon thread, so that `gateway-users add|remove` reach a running
    gateway without a restart. A failed reload keeps the previous snapshot."""

    def __init__(self, store: Store, snapshot: CredentialSnapshot, interval_seconds: float) -> None:
        self._store = store
        self.snapshot = snapshot
        self._interval_seconds = interval_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="credential-refresh", daemon=True)

    def reload(self) -> None:
        """Load every gateway user now."""
        self.snapshot.replace(_credential(row) for row in self._store.list_gateway_users())

    def start(self) -> None:
        """Load now, then keep reloading in the background."""
        self.reload()
        if not len(self.snapshot):
            log.warning(
                "event=no_gateway_users reason='managed SASL refuses every login until "
                "`chargeback gateway-users add NAME` adds a user'"
            )
        self._thread.start()

    def stop(self) -> None:
        """Stop reloading."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_seconds):
            try:
                self.reload()
            except Exception as error:  # the store may be down for a while; keep serving
                log.warning("event=gateway_users_reload_failed error=%r", str(error))


@dataclass(frozen=True, kw_only=True)
class IdentityOptions:
    """The identity options of `chargeback gateway`, as given (see `gateway_identity`)."""

    principal: PrincipalMode = PrincipalMode.SASL
    sasl_mode: str = SaslMode.PASSTHROUGH.value
    oauth_claim: str = DEFAULT_OAUTH_CLAIM
    session_lifetime_ms: int = 0
    upstream_sasl_mechanism: str | None = None
    upstream_sasl_username: str | None = None
    upstream_sasl_password_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    principal_mapping_rules: str = DEFAULT_RULES
    upstream_tls: bool = False
    upstream_tls_ca: Path | None = None
    upstream_tls_cert: Path | None = None
    upstream_tls_key: Path | None = None


@dataclass(frozen=True)
class GatewayIdentity:
    """What the options make: identity settings, TLS contexts, and (managed mode) the
    refresher that the gateway command starts before and stops after the gateway."""

    identity: IdentitySettings
    client_tls: ssl.SSLContext | None
    upstream_tls: ssl.SSLContext | None
    refresher: CredentialRefresher | None


def gateway_identity(options: IdentityOptions, store: Store | None) -> GatewayIdentity:
    """Check the identity options together and build what the gateway needs.

    `store` is needed for `--sasl-mode managed` only (its gateway users).

    Raises:
        ConfigError: options that contradict each other or files that cannot be used; the
            message names the option.
    """
    try:
        sasl_mode = SaslMode(options.sasl_mode)
    except ValueError:
        raise ConfigError(
            f"--sasl-mode: {options.sasl_mode!r} is not passthrough or managed"
        ) from None
    _check_combinations(options, sasl_mode)
    try:
        rules = parse_mapping_rules(options.principal_mapping_rules)
        client_tls = _client_tls(options)
        upstream_tls = _upstream_tls(options)
    except IdentityError as error:
        raise ConfigError(str(error)) from None
    refresher = None
    snapshot = CredentialSnapshot()
    if sasl_mode is SaslMode.MANAGED and options.principal is PrincipalMode.SASL:
        if store is None:
            raise ConfigError("--sasl-mode managed needs the store (--db) for its gateway users")
        refresher = CredentialRefresher(store, snapshot, CREDENTIAL_REFRESH_SECONDS)
    identity = IdentitySettings(
        sasl_mode=sasl_mode,
        oauth_claim=options.oauth_claim,
        credentials=snapshot,
        session_lifetime_ms=options.session_lifetime_ms,
        upstream_sasl=_upstream_sasl(options),
        principal_rules=rules,
    )
    return GatewayIdentity(identity, client_tls, upstream_tls, refresher)


def _check_combinations(options: IdentityOptions, sasl_mode: SaslMode) -> None:
    if options.principal is PrincipalMode.TLS and options.tls_client_ca is None:
        raise ConfigError("--principal tls needs --tls-client-ca (client certificates are checked)")
    if sasl_mode is SaslMode.MANAGED and options.principal is not PrincipalMode.SASL:
        raise ConfigError("--sasl-mode managed needs --principal sasl")
    is_passthrough = options.principal is PrincipalMode.SASL and sasl_mode is SaslMode.PASSTHROUGH
    if is_passthrough and options.upstream_sasl_mechanism is not None:
        raise ConfigError(
            "--upstream-sasl-*: with --sasl-mode passthrough the clients log in to the brokers "
            "themselves; the gateway's own login needs --sasl-mode managed or another --principal"
        )
    if not options.oauth_claim.strip():
        raise ConfigError("--oauth-claim: empty claim name")
    if options.session_lifetime_ms < 0:
        raise ConfigError(f"--session-lifetime-ms: {options.session_lifetime_ms} is negative")


def _client_tls(options: IdentityOptions) -> ssl.SSLContext | None:
    if options.tls_cert is None and options.tls_key is None:
        if options.tls_client_ca is not None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if options.tls_cert is None or options.tls_key is None:
        raise ConfigError("--tls-cert and --tls-key go together")
    return server_tls_context(options.tls_cert, options.tls_key, options.tls_client_ca)


def _upstream_tls(options: IdentityOptions) -> ssl.SSLContext | None:
    wanted = options.upstream_tls or any(
        path is not None
        for path in (options.upstream_tls_ca, options.upstream_tls_cert, options.upstream_tls_key)
    )
    if not wanted:
        return None
    return client_tls_context(
        options.upstream_tls_ca, options.upstream_tls_cert, options.upstream_tls_key
    )


def _first_line_of(password_file: Path) -> str:
    """The password: the file's first line without its line end; later lines are ignored.

    Raises:
        ConfigError: the file cannot be read or is not UTF-8.
    """
    try:
        # newline="\n": only "\n" ends a line, so a "\r" inside the password stays in it.
        with password_file.open(encoding="utf-8-sig", newline="\n") as file:
            return _without_line_end(file.readline())
    except OSError as error:
        raise ConfigError(
            f"--upstream-sasl-password-file: cannot read {password_file}: {error}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"--upstream-sasl-password-file: {password_file} is not UTF-8 text"
        ) from None


def _upstream_sasl(options: IdentityOptions) -> UpstreamSasl | None:
    given = (
        options.upstream_sasl_mechanism,
        options.upstream_sasl_username,
        options.upstream_sasl_password_file,
    )
    if all(value is None for value in given):
        return None
    mechanism, username, password_file = given
    if mechanism is None or username is None or password_file is None:
        raise ConfigError(
            "--upstream-sasl-mechanism, --upstream-sasl-username and "
            "--upstream-sasl-password-file go together"
        )
    password = _first_line_of(password_file)
    if not password:
        raise ConfigError(f"--upstream-sasl-password-file: {password_file} has an empty first line")
    try:
        return UpstreamSasl(mechanism.upper(), username, password)
    except ValueError as error:
        raise ConfigError(f"--upstream-sasl-mechanism: {error}") from None
