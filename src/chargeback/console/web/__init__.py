"""The web face: the Chargeback page, the login page, templates and static files.

The page's script (static/chargeback.js) renders what `/api/v1/chargeback` returns; it
formats values for people and computes nothing.
"""

from chargeback.console.web._pages import (
    STATIC_DIR,
    TEMPLATES_DIR,
    login_router,
    page_router,
    safe_next,
)

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "login_router", "page_router", "safe_next"]
