"""Where connection settings come from: arguments, environment, then a config file.

Each setting is looked up on its own, first match wins:

1. the ``Client(api_key=..., pixel_id=..., base_url=...)`` arguments;
2. the environment: ``UPSTACK_API_KEY``, ``UPSTACK_PIXEL_ID``, ``UPSTACK_BASE_URL``;
3. the config file ``~/.upstackrc`` (another path with ``UPSTACK_CONFIG``), an INI file whose
   ``[default]`` section holds ``api_key``, ``pixel_id`` and ``base_url``; with
   ``UPSTACK_PROFILE=name`` the ``[name]`` section is read, falling back to ``[default]`` for
   keys it lacks.

The base URL defaults to ``https://api.upstackdata.com``. Values are checked locally (a key starts
with ``upstack_``, the pixel id is not empty, the base URL is http(s)); problems raise
``ConfigurationError`` saying where credentials are looked for, and never show the key.

The base URL is read by the same parser the transport connects with (urllib3's ``parse_url``,
which ``requests`` uses to prepare every request), so the host judged here is the host dialled.
A base URL is refused outright when its authority could be read two ways: user info (``@``),
backslashes, percent signs, whitespace or control characters, a query or a fragment. Plain
``http://`` is allowed only to a loopback host (``127.0.0.1``, ``::1``, ``localhost``).

No frame of this module holds the key as a plain ``str`` or the environment as a mapping whose
``repr`` shows it: the key is a ``Secret`` from the moment it is read, and the environment is
seen through ``_Environ`` (whose ``repr`` names no value), so a traceback printed with its local
variables shows neither.
"""

from __future__ import annotations

import configparser
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upstack_pandas._errors import ConfigurationError
from upstack_pandas._redact import KEY_PREFIX, Secret, mask_key

__all__ = ["DEFAULT_BASE_URL", "Settings", "config_path", "resolve_settings"]

DEFAULT_BASE_URL = "https://api.upstackdata.com"
ENV_API_KEY = "UPSTACK_API_KEY"
ENV_PIXEL_ID = "UPSTACK_PIXEL_ID"
ENV_BASE_URL = "UPSTACK_BASE_URL"
ENV_CONFIG = "UPSTACK_CONFIG"
ENV_PROFILE = "UPSTACK_PROFILE"
DEFAULT_SECTION = "default"

logger = logging.getLogger("upstack_pandas")


