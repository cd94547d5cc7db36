"""API keys, scopes and pixel isolation, as the Upstack docs describe them.

Keys are kept only as SHA-256 digests and compared with :func:`hmac.compare_digest` against
every stored digest (no early exit), so neither the raw keys nor timing reveal anything.

Rules (``docs/contract.md``, "Scopes"):

- 401: missing, unknown, revoked or expired ``x-api-key``; missing ``x-pixel-id``; a pixel
  the key is not scoped to.
- 403 with ``requiredScope``: the key lacks the operation's scope. Legacy ``db_query`` and
  ``attribution_query`` expand to ``analytics:read``; ``dashboards:write`` implies
  ``dashboards:read``. The measures catalog needs no scope (any active key).
- 403: the body's ``pixelId`` differs from the header (:func:`check_body_pixel`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from upstack_pandas.emulator.engine.api_errors import ApiError

__all__ = [
    "ALL_SCOPES",
    "KeyRing",
    "KeySpec",
    "Principal",
    "check_body_pixel",
    "expand_scopes",
]

#: The modern scopes of the documented endpoints.
ALL_SCOPES: tuple[str, ...] = (
    "analytics:read",
    "dashboards:read",
    "dashboards:write",
    "account:read",
    "account:write",
    "costs:read",
    "costs:write",
    "events:write",
)
_LEGACY = {"db_query": "analytics:read", "attribution_query": "analytics:read"}
_IMPLIES = {"dashboards:write": ("dashboards:read",)}


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Return ``scopes`` with legacy names expanded and implied scopes added.

    Examples
    --------
    >>> sorted(expand_scopes(["db_query", "dashboards:write"]))
    ['analytics:read', 'dashboards:read', 'dashboards:write']
    """
    modern = {_LEGACY.get(s, s) for s in scopes}
    return frozenset(modern.union(*(_IMPLIES.get(s, ()) for s in modern)))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class KeySpec:
    """One API key the emulator accepts.

    Parameters
    ----------
    key : str
        The raw key (``upstack_...``). The emulator's key ring keeps only its hash; it is
        masked in ``repr``.
    pixel_ids : tuple of str
        Pixels the key may target (the docs: one key, one pixel; several are allowed here).
    scopes : tuple of str
        Granted scopes, modern or legacy names.
    name : str
        A label for tests and logs (``emu.keys[name]``).
    revoked : bool
        A revoked key is a 401.
    expires_at : datetime, optional
        From this instant on (timezone-aware; wall clock) the key is a 401.
    """

    key: str = field(repr=False)
    pixel_ids: tuple[str, ...]
    scopes: tuple[str, ...] = ALL_SCOPES
    name: str = ""
    revoked: bool = False
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if isinstance(self.pixel_ids, str):
            raise TypeError("pixel_ids must be a tuple of pixel ids, not a string")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name, the pixel of the request and the effective scopes."""

    key_name: str
    pixel_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class _StoredKey:
    digest: bytes
    name: str
    pixel_ids: frozenset[str]
    scopes: frozenset[str]
    revoked: bool
    expires_at: datetime | None


class KeyRing:
    """The accepted keys, hashed, and the authentication of a request's headers.

    Parameters
    ----------
    keys : iterable of KeySpec
        The accepted keys (raw keys are hashed here and not kept).
    clock : callable, optional
        Returns the current aware datetime for expiry checks (default: wall clock, UTC).
    """

    def __init__(
        self,
        keys: Iterable[KeySpec],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = tuple(
            _StoredKey(
                digest=_digest(k.key),
                name=k.name,
                pixel_ids=frozenset(k.pixel_ids),
                scopes=expand_scopes(k.scopes),
                revoked=k.revoked,
                expires_at=k.expires_at,
            )
            for k in keys
        )
        self._clock = clock

    def __len__(self) -> int:
        return len(self._keys)

    def _find(self, api_key: str) -> _StoredKey | None:
        presented = _digest(api_key)
        match = None
        for stored in self._keys:  # every digest is compared: no early exit
            if hmac.compare_digest(stored.digest, presented):
                match = stored
        return match

    def authenticate(
        self, api_key: str | None, pixel_id: str | None, required_scope: str | None
    ) -> Principal:
        """Check the request's headers and return the caller.

        Parameters
        ----------
        api_key, pixel_id : str or None
            The ``x-api-key`` and ``x-pixel-id`` header values (None when absent).
        required_scope : str or None
            The operation's scope; None means any active key.

        Returns
        -------
        Principal

        Raises
        ------
        ApiError
            401 or 403 as described in the module docstring.
        """
        if not api_key:
            raise ApiError(401, "Missing x-api-key header")
        stored = self._find(api_key)
        if stored is None:
            raise ApiError(401, "Invalid API key")
        if stored.revoked:
            raise ApiError(401, "API key has been revoked")
        if stored.expires_at is not None and self._clock() >= stored.expires_at:
            raise ApiError(401, "API key has expired")
        if not pixel_id:
            raise ApiError(401, "Missing x-pixel-id header")
        if pixel_id not in stored.pixel_ids:
            raise ApiError(401, "API key is not valid for this pixel")
        if required_scope is not None and required_scope not in stored.scopes:
            raise ApiError(
                403,
                f"API key lacks the required scope: {required_scope}",
                required_scope=required_scope,
            )
        return Principal(key_name=stored.name, pixel_id=pixel_id, scopes=stored.scopes)


def check_body_pixel(body: object, principal: Principal) -> None:
    """Raise the 403 when a JSON body carries a ``pixelId`` other than the header's.

    Bodies without a string ``pixelId`` pass (schema validation reports those).
    """
    if isinstance(body, dict):
        claimed = body.get("pixelId")
        if isinstance(claimed, str) and claimed != principal.pixel_id:
            raise ApiError(403, "pixelId in the body does not match the x-pixel-id header")
