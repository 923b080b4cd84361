"""Sessions of the logged-in screens: random tokens in memory, CSRF tokens, expiry, throttling.

A session is a 256-bit random token (the HttpOnly cookie) that maps, in this process's memory
only, to the account, its role, a CSRF token and two clocks: idle (`IDLE_S` since the last
request) and absolute (`ABSOLUTE_S` since login). Why in memory: a restart of the service logs
everyone out, and no token can be stolen from the disk. Only the token's SHA-256 is kept, so a
memory dump does not hand out live cookies either. Login attempts are throttled per client
address (`THROTTLE_COUNT` in `THROTTLE_S`) before any password is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from appliance.accounts.store import Role
from appliance.errors import ApplianceError, Reason

COOKIE = "appliance_session"
CSRF_HEADER = "x-csrf-token"
#: a session ends after this long without a request
IDLE_S = 15 * 60
#: and after this long in all (one shift)
ABSOLUTE_S = 10 * 3600
#: login attempts one client address may make in `THROTTLE_S`
THROTTLE_COUNT = 10
THROTTLE_S = 60.0


@dataclass
class Session:
    account: str
    role: Role
    csrf: str
    created: float
    last_seen: float

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The live sessions (thread-safe)."""

    def __init__(
        self,
        idle_s: float = IDLE_S,
        absolute_s: float = ABSOLUTE_S,
        clock: Callable[[], float] = time.monotonic,
        throttle_count: int = THROTTLE_COUNT,
        throttle_s: float = THROTTLE_S,
    ) -> None:
        self.idle_s = idle_s
        self.absolute_s = absolute_s
        self.clock = clock
        self.throttle_count = throttle_count
        self.throttle_s = throttle_s
        self._lock = threading.Lock()
        self._live: dict[str, Session] = {}
        self._attempts: dict[str, deque[float]] = {}

    def create(self, account: str, role: Role) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(account, role, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._expire(now)
            self._live[_key(token)] = session
        return token, session

    def get(self, token: str) -> Session:
        """The live session of `token` (its idle clock restarted); `AUTH_REQUIRED` for an
        unknown token, `SESSION_EXPIRED` for one past its idle or absolute lifetime."""
        now = self.clock()
        with self._lock:
            session = self._live.get(_key(token))
            if session is None:
                raise ApplianceError(Reason.AUTH_REQUIRED, "log in first")
            if now - session.last_seen > self.idle_s or now - session.created > self.absolute_s:
                del self._live[_key(token)]
                raise ApplianceError(Reason.SESSION_EXPIRED, "the session expired: log in again")
            session.last_seen = now
            return session

    def end(self, token: str) -> Session | None:
        with self._lock:
            return self._live.pop(_key(token), None)

    def end_account(self, account: str) -> int:
        """End every session of an account (disabled, or its password reset)."""
        with self._lock:
            keys = [k for k, s in self._live.items() if s.account == account]
            for key in keys:
                del self._live[key]
            return len(keys)

    def throttle(self, address: str) -> None:
        """Count one login attempt from `address`; `LOGIN_THROTTLED` beyond the allowance."""
        now = self.clock()
        with self._lock:
            attempts = self._attempts.setdefault(address, deque())
            while attempts and now - attempts[0] > self.throttle_s:
                attempts.popleft()
            if len(attempts) >= self.throttle_count:
                raise ApplianceError(Reason.LOGIN_THROTTLED, "too many logins: wait a minute")
            attempts.append(now)
            if len(self._attempts) > 10_000:  # bounded memory under a spray of addresses
                self._attempts = {a: q for a, q in self._attempts.items() if q}

    def _expire(self, now: float) -> None:
        stale = [
            k
            for k, s in self._live.items()
            if now - s.last_seen > self.idle_s or now - s.created > self.absolute_s
        ]
        for key in stale:
            del self._live[key]
