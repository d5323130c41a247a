"""Password guessing is slowed down: a few wrong passwords lock that user name for a while."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI

from chargeback.console._throttle import MAX_FAILURES, WINDOW_SECONDS, SignInThrottle
from tests.console.conftest import ADMIN, ADMIN_PASSWORD, VIEWER, VIEWER_PASSWORD, login_form_token


class FakeClock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now_seconds = 1000.0

    def __call__(self) -> float:
        return self.now_seconds


@pytest.fixture
def clock(app: FastAPI) -> FakeClock:
    fake = FakeClock()
    app.state.authenticator.throttle = SignInThrottle(clock=fake)
    return fake


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def fail_basic(client: httpx.AsyncClient, name: str, times: int) -> None:
    for _ in range(times):
        answer = await client.get("/api/v1/pricing", headers=basic(name, "wrong-password"))
        assert answer.status_code == 401


async def test_too_many_wrong_passwords_lock_the_user_even_with_the_right_one(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Given
    await fail_basic(client, VIEWER, MAX_FAILURES)
    # When
    answer = await client.get("/api/v1/pricing", headers=basic(VIEWER, VIEWER_PASSWORD))
    # Then
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == str(int(WINDOW_SECONDS))
    assert answer.json()["detail"] == (
        f"too many failed sign-ins for user 'vic': try again in {int(WINDOW_SECONDS)} s"
    )


async def test_the_lock_ends_when_the_oldest_failure_is_old_enough(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Given
    await fail_basic(client, VIEWER, MAX_FAILURES)
    clock.now_seconds += WINDOW_SECONDS
    # When
    answer = await client.get("/api/v1/pricing", headers=basic(VIEWER, VIEWER_PASSWORD))
    # Then
    assert answer.status_code == 200


async def test_a_right_password_forgets_earlier_failures(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Given
    await fail_basic(client, VIEWER, MAX_FAILURES - 1)
    assert (await client.get("/api/v1/pricing", headers=basic(VIEWER, VIEWER_PASSWORD))).is_success
    await fail_basic(client, VIEWER, MAX_FAILURES - 1)
    # When
    answer = await client.get("/api/v1/pricing", headers=basic(VIEWER, VIEWER_PASSWORD))
    # Then
    assert answer.status_code == 200


async def test_one_users_failures_do_not_lock_another(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Given
    await fail_basic(client, VIEWER, MAX_FAILURES)
    # When
    answer = await client.get("/api/v1/pricing", headers=basic(ADMIN, ADMIN_PASSWORD))
    # Then
    assert answer.status_code == 200


async def test_the_login_page_says_the_user_is_locked_and_for_how_long(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Given
    await fail_basic(client, ADMIN, MAX_FAILURES)
    clock.now_seconds += 60
    form = await client.get("/login")
    data = {
        "username": ADMIN,
        "password": ADMIN_PASSWORD,
        "csrf_token": login_form_token(form.text),
    }
    # When
    answer = await client.post("/login", data=data)
    # Then
    assert answer.status_code == 429
    seconds_left = int(WINDOW_SECONDS) - 60
    assert f"Too many failed sign-ins for user &#39;ada&#39;: try again in {seconds_left} s." in (
        answer.text
    )


async def test_unknown_user_names_are_never_tracked(
    client: httpx.AsyncClient, clock: FakeClock, app: FastAPI
) -> None:
    # When
    await fail_basic(client, "nobody", MAX_FAILURES + 1)
    # Then: still a plain 401, and nothing kept for a name that has no account
    assert app.state.authenticator.throttle.retry_after_seconds("nobody") == 0.0
    answer = await client.get("/api/v1/pricing", headers=basic("nobody", "x"))
    assert answer.status_code == 401
