"""How one console instance behaves: defaults of the view, sessions, cookies, the chart."""

from __future__ import annotations

from dataclasses import dataclass

from chargeback.reports import DEFAULT_ZONE, PeriodName, Tab


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """Settings of `create_app`. `default_zone` is the reporting time zone (IANA name).

    `secure_cookies` marks the session cookie Secure: turn it on when the console is served
    over HTTPS (behind a TLS-terminating proxy), off for plain http://127.0.0.1.
    """

    default_zone: str = DEFAULT_ZONE
    default_tab: Tab = Tab.OVERALL
    default_period: PeriodName = PeriodName.LAST_30_DAYS
    session_max_age_seconds: int = 12 * 3600
    secure_cookies: bool = False
    chart_top_accounts: int = 8
