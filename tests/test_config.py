"""Credential resolution: arguments > environment > config file, checked locally, never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from _env import clean_upstack_env

import upstack_pandas as up
from upstack_pandas._transport.config import DEFAULT_BASE_URL, resolve_settings

ARG_KEY = "upstack_argument00000000000000000000000000a1"
ENV_KEY = "upstack_environment000000000000000000000000e2"
FILE_KEY = "upstack_configfile0000000000000000000000000f3"
PROFILE_KEY = "upstack_profile0000000000000000000000000000p4"
#: A config file with every setting in its default section.
FULL_RC = f"[default]\napi_key = {FILE_KEY}\npixel_id = file-px\nbase_url = https://file.example\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = clean_upstack_env(monkeypatch, tmp_path)
    home.mkdir()
    return home


def write_rc(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_arguments_win_over_environment_and_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    write_rc(clean_env / ".upstackrc", FULL_RC)
    monkeypatch.setenv("UPSTACK_API_KEY", ENV_KEY)
    monkeypatch.setenv("UPSTACK_PIXEL_ID", "env-px")
    settings = resolve_settings(ARG_KEY, "arg-px", "https://arg.example/")
    assert (settings.api_key, settings.pixel_id, settings.base_url) == (
        ARG_KEY,
        "arg-px",
        "https://arg.example",
    )
    assert settings.sources["api_key"] == "argument"


def test_environment_wins_over_file_per_setting(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    write_rc(clean_env / ".upstackrc", FULL_RC)
    monkeypatch.setenv("UPSTACK_API_KEY", ENV_KEY)
    settings = resolve_settings()
    assert settings.api_key == ENV_KEY
    assert settings.sources["api_key"] == "UPSTACK_API_KEY"
    assert settings.pixel_id == "file-px"  # not in the environment: from the file
    assert settings.base_url == "https://file.example"
    assert ".upstackrc [default]" in settings.sources["pixel_id"]


def test_file_only_and_default_base_url(clean_env: Path) -> None:
    write_rc(clean_env / ".upstackrc", f"[default]\napi_key = {FILE_KEY}\npixel_id = px\n")
    settings = resolve_settings()
    assert (settings.api_key, settings.pixel_id) == (FILE_KEY, "px")
    assert settings.base_url == DEFAULT_BASE_URL == "https://api.upstackdata.com"


def test_config_path_override_and_profiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rc = write_rc(
        tmp_path / "elsewhere.ini",
        f"[default]\napi_key = {FILE_KEY}\npixel_id = px\n\n"
        f"[legacy]\napi_key = {PROFILE_KEY}\nbase_url = https://api2.upstackified.com\n",
    )
    monkeypatch.setenv("UPSTACK_CONFIG", str(rc))
    assert resolve_settings().api_key == FILE_KEY
    monkeypatch.setenv("UPSTACK_PROFILE", "legacy")
    settings = resolve_settings()
    assert settings.api_key == PROFILE_KEY
    assert settings.pixel_id == "px"  # falls back to [default]
    assert settings.base_url == "https://api2.upstackified.com"
    monkeypatch.setenv("UPSTACK_PROFILE", "missing")
    with pytest.raises(up.ConfigurationError, match=r"\[missing\]"):
        resolve_settings()


def test_missing_config_file_named_by_env_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UPSTACK_CONFIG", str(tmp_path / "nope.ini"))
    with pytest.raises(up.ConfigurationError, match="does not exist"):
        resolve_settings()


def test_missing_credentials_say_where_they_are_looked_for() -> None:
    with pytest.raises(up.ConfigurationError) as info:
        resolve_settings()
    text = str(info.value)
    for needle in (
        "no API key",
        "UPSTACK_API_KEY",
        "UPSTACK_PIXEL_ID",
        "UPSTACK_CONFIG",
        ".upstackrc",
    ):
        assert needle in text
    with pytest.raises(up.ConfigurationError, match="no pixel id"):
        resolve_settings(ARG_KEY)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("sk_live_abcdefghijklmnop", "does not look like an Upstack key"),
        ("upstack_", "does not look like an Upstack key"),
        ("upstack_abc def", "contains whitespace"),
    ],
)
def test_invalid_key_is_rejected_without_showing_it(bad: str, reason: str) -> None:
    with pytest.raises(up.ConfigurationError) as info:
        resolve_settings(bad, "px")
    text = str(info.value)
    assert reason in text
    assert "UPSTACK_API_KEY" in text
    if bad != "upstack_":
        assert bad not in text


def test_blank_pixel_and_bad_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTACK_PIXEL_ID", "   ")
    with pytest.raises(up.ConfigurationError, match="no pixel id"):
        resolve_settings(ARG_KEY)
    with pytest.raises(up.ConfigurationError, match="https://"):
        resolve_settings(ARG_KEY, "px", "ftp://example.com")


def test_invalid_ini_file(clean_env: Path) -> None:
    write_rc(clean_env / ".upstackrc", "api_key = no section header\n")
    with pytest.raises(up.ConfigurationError, match="not a valid INI"):
        resolve_settings()


def test_world_readable_config_file_warns(
    clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_rc(
        clean_env / ".upstackrc", f"[default]\napi_key = {FILE_KEY}\npixel_id = px\n", mode=0o644
    )
    with caplog.at_level(logging.WARNING, logger="upstack_pandas"):
        resolve_settings()
    assert "chmod 600" in caplog.text
    assert FILE_KEY not in caplog.text


def test_settings_repr_masks_the_key() -> None:
    settings = resolve_settings(ARG_KEY, "px")
    assert ARG_KEY not in repr(settings)
    assert "upstack_…00a1" in repr(settings)


@pytest.mark.parametrize(
    "base_url",
    ["http://api.upstackdata.com", "http://10.0.0.5:8080", "http://api2.upstackified.com/"],
)
def test_plain_http_to_a_remote_host_is_refused(base_url: str) -> None:
    with pytest.raises(up.ConfigurationError, match="unencrypted; use https://") as info:
        resolve_settings(api_key=ARG_KEY, pixel_id="px", base_url=base_url)
    assert ARG_KEY not in str(info.value)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9", "https://x.io"]
)
def test_plain_http_is_fine_on_loopback_and_https_anywhere(base_url: str) -> None:
    settings = resolve_settings(api_key=ARG_KEY, pixel_id="px", base_url=base_url)
    assert settings.base_url == base_url
