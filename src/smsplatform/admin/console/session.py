"""Who is logged in, and the CSRF token of their session.

The session lives in a signed cookie (Starlette's `SessionMiddleware`, keyed by the admin secret):
HttpOnly so that no script reads it, SameSite=Lax so that other sites' forms do not carry it, and
signed, so its content (operator name, login time, CSRF token) cannot be forged. It ends after
`IDLE_SECONDS` without a request and `MAX_SECONDS` after the login, whichever comes first.

Every form carries the session's CSRF token in a hidden field, and htmx sends it as the
`X-CSRF-Token` header: a POST without the token of its own session is refused before it runs.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from starlette.requests import Request

COOKIE = "smsplatform_console"
IDLE_SECONDS = 4 * 3600
MAX_SECONDS = 12 * 3600
# The cookie is signed again at most this often, to push the idle limit forward.
_REFRESH_SECONDS = 300
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

_OPERATOR, _LOGIN_AT, _SEEN_AT, _CSRF = "operator", "login_at", "seen_at", "csrf"


def _session(request: Request) -> dict[str, Any]:
    session: dict[str, Any] = request.session
    return session


def csrf_token(request: Request) -> str:
    """The session's token, made on first use (the login form gets one before anyone logs in)."""
    session = _session(request)
    token = session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = session[_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = _session(request).get(_CSRF)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def log_in(request: Request, operator: str) -> None:
    """A fresh session for `operator`: nothing of the anonymous one survives, the CSRF token included."""
    session = _session(request)
    session.clear()
    at = int(time.time())
    session.update({_OPERATOR: operator, _LOGIN_AT: at, _SEEN_AT: at, _CSRF: secrets.token_urlsafe(32)})


def log_out(request: Request) -> None:
    _session(request).clear()


def operator_name(request: Request) -> str | None:
    """The name the session was opened for, while it lasts; the caller still checks the operator."""
    session = _session(request)
    name, login_at, seen_at = session.get(_OPERATOR), session.get(_LOGIN_AT), session.get(_SEEN_AT)
    if not isinstance(name, str) or not isinstance(login_at, int) or not isinstance(seen_at, int):
        return None
    at = int(time.time())
    if at - login_at > MAX_SECONDS or at - seen_at > IDLE_SECONDS:
        session.clear()
        return None
    if at - seen_at > _REFRESH_SECONDS:
        session[_SEEN_AT] = at
    return name
