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
"""

from __future__ import annotations

import configparser
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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
    env = os.environ if environ is None else environ
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
    env = os.environ if environ is None else environ
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
            values.update({k: v.strip() for k, v in parser.items(section) if v.strip()})
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
    if not (base.startswith("https://") or base.startswith("http://")):
        raise ConfigurationError(
            f"the base URL {base!r} from {settings.sources['base_url']} must start with "
            f"https:// (e.g. {DEFAULT_BASE_URL}). {where}"
        )
    host = urlsplit(base).hostname or ""
    if base.startswith("http://") and host not in _LOOPBACK_HOSTS:
        # the key travels in a header: plain HTTP would show it to anyone on the path
        raise ConfigurationError(
            f"the base URL {base!r} from {settings.sources['base_url']} uses plain http:// to "
            f"{host or 'an unnamed host'}, which would send the API key unencrypted; use "
            f"https:// (plain http is allowed only for 127.0.0.1, ::1 and localhost, e.g. the "
            f"emulator). {where}"
        )


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _sendable(value: str) -> bool:
    """Whether an HTTP header can carry ``value`` as is (printable ASCII)."""
    return value.isascii() and value.isprintable()


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
    env = os.environ if environ is None else environ
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
            values[name], sources[name] = str(value).strip(), "argument"
        elif profile is None and env.get(env_names[name], "").strip():
            values[name], sources[name] = env[env_names[name]].strip(), env_names[name]
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
