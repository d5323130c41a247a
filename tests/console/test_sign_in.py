"""Signing in: the login form, the session cookie, CSRF, API tokens and HTTP Basic."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi import FastAPI

from chargeback.console import ConsoleSettings, create_app, hash_api_token, hash_password
from chargeback.console.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from chargeback.store import Store
from tests.console.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    ADMIN_TOKEN,
    VIEWER,
    VIEWER_PASSWORD,
    VIEWER_TOKEN,
    bearer,
    login_form_token,
    sign_in,
)


def basic(name: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def set_cookie_header(response: httpx.Response, name: str) -> str:
    headers = [value for value in response.headers.get_list("set-cookie") if value.startswith(name)]
    assert len(headers) == 1, headers
    return headers[0]


async def test_the_right_password_opens_a_session_and_the_page(client: httpx.AsyncClient) -> None:
    # Given
    form = await client.get("/login?next=/%3Ftab%3Degress")
    data = {
        "username": VIEWER,
        "password": VIEWER_PASSWORD,
        "csrf_token": login_form_token(form.text),
        "next": "/?tab=egress",
    }
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/?tab=egress"
    page = await client.get("/?tab=egress")
    assert page.status_code == 200
    assert "vic" in page.text


async def test_the_session_cookie_is_http_only_and_same_site(client: httpx.AsyncClient) -> None:
    # Given
    form = await client.get("/login")
    data = {
        "username": ADMIN,
        "password": ADMIN_PASSWORD,
        "csrf_token": login_form_token(form.text),
    }
    # When
    answer = await client.post("/login", data=data)
    # Then
    cookie = set_cookie_header(answer, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http on 127.0.0.1 by default


@pytest.mark.parametrize("console_settings", [ConsoleSettings(secure_cookies=True)])
async def test_the_session_cookie_is_secure_when_the_console_is_served_over_https(
    app: FastAPI,
) -> None:
    # Given a TLS-terminating proxy in front: the browser speaks https
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
        form = await client.get("/login")
        token = login_form_token(form.text)
        data = {"username": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token}
        # When
        answer = await client.post("/login", data=data)
    # Then
    assert "secure" in set_cookie_header(answer, SESSION_COOKIE).lower()


async def test_a_wrong_password_is_refused_with_a_message_and_no_session(
    client: httpx.AsyncClient,
) -> None:
    # Given
    form = await client.get("/login")
    data = {"username": ADMIN, "password": "not-it", "csrf_token": login_form_token(form.text)}
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.status_code == 401
    assert "Wrong user name or password." in answer.text
    assert SESSION_COOKIE not in client.cookies


async def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    # Given
    form = await client.get("/login")
    data = {"username": "mallory", "password": "x" * 12, "csrf_token": login_form_token(form.text)}
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.status_code == 401
    assert "Wrong user name or password." in answer.text


async def test_a_login_without_the_forms_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    # Given a forged form posted from elsewhere: no login CSRF cookie, a made-up token
    data = {"username": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": "forged"}
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


async def test_the_login_form_sets_its_csrf_cookie_strict(client: httpx.AsyncClient) -> None:
    # When
    form = await client.get("/login")
    # Then
    cookie = set_cookie_header(form, LOGIN_CSRF_COOKIE).lower()
    assert "samesite=strict" in cookie
    assert "httponly" in cookie


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("/?period=7D", "/?period=7D"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
async def test_after_sign_in_the_browser_goes_only_to_pages_of_this_site(
    client: httpx.AsyncClient, requested: str, expected: str
) -> None:
    # Given
    form = await client.get("/login")
    data = {
        "username": ADMIN,
        "password": ADMIN_PASSWORD,
        "csrf_token": login_form_token(form.text),
        "next": requested,
    }
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.headers["Location"] == expected


async def test_a_page_request_without_a_session_goes_to_the_login_page_and_back(
    client: httpx.AsyncClient,
) -> None:
    # When
    answer = await client.get("/?tab=ingress&period=7D")
    # Then
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login?next=%2F%3Ftab%3Dingress%26period%3D7D"


async def test_an_anonymous_form_post_goes_to_the_login_page_without_a_way_back(
    client: httpx.AsyncClient,
) -> None:
    # Given a sign-out form posted after the session had already ended
    # When
    answer = await client.post("/logout", data={"csrf_token": "stale"})
    # Then: no next=/logout, which the browser would GET after signing in (405)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login"


async def test_a_session_changes_prices_only_with_its_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    # Given
    csrf = await sign_in(client, ADMIN, ADMIN_PASSWORD)
    # When
    without = await client.put("/api/v1/pricing", json={"ingress_per_gb": "0.2"})
    wrong = await client.put(
        "/api/v1/pricing", json={"ingress_per_gb": "0.2"}, headers={"X-CSRF-Token": "x" + csrf}
    )
    right = await client.put(
        "/api/v1/pricing", json={"ingress_per_gb": "0.3"}, headers={"X-CSRF-Token": csrf}
    )
    # Then
    assert (without.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert right.json()["ingress_per_gb"] == "0.3"


async def test_a_session_reads_without_a_csrf_token(client: httpx.AsyncClient) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    # When
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 200


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    # Given
    csrf = await sign_in(client, VIEWER, VIEWER_PASSWORD)
    forged = await client.post("/logout", data={"csrf_token": "forged"})
    # When
    answer = await client.post("/logout", data={"csrf_token": csrf})
    # Then
    assert forged.status_code == 403
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login"
    assert (await client.get("/")).status_code == 303


async def test_a_changed_password_ends_existing_sessions(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    store.set_user_password(VIEWER, hash_password("a-new-password-2"))
    # When
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 401


async def test_a_removed_user_loses_sessions_and_tokens_at_once(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    store.remove_user(VIEWER)
    # When
    by_session = await client.get("/api/v1/pricing")
    by_token = await client.get("/api/v1/pricing", headers=bearer(VIEWER_TOKEN))
    # Then
    assert (by_session.status_code, by_token.status_code) == (401, 401)


async def test_a_session_cookie_edited_to_name_another_user_is_refused(
    client: httpx.AsyncClient,
) -> None:
    # Given the viewer's cookie, its payload rewritten to name the admin, signature kept
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    payload, timestamp, signature = client.cookies[SESSION_COOKIE].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims[0] == VIEWER
    forged_claims = json.dumps([ADMIN, *claims[1:]], separators=(",", ":")).encode()
    forged_payload = base64.urlsafe_b64encode(forged_claims).decode().rstrip("=")
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, f"{payload}.{timestamp}.{signature}")
    assert (await client.get("/api/v1/pricing")).status_code == 200  # the cookie as issued works
    client.cookies.set(SESSION_COOKIE, f"{forged_payload}.{timestamp}.{signature}")
    # When
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 401


@pytest.mark.parametrize("console_settings", [ConsoleSettings(session_max_age_seconds=-1)])
async def test_a_session_older_than_its_maximum_age_is_refused(client: httpx.AsyncClient) -> None:
    # Given every session is already too old
    form = await client.get("/login")
    data = {
        "username": ADMIN,
        "password": ADMIN_PASSWORD,
        "csrf_token": login_form_token(form.text),
    }
    await client.post("/login", data=data)
    # When
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 401


async def test_sessions_survive_a_restart_of_the_console(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    restarted = create_app(store)
    transport = httpx.ASGITransport(app=restarted)
    # When
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", cookies=client.cookies
    ) as again:
        answer = await again.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 200


async def test_http_basic_with_a_users_password_works_for_scripts(
    client: httpx.AsyncClient,
) -> None:
    # When
    answer = await client.get("/api/v1/pricing", headers=basic(VIEWER, VIEWER_PASSWORD))
    # Then
    assert answer.status_code == 200


async def test_http_basic_accepts_passwords_beyond_ascii(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    store.add_user("zoë", hash_password("pässwörd-ñ-1"), "viewer")
    # When
    answer = await client.get("/api/v1/pricing", headers=basic("zoë", "pässwörd-ñ-1"))
    # Then
    assert answer.status_code == 200


async def test_an_admin_script_changes_prices_with_basic_credentials_and_no_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    # When
    answer = await client.put(
        "/api/v1/pricing",
        json={"egress_per_gb": "0.07"},
        headers=basic(ADMIN, ADMIN_PASSWORD),
    )
    # Then
    assert answer.status_code == 200
    assert answer.json()["egress_per_gb"] == "0.07"


async def test_an_api_token_acts_as_its_user(client: httpx.AsyncClient) -> None:
    # When
    as_admin = await client.put(
        "/api/v1/pricing", json={"currency": "EUR"}, headers=bearer(ADMIN_TOKEN)
    )
    as_viewer = await client.put(
        "/api/v1/pricing", json={"currency": "GBP"}, headers=bearer(VIEWER_TOKEN)
    )
    # Then
    assert (as_admin.status_code, as_viewer.status_code) == (200, 403)


async def test_a_revoked_api_token_is_refused(client: httpx.AsyncClient, store: Store) -> None:
    # Given
    store.remove_api_token("viewer-script")
    # When
    answer = await client.get("/api/v1/pricing", headers=bearer(VIEWER_TOKEN))
    # Then
    assert answer.status_code == 401


async def test_the_store_keeps_only_the_hash_of_an_api_token(store: Store) -> None:
    # When
    rows = {row.name: row for row in store.list_api_tokens()}
    # Then
    assert rows["admin-script"].token_hash == hash_api_token(ADMIN_TOKEN)
    assert ADMIN_TOKEN not in rows["admin-script"].token_hash


async def test_failed_sign_ins_are_counted_in_the_metrics(client: httpx.AsyncClient) -> None:
    # Given
    form = await client.get("/login")
    data = {"username": ADMIN, "password": "nope-nope", "csrf_token": login_form_token(form.text)}
    await client.post("/login", data=data)
    # When
    metrics = await client.get("/metrics", headers=bearer(ADMIN_TOKEN))
    # Then
    assert "chargeback_console_failed_logins_total 1.0" in metrics.text


async def test_a_copied_session_cookie_stops_working_once_its_user_signs_out(
    client: httpx.AsyncClient,
) -> None:
    # Given
    csrf = await sign_in(client, VIEWER, VIEWER_PASSWORD)
    copied = client.cookies[SESSION_COOKIE]
    await client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set(SESSION_COOKIE, copied)
    # When
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 401


async def test_signing_out_ends_the_users_sessions_in_other_browsers_too(
    app: FastAPI,
) -> None:
    # Given two browsers signed in as the same user
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as laptop,
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as phone,
    ):
        csrf = await sign_in(laptop, VIEWER, VIEWER_PASSWORD)
        await sign_in(phone, VIEWER, VIEWER_PASSWORD)
        # When
        await laptop.post("/logout", data={"csrf_token": csrf})
        answer = await phone.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 401


async def test_signing_in_again_after_signing_out_works(client: httpx.AsyncClient) -> None:
    # Given
    csrf = await sign_in(client, VIEWER, VIEWER_PASSWORD)
    await client.post("/logout", data={"csrf_token": csrf})
    # When
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    answer = await client.get("/api/v1/pricing")
    # Then
    assert answer.status_code == 200
