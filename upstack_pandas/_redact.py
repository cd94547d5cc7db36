"""The one place that decides what is secret and how it is shown.

API keys are the only secret the client handles. ``mask_key`` turns a key into its display
form (``upstack_…a1b2``); ``redact`` replaces every key this process has seen by its mask in any
text (repr, log line, exception message). ``SECRET_HEADERS`` lists the request headers whose
values are secret, compared case-insensitively. A logging filter on the ``upstack_pandas``
logger passes every record through ``redact`` as a last line of defence.

This module imports nothing from the package.
"""

from __future__ import annotations

import hashlib
import logging
import threading

__all__ = [
    "SECRET_HEADERS",
    "Secret",
    "is_secret_header",
    "key_fingerprint",
    "mask_key",
    "redact",
    "register_secret",
]

KEY_PREFIX = "upstack_"
#: Request headers that carry secrets (lower case; compare with ``is_secret_header``).
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization"})

_MIN_LENGTH_TO_SHOW_TAIL = 16
_secrets: set[str] = set()
_lock = threading.Lock()


def mask_key(key: str | None) -> str:
    """Return the display form of an API key.

    Parameters
    ----------
    key : str or None
        The API key.

    Returns
    -------
    str
        ``upstack_…`` followed by the last four characters when the key is long enough for
        that to reveal little, otherwise ``upstack_…``; ``<none>`` for a missing key.
    """
    if not key:
        return "<none>"
    if len(key) < _MIN_LENGTH_TO_SHOW_TAIL:
        return f"{KEY_PREFIX}…"
    return f"{KEY_PREFIX}…{key[-4:]}"


class Secret(str):
    """An API key that shows only its mask in ``repr``.

    It is still the key for everything else (sending it, hashing it). Header dicts and the
    local variables a verbose traceback prints (IPython ``%xmode Verbose``, loguru, pytest
    ``--showlocals``, ``traceback`` with ``capture_locals``) show ``repr``, so they show the mask.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_key(self))


def register_secret(key: str) -> None:
    """Remember ``key`` so that ``redact`` masks it wherever it appears.

    Parameters
    ----------
    key : str
        An API key used by this process.
    """
    if key:
        with _lock:
            _secrets.add(key)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` by its mask.

    Parameters
    ----------
    text : str
        Any text about to be shown (repr, log line, exception message).

    Returns
    -------
    str
        The text with secrets masked.
    """
    if not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask_key(secret))
    return text


def is_secret_header(name: str) -> bool:
    """Tell whether a request header carries a secret (case-insensitive).

    Parameters
    ----------
    name : str
        Header name, in any casing.

    Returns
    -------
    bool
    """
    return name.lower() in SECRET_HEADERS


def key_fingerprint(key: str | None) -> str:
    """Return a short, one-way fingerprint of a key (never the key).

    Used to keep caches of different keys apart without storing the key.

    Parameters
    ----------
    key : str or None
        The API key.

    Returns
    -------
    str
        16 hexadecimal characters.
    """
    digest = hashlib.sha256(b"upstack-pandas/key-fingerprint/v1\0" + (key or "").encode())
    return digest.hexdigest()[:16]


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:  # pragma: no cover - a broken record is logging's problem
                return True
            cleaned = redact(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = None
        return True


def install_log_filter(logger_name: str = "upstack_pandas") -> None:
    """Attach the redacting filter to a logger once.

    Parameters
    ----------
    logger_name : str
        The logger to protect.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


install_log_filter()
