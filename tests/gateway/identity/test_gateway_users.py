"""`chargeback gateway-users` and the identity options of `chargeback gateway`, in-process with
Typer's CliRunner; the last test logs a real client in with a user that the CLI added."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from typer.testing import CliRunner, Result

from chargeback.broker import EmbeddedBroker
from chargeback.cli import app
from chargeback.cli._gateway_users import CredentialRefresher, IdentityOptions, gateway_identity
from chargeback.errors import ConfigError
from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    CredentialSnapshot,
    SaslMode,
    ScramCredential,
    UpstreamSasl,
    make_credential,
    password_matches,
)
from chargeback.store import GatewayUserRow, StoreError, open_store
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce
from tests.gateway.harness import MemorySink
from tests.gateway.identity.certificates import ThrowawayCa, subject
from tests.gateway.identity.conftest import GatewayFactory
from tests.gateway.raw_kafka import stored_data_bytes


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'identity.db'}"


def _run(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--db", db_url, "gateway-users", *args], input=stdin)


def _stored(db_url: str, name: str) -> list[ScramCredential]:
    store = open_store(db_url)
    try:
        rows = [row for row in store.list_gateway_users() if row.name == name]
    finally:
        store.close()
    return [
        ScramCredential(r.name, r.mechanism, r.salt, r.iterations, r.stored_key, r.server_key)
        for r in rows
    ]


def test_added_user_has_salted_material_for_both_scram_mechanisms_and_no_password(
    db_url: str,
) -> None:
    # Given an empty store
    # When a user is added with the password on standard input
    result = _run(db_url, "add", "svc-orders", "--password-stdin", stdin="s3cret pw\n")
    # Then both mechanisms hold material that derives from that password, never the password
    credentials = _stored(db_url, "svc-orders")
    assert result.exit_code == 0, result.output
    assert sorted(c.mechanism for c in credentials) == ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert all(password_matches(c, "s3cret pw") for c in credentials)
    assert all(c.iterations >= 4096 and len(c.salt) >= 16 for c in credentials)
    assert all(b"s3cret" not in c.stored_key + c.server_key + c.salt for c in credentials)


def test_existing_user_is_refused_unless_replaced(db_url: str) -> None:
    # Given a user
    _run(db_url, "add", "svc", "--password-stdin", stdin="old\n")
    refused = _run(db_url, "add", "svc", "--password-stdin", stdin="other\n")
    # When it is added again with --replace
    replaced = _run(db_url, "add", "svc", "--password-stdin", "--replace", stdin="new\n")
    # Then the plain add failed with a hint, and the replacement changed the password
    credentials = _stored(db_url, "svc")
    assert refused.exit_code == 1
    assert "--replace" in refused.output
    assert replaced.exit_code == 0, replaced.output
    assert all(password_matches(c, "new") and not password_matches(c, "old") for c in credentials)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("\u202eevil", "holds the format character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("svc\u200b", "holds the format character U+200B (ZERO WIDTH SPACE)"),
        ("a\tb", "holds the control character U+0009"),
    ],
)
def test_a_user_name_that_the_store_would_refuse_as_a_service_account_is_refused(
    db_url: str, name: str, reason: str
) -> None:
    # When
    refused = _run(db_url, "add", name, "--password-stdin", stdin="secret\n")
    # Then
    assert refused.exit_code == 1
    assert refused.output == f"error: bad gateway user name {name!r}: it {reason}\n"
    assert _stored(db_url, name) == []


def test_list_shows_users_and_mechanisms_and_remove_deletes_them(db_url: str) -> None:
    # Given two users
    _run(db_url, "add", "alpha", "--password-stdin", stdin="a\n")
    _run(db_url, "add", "beta", "--password-stdin", stdin="b\n")
    # When one is removed, and an unknown one too
    removed = _run(db_url, "remove", "alpha")
    unknown = _run(db_url, "remove", "gamma")
    # Then only the other is listed, and the unknown name is an error that names it
    listed = _run(db_url, "list")
    assert removed.exit_code == 0
    assert unknown.exit_code == 1
    assert "'gamma'" in unknown.output
    assert "beta" in listed.output
    assert "SCRAM-SHA-256, SCRAM-SHA-512" in listed.output
    assert "alpha" not in listed.output


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (IdentityOptions(sasl_mode="kerberos"), "--sasl-mode"),
        (IdentityOptions(principal=PrincipalMode.TLS), "--tls-client-ca"),
        (
            IdentityOptions(principal=PrincipalMode.CLIENT_ID, sasl_mode="managed"),
            "needs --principal sasl",
        ),
        (IdentityOptions(upstream_sasl_mechanism="PLAIN"), "passthrough"),
        (IdentityOptions(tls_cert=Path("/nonexistent.crt")), "--tls-cert and --tls-key"),
        (IdentityOptions(principal_mapping_rules="RULE:broken"), "closing '/'"),
        (IdentityOptions(sasl_mode="managed"), "needs the store"),
        (IdentityOptions(oauth_claim=" "), "--oauth-claim"),
    ],
)
def test_contradicting_identity_options_are_refused_naming_the_option(
    options: IdentityOptions, problem: str
) -> None:
    # Given identity options that do not fit together
    # When the gateway's identity is built
    # Then a ConfigError names the problem
    with pytest.raises(ConfigError, match=problem):
        gateway_identity(options, store=None)


@pytest.mark.broker
def test_user_added_by_the_cli_logs_in_and_a_removed_one_no_longer_can(
    db_url: str, broker: EmbeddedBroker, gateways: GatewayFactory, topic: str
) -> None:
    # Given a user added with the CLI, and a managed gateway built from the CLI's options
    _run(db_url, "add", "svc-cli", "--password-stdin", stdin="cli-pw\n")
    store = open_store(db_url)
    built = gateway_identity(IdentityOptions(sasl_mode=SaslMode.MANAGED.value), store)
    assert built.refresher is not None
    built.refresher.start()
    sink = MemorySink()
    gateway = gateways.start(
        broker.bootstrap, sink, principal_mode=PrincipalMode.SASL, identity=built.identity
    )
    create_topic(broker.bootstrap, topic)
    login = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "svc-cli",
        "sasl.password": "cli-pw",
    }
    produce(gateway.bootstrap, topic, [b"p" * 100] * 10, **login)
    # When the user is removed and the gateway reloads its users
    _run(db_url, "remove", "svc-cli")
    built.refresher.reload()
    errors: list[KafkaError] = []
    producer = Producer(
        {"bootstrap.servers": gateway.bootstrap, **login, "error_cb": errors.append}
    )
    producer.produce(topic, b"after removal")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, "the removed user was never refused"
        producer.poll(0.1)
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    built.refresher.stop()
    store.close()
    gateway.flush()
    # Then the first login produced (and was charged), the one after removal was refused
    assert sink.bytes_by(Direction.INGRESS) == {
        ("svc-cli", topic): stored_data_bytes(broker.bootstrap, topic)
    }


class _FlakyStore:
    """Lists one gateway user, or fails like a store that is down."""

    def __init__(self, rows: list[GatewayUserRow]) -> None:
        self.rows = rows
        self.is_down = False

    def list_gateway_users(self) -> list[GatewayUserRow]:
        if self.is_down:
            raise StoreError("database is down")
        return self.rows


def test_refresher_keeps_the_previous_users_while_the_store_is_down() -> None:
    # Given a refresher that loaded one user
    credential = make_credential("svc", "SCRAM-SHA-256", "pw", iterations=4096)
    row = GatewayUserRow(
        credential.name,
        credential.mechanism,
        credential.salt,
        credential.iterations,
        credential.stored_key,
        credential.server_key,
    )
    store = _FlakyStore([row])
    refresher = CredentialRefresher(store, CredentialSnapshot(), interval_seconds=3600)  # type: ignore[arg-type]
    refresher.reload()
    store.is_down = True
    # When a reload fails
    with pytest.raises(StoreError):
        refresher.reload()
    # Then the user loaded before is still known
    assert refresher.snapshot("svc", "SCRAM-SHA-256") == credential


def test_identity_options_build_tls_contexts_and_the_upstream_login(tmp_path: Path) -> None:
    # Given certificates, and a password file with a trailing newline
    ca = ThrowawayCa(tmp_path)
    server = ca.issue("server", subject("127.0.0.1"), is_server=True)
    password_file = tmp_path / "upstream.pw"
    password_file.write_text("gw-secret\n", encoding="utf-8")
    options = IdentityOptions(
        principal=PrincipalMode.TLS,
        tls_cert=server.cert,
        tls_key=server.key,
        tls_client_ca=ca.cert,
        principal_mapping_rules="RULE:^CN=([^,]+),.*$/$1/L,DEFAULT",
        upstream_tls_ca=ca.cert,
        upstream_sasl_mechanism="scram-sha-512",
        upstream_sasl_username="gateway",
        upstream_sasl_password_file=password_file,
    )
    # When the gateway's identity is built
    built = gateway_identity(options, store=None)
    # Then both TLS sides exist, client certificates are required, and the login is complete
    assert built.client_tls is not None
    assert built.client_tls.verify_mode == ssl.CERT_REQUIRED
    assert built.upstream_tls is not None
    assert built.upstream_tls.check_hostname
    assert built.identity.upstream_sasl == UpstreamSasl("SCRAM-SHA-512", "gateway", "gw-secret")
    assert "gw-secret" not in repr(built)
    assert built.refresher is None


def _upstream_login(password_file: Path) -> UpstreamSasl | None:
    options = IdentityOptions(
        principal=PrincipalMode.CLIENT_ID,
        upstream_sasl_mechanism="PLAIN",
        upstream_sasl_username="gateway",
        upstream_sasl_password_file=password_file,
    )
    return gateway_identity(options, store=None).identity.upstream_sasl


@pytest.mark.parametrize(
    ("content", "password"),
    [
        (b"gw-secret\n", "gw-secret"),
        (b"gw-secret\r\n", "gw-secret"),
        (b"gw-secret", "gw-secret"),
        (b"gw-secret\r\nnot this line\n", "gw-secret"),
        (b" spaced secret \n", " spaced secret "),
        (b"\xef\xbb\xbfgw-secret\n", "gw-secret"),
    ],
    ids=["lf", "crlf", "no-line-end", "second-line-ignored", "spaces-kept", "bom-ignored"],
)
def test_the_upstream_password_is_the_first_line_of_its_file(
    tmp_path: Path, content: bytes, password: str
) -> None:
    # Given a password file
    password_file = tmp_path / "upstream.pw"
    password_file.write_bytes(content)
    # When the gateway's upstream login is built from it
    login = _upstream_login(password_file)
    # Then the password is the first line, without its line end
    assert login == UpstreamSasl("PLAIN", "gateway", password)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\nsecret on the second line\n", "has an empty first line"),
        (b"", "has an empty first line"),
        (b"\xff\xfe secret\n", "is not UTF-8 text"),
        (None, "cannot read"),
    ],
    ids=["empty-first-line", "empty-file", "not-utf-8", "missing"],
)
def test_a_password_file_without_a_usable_first_line_is_refused_by_name(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    # Given a password file that gives no password
    password_file = tmp_path / "upstream.pw"
    if content is not None:
        password_file.write_bytes(content)
    # When the gateway's upstream login is built from it
    # Then the option and the file are named, with the problem
    with pytest.raises(ConfigError, match=f"--upstream-sasl-password-file: .*{problem}") as error:
        _upstream_login(password_file)
    assert str(password_file) in str(error.value)