class _Environ(Mapping[str, str]):
    """A read-only view of the environment whose ``repr`` shows no value (it may hold the key)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getitem__(self, name: str) -> str:
        value = self._environ[name]
        return Secret(value) if name == ENV_API_KEY else value

    def __iter__(self) -> Any:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)

    def __repr__(self) -> str:
        return f"<environment: {len(self._environ)} variables>"


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    if isinstance(environ, _Environ):
        return environ
    return _Environ(os.environ if environ is None else environ)


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings and where each came from.

    Attributes
    ----------
    api_key, pixel_id, base_url : str
        The values.
    sources : mapping of str to str
        For each of ``api_key``, ``pixel_id``, ``base_url``: ``"argument"``, the environment
        variable, ``"<config file> [section]"`` or ``"default"``.
    """

    api_key: str
    pixel_id: str
    base_url: str
    sources: Mapping[str, str]

    def __repr__(self) -> str:
        return (
            f"Settings(api_key={mask_key(self.api_key)!r}, pixel_id={self.pixel_id!r}, "
            f"base_url={self.base_url!r})"
        )


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the config file path: ``$UPSTACK_CONFIG`` or ``~/.upstackrc``.

    Parameters
    ----------
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    pathlib.Path
    """
    env = _environ(environ)
    override = env.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    return Path("~/.upstackrc").expanduser()


def where_credentials_are_looked_for(environ: Mapping[str, str] | None = None) -> str:
    """Describe the lookup order, for error messages.

    Parameters
    ----------
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    str
    """
    env = _environ(environ)
    profile = env.get(ENV_PROFILE) or DEFAULT_SECTION
    return (
        "upstack-pandas looks for credentials in this order: "
        "(1) Client(api_key=..., pixel_id=..., base_url=...) arguments; "
        f"(2) the environment variables {ENV_API_KEY}, {ENV_PIXEL_ID}, {ENV_BASE_URL}; "
        f"(3) the config file {config_path(env)} (set {ENV_CONFIG} to use another file), "
        f"section [{profile}] (choose one with {ENV_PROFILE}) with keys api_key, pixel_id, "
        "base_url. See docs/configuration.md."
    )


def _read_config_file(
    env: Mapping[str, str], profile_arg: str | None = None
) -> tuple[dict[str, str], str]:
    path = config_path(env)
    profile = profile_arg or env.get(ENV_PROFILE) or DEFAULT_SECTION
    origin = "the profile= argument" if profile_arg else ENV_PROFILE
    if not path.is_file():
        if env.get(ENV_CONFIG) or env.get(ENV_PROFILE) or profile_arg:
            raise ConfigurationError(
                f"config file {path} does not exist. {where_credentials_are_looked_for(env)}"
            )
        return {}, str(path)
    parser = configparser.ConfigParser(interpolation=None, default_section="__no_defaults__")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(
            f"config file {path} is not a valid INI file ({type(exc).__name__}). "
            f"{where_credentials_are_looked_for(env)}"
        ) from None
    if profile != DEFAULT_SECTION and not parser.has_section(profile):
        raise ConfigurationError(
            f"profile [{profile}] (from {origin}) is not in {path}; sections there: "
            f"{', '.join(parser.sections()) or 'none'}"
        )
    values: dict[str, str] = {}
    for section in (DEFAULT_SECTION, profile):
        if parser.has_section(section):
            for name, raw in parser.items(section):
                if raw.strip():
                    values[name] = Secret(raw.strip()) if name == "api_key" else raw.strip()
    del parser  # its sections hold the key as a plain string
    _warn_if_readable_by_others(path, values)
    label = f"{path} [{profile}]"
    return values, label


def _warn_if_readable_by_others(path: Path, values: Mapping[str, str]) -> None:
    if "api_key" not in values or os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:  # pragma: no cover - raced away
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logger.warning(
            "config file %s holds an API key and is readable by other users; run: chmod 600 %s",
            path,
            path,
        )


def _validate(settings: Settings, env: Mapping[str, str]) -> None:
    where = where_credentials_are_looked_for(env)
    key, pixel, base = settings.api_key, settings.pixel_id, settings.base_url
    if not key:
        raise ConfigurationError(f"no API key found. {where}")
    if not key.startswith(KEY_PREFIX) or len(key) <= len(KEY_PREFIX):
        raise ConfigurationError(
            f"the API key from {settings.sources['api_key']} does not look like an Upstack key "
            f"(keys start with {KEY_PREFIX!r}; got {len(key)} characters). {where}"
        )
    if any(ch.isspace() for ch in key):
        raise ConfigurationError(
            f"the API key from {settings.sources['api_key']} contains whitespace. {where}"
        )
    if not _sendable(key):
        # e.g. a zero-width space or a typographic dash pasted with it: HTTP headers cannot
        # carry it, and the encoding error would hold the whole key
        raise ConfigurationError(
            f"the API key from {settings.sources['api_key']} contains characters that are not "
            f"printable ASCII (pasted from a document?); copy it again. {where}"
        )
    if not pixel:
        raise ConfigurationError(f"no pixel id found. {where}")
    if not _sendable(pixel):
        raise ConfigurationError(
            f"the pixel id {pixel!r} from {settings.sources['pixel_id']} contains characters "
            f"that are not printable ASCII; copy it again. {where}"
        )
    problem = base_url_problem(base)
    if problem:
        raise ConfigurationError(
            f"the base URL {base!r} from {settings.sources['base_url']} {problem}. {where}"
        )


#: Characters that make a URL's authority ambiguous between parsers (user info, escapes,
#: Windows-style separators, whitespace): a base URL holding any of them is refused.
_AMBIGUOUS = frozenset("@\\%^`{}|<>\"'")


def dialled_host(base_url: str) -> str:
    """The host a request to ``base_url`` connects to, as urllib3 (and so requests) reads it.

    Parameters
    ----------
    base_url : str

    Returns
    -------
    str
        Lower-case host name or address, without the brackets of an IPv6 literal ("" if none).

    Raises
    ------
    ValueError
        When urllib3 cannot parse the URL.
    """
    from urllib3.exceptions import LocationParseError  # here: importing the package loads no
    from urllib3.util import parse_url  # HTTP stack (tests/test_import_cost.py)

    try:
        parsed = parse_url(base_url)
    except LocationParseError as exc:
        raise ValueError(str(exc)) from None
    return (parsed.host or "").strip("[]").lower()


def base_url_problem(base: str) -> str | None:
    """What is wrong with a base URL, or None when the client may send the key to it.

    Parameters
    ----------
    base : str
        The base URL, without a trailing slash.

    Returns
    -------
    str or None
        The reason (finishing "the base URL ... <reason>"), or None.
    """
    if not (base.startswith("https://") or base.startswith("http://")):
        return f"must start with https:// (e.g. {DEFAULT_BASE_URL})"
    bad = sorted({ch for ch in base if ch in _AMBIGUOUS or not ch.isprintable() or ch.isspace()})
    if bad or not base.isascii():
        shown = ", ".join(repr(ch) for ch in bad) or "non-ASCII characters"
        return (
            f"contains {shown}, which different URL parsers read differently (user info, "
            "escapes, separators); give scheme, host, optional port and path only, e.g. "
            f"{DEFAULT_BASE_URL} (write an international domain in its xn-- form)"
        )
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parsed = parse_url(base)
    except LocationParseError:
        return f"cannot be parsed as a URL; use e.g. {DEFAULT_BASE_URL}"
    if parsed.auth or parsed.query is not None or parsed.fragment is not None:
        return f"must not hold user info, a query or a fragment; use e.g. {DEFAULT_BASE_URL}"
    host = dialled_host(base)
    if not host:
        return f"names no host; use e.g. {DEFAULT_BASE_URL}"
    if parsed.scheme == "http" and host not in _LOOPBACK_HOSTS:
        # the key travels in a header: plain HTTP would show it to anyone on the path
        return (
            f"uses plain http:// to {host}, which would send the API key unencrypted; use "
            "https:// (plain http is allowed only for 127.0.0.1, ::1 and localhost, e.g. the "
            "emulator)"
        )
    return None


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _sendable(value: str) -> bool:
    """Whether an HTTP header can carry ``value`` as is (printable ASCII)."""
    return value.isascii() and value.isprintable()


def _secret_if_key(name: str, value: str) -> str:
    return Secret(value) if name == "api_key" else value


def resolve_settings(
    api_key: str | None = None,
    pixel_id: str | None = None,
    base_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    profile: str | None = None,
) -> Settings:
    """Resolve and validate connection settings.

    Parameters
    ----------
    api_key, pixel_id, base_url : str, optional
        Explicit values; they win over the environment and the config file.
    environ : mapping, optional
        Environment to read (default ``os.environ``); for tests.
    profile : str, optional
        Read this section of the config file (over ``[default]``) instead of
        ``$UPSTACK_PROFILE``'s; a named profile also wins over the ``UPSTACK_API_KEY``,
        ``UPSTACK_PIXEL_ID`` and ``UPSTACK_BASE_URL`` variables (only explicit values win
        over it), so a key of one pixel is never paired with another pixel's id.

    Returns
    -------
    Settings

    Raises
    ------
    ConfigurationError
        When a value is missing or invalid; the message lists where credentials are looked for.
    """
    env = _environ(environ)
    api_key = Secret(api_key) if isinstance(api_key, str) else api_key
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        raise ConfigurationError(
            f"profile must be the name of a section of {config_path(env)}, not {profile!r}"
        )
    explicit = {"api_key": api_key, "pixel_id": pixel_id, "base_url": base_url}
    env_names = {"api_key": ENV_API_KEY, "pixel_id": ENV_PIXEL_ID, "base_url": ENV_BASE_URL}
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, value in explicit.items():
        if value is not None and str(value).strip():
            values[name], sources[name] = _secret_if_key(name, str(value).strip()), "argument"
        elif profile is None and env.get(env_names[name], "").strip():
            found = _secret_if_key(name, env[env_names[name]].strip())
            values[name], sources[name] = found, env_names[name]
    if len(values) < 3:
        file_values, label = _read_config_file(env, profile.strip() if profile else None)
        for name in explicit:
            if name not in values and file_values.get(name):
                values[name], sources[name] = file_values[name], label
    if "base_url" not in values:
        values["base_url"], sources["base_url"] = DEFAULT_BASE_URL, "default"
    settings = Settings(
        api_key=Secret(values.get("api_key", "")),
        pixel_id=values.get("pixel_id", ""),
        base_url=values["base_url"].rstrip("/"),
        sources={**{"api_key": "nowhere", "pixel_id": "nowhere"}, **sources},
    )
    _validate(settings, env)
    return settings
