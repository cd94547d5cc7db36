"""Profiles: ``Client(profile=)``, ``up.profiles()``, the emulator's ``.upstackrc`` and the
CLI's ``--profile`` / ``--print-upstackrc``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator, rc_env

import upstack_pandas as up
from tests._cli_emulator import printed_upstackrc
from upstack_pandas._profiles import normalise_profiles
from upstack_pandas.cli import main
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator", "rc_env"]  # fixtures used here


def test_client_reads_the_named_profile(multi_emulator: Emulator, rc_env: Path) -> None:
    for i, name in enumerate(PROFILES):
        with up.Client(profile=name, cache=False) as client:
            assert client.pixel_id == multi_emulator.pixel_ids[i]
            assert client.base_url == multi_emulator.url
            assert client.profile == name
            assert client.api_key_masked[-4:] == multi_emulator.pixel_key(client.pixel_id)[-4:]


def test_named_profile_wins_over_key_variables(
    multi_emulator: Emulator, rc_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTACK_API_KEY", multi_emulator.keys["demo"])
    monkeypatch.setenv("UPSTACK_PIXEL_ID", multi_emulator.pixel_ids[0])
    with up.Client(profile="pixel-3", cache=False) as client:
        assert client.pixel_id == multi_emulator.pixel_ids[2]
        assert client.api_key_masked[-4:] == multi_emulator.pixel_key(client.pixel_id)[-4:]
    with up.Client(cache=False) as client:  # without a profile the variables still win
        assert client.pixel_id == multi_emulator.pixel_ids[0]


def test_upstack_profile_variable_still_chooses_the_section(
    multi_emulator: Emulator, rc_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTACK_PROFILE", "pixel-2")
    with up.Client(cache=False) as client:
        assert client.pixel_id == multi_emulator.pixel_ids[1]


def test_unknown_profile_names_the_sections(rc_env: Path) -> None:
    with pytest.raises(up.ConfigurationError) as info:
        up.Client(profile="store-eu")
    message = str(info.value)
    assert "profile [store-eu] (from the profile= argument) is not in" in message
    assert "pixel-1, pixel-2, pixel-3" in message
    with pytest.raises(up.ConfigurationError, match="profile must be the name"):
        up.Client(profile="  ")


def test_profiles_lists_pixels_with_masked_keys(multi_emulator: Emulator, rc_env: Path) -> None:
    frame = up.profiles()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == PROFILES  # [default] holds only base_url: not a profile
    assert frame.index.name == "profile"
    assert list(frame.columns) == ["pixel_id", "base_url", "api_key", "source", "problem"]
    assert list(frame["pixel_id"]) == list(multi_emulator.pixel_ids)
    assert set(frame["base_url"]) == {multi_emulator.url}
    assert frame["problem"].isna().all()
    text = frame.to_string() + repr(frame) + frame.to_json()
    for pixel in multi_emulator.pixel_ids:
        key = multi_emulator.pixel_key(pixel)
        assert key not in text
        assert frame.loc[frame["pixel_id"] == pixel, "api_key"].item() == f"upstack_…{key[-4:]}"
    assert frame["source"].iloc[1] == f"{rc_env} [pixel-2]"
    assert up.profiles(as_frame=False) == PROFILES


def test_profiles_reports_a_broken_section_without_failing(
    rc_env: Path, multi_emulator: Emulator
) -> None:
    rc_env.write_text(
        rc_env.read_text() + "\n[broken]\napi_key = not-a-key\npixel_id = px\n", encoding="utf-8"
    )
    frame = up.profiles()
    assert list(frame.index) == [*PROFILES, "broken"]
    problem = frame.loc["broken", "problem"]
    assert "does not look like an Upstack key" in problem
    assert "not-a-key" not in frame.to_string()
    assert frame.loc["broken", "api_key"] is None


def test_profiles_without_a_config_file_is_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("UPSTACK_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    frame = up.profiles()
    assert frame.empty and list(frame.columns) == [
        "pixel_id", "base_url", "api_key", "source", "problem",
    ]  # fmt: skip
    assert up.profiles(as_frame=False) == []


def test_a_complete_default_section_is_a_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rc = tmp_path / "rc"
    rc.write_text(f"[default]\napi_key = upstack_{'a' * 40}\npixel_id = px-1\n", encoding="utf-8")
    rc.chmod(0o600)
    monkeypatch.setenv("UPSTACK_CONFIG", str(rc))
    assert up.profiles(as_frame=False) == ["default"]
    assert up.profiles().loc["default", "pixel_id"] == "px-1"


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ([], ValueError, "profiles is empty"),
        (["a", 3], TypeError, "must be profile names"),
        (["a", "b", "a"], ValueError, "names a more than once"),
        ([""], TypeError, "must be profile names"),
    ],
)
def test_profiles_arguments_are_checked(value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        normalise_profiles(value)  # type: ignore[arg-type]


def test_profiles_arguments_are_normalised() -> None:
    assert normalise_profiles(None) == [None]
    assert normalise_profiles("store-eu") == ["store-eu"]
    assert normalise_profiles(("a", " b ")) == ["a", "b"]


# -- emulator ----------------------------------------------------------------------------


def test_upstackrc_gives_every_pixel_its_own_key_and_data(multi_emulator: Emulator) -> None:
    text = multi_emulator.upstackrc()
    assert text.splitlines()[1:3] == ["[default]", f"base_url = {multi_emulator.url}"]
    keys = [multi_emulator.pixel_key(p) for p in multi_emulator.pixel_ids]
    assert len(set(keys)) == 3
    for i, (pixel, key) in enumerate(zip(multi_emulator.pixel_ids, keys, strict=True), 1):
        assert f"[pixel-{i}]\napi_key = {key}\npixel_id = {pixel}\n" in text
    totals = []
    for pixel, key in zip(multi_emulator.pixel_ids, keys, strict=True):
        with up.Client(key, pixel, multi_emulator.url, cache=False) as client:
            df = up.read_upstack("orders.orders", "2026-10-01", "2026-10-31", compare=False,
                                 granularity="none", client=client)  # fmt: skip
            totals.append(float(df["orders.orders"].iloc[0]))
    assert len(set(totals)) == 3  # different seeds, different data


def test_a_key_of_one_pixel_cannot_read_another(multi_emulator: Emulator) -> None:
    key = multi_emulator.pixel_key(multi_emulator.pixel_ids[2])
    with (
        up.Client(key, multi_emulator.pixel_ids[1], multi_emulator.url, cache=False) as client,
        pytest.raises(up.AuthenticationError),
    ):
        up.read_upstack("orders.orders", "2026-10-01", "2026-10-02", client=client)


def test_faults_can_target_one_pixel(multi_emulator: Emulator) -> None:
    first, second = multi_emulator.pixel_ids[:2]
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=500, pixel_id=second)
    try:
        kwargs = {"compare": False, "granularity": "none"}
        with up.Client(multi_emulator.pixel_key(first), first, multi_emulator.url,
                       cache=False) as ok:  # fmt: skip
            assert (
                len(
                    up.read_upstack(
                        "orders.orders", "2026-10-01", "2026-10-02", client=ok, **kwargs
                    )
                )
                == 1
            )
        with up.Client(multi_emulator.pixel_key(second), second, multi_emulator.url,
                       cache=False) as bad, pytest.raises(up.ServerError):  # fmt: skip
            up.read_upstack("orders.orders", "2026-10-01", "2026-10-02", client=bad, **kwargs)
        shown = multi_emulator.injector.active()[0].to_json()
        assert shown["pixelId"] == second
    finally:
        multi_emulator.clear_faults()


def test_control_endpoint_accepts_a_pixel_fault(multi_emulator: Emulator) -> None:
    import requests

    second = multi_emulator.pixel_ids[1]
    url = f"{multi_emulator.url}/_emulator/faults"
    try:
        reply = requests.post(url, json={"kind": "status", "status": 503, "pixelId": second},
                              timeout=10)  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert reply.json()["fault"]["pixelId"] == second
        assert (
            requests.post(url, json={"kind": "status", "pixelId": 3}, timeout=10).status_code == 400
        )
    finally:
        multi_emulator.clear_faults()


def test_cli_emulator_prints_a_ready_upstackrc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = ["--pixels", "3", "--now", "2026-11-26T12:00:00Z"]
    with printed_upstackrc(options, 3, tmp_path, monkeypatch) as lines:
        assert lines[0].startswith("# upstack-pandas emulator at http://127.0.0.1:")
        assert "API key:" not in "\n".join(lines)  # the banner went to stderr
        assert up.profiles(as_frame=False) == PROFILES
        with up.Client(profile="pixel-3", cache=False) as client:  # the key is accepted
            assert "orders.orders" in up.measures(client=client).index


# -- CLI query --profile -------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_query_with_one_profile(
    multi_emulator: Emulator, rc_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(
        ["query", "--profile", "pixel-2", "-m", "orders.orders", "--start", "2026-10-01", "--end",
         "2026-10-02", "--raw", "--no-compare"], capsys,
    )  # fmt: skip
    assert code == 0, err
    with up.Client(profile="pixel-2", cache=False) as client:
        expected = up.read_upstack("orders.orders", "2026-10-01", "2026-10-02", compare=False,
                                   client=client)  # fmt: skip
    assert out.strip() == expected.to_string().strip()


def test_query_with_an_unknown_profile_is_one_line(
    rc_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(["query", "--profile", "nope", "-m", "orders.orders"], capsys)
    assert code == 1 and out == ""
    assert err.strip().startswith("upstack-pandas query: error: --profile nope: profile [nope]")
    assert len(err.strip().splitlines()) == 1
    code, _, err = _cli(["query", "--profile", "pixel-1", "--emulator", "-m", "x"], capsys)
    assert code == 1 and "exclude each other" in err


def test_query_with_several_profiles_has_a_pixel_column(
    multi_emulator: Emulator, rc_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["query", "-p", "pixel-1,pixel-3", "-m", "orders.orders", "--start", "2026-10-01",
            "--end", "2026-10-02", "--no-compare", "--raw"]  # fmt: skip
    expected = up.read_upstack("orders.orders", "2026-10-01", "2026-10-02", compare=False,
                               profiles=["pixel-1", "pixel-3"])  # fmt: skip
    code, out, err = _cli(argv, capsys)
    assert code == 0, err
    assert out.strip() == expected.to_string().strip()  # the table: pixel the first level
    code, out, err = _cli([*argv, "--json"], capsys)
    assert code == 0, err
    records = json.loads(out)
    pixels = [multi_emulator.pixel_ids[0], multi_emulator.pixel_ids[2]]
    assert [r["pixel"] for r in records] == [p for p in pixels for _ in range(2)]
    assert [r["orders.orders"] for r in records] == expected["orders.orders"].tolist()
    out_file = tmp_path / "two.csv"
    code, out, err = _cli([*argv, "--out", str(out_file)], capsys)
    assert code == 0, err
    written = pd.read_csv(out_file)
    assert list(written.columns) == ["pixel", "dt", "orders.orders"]
    assert written["pixel"].tolist() == [r["pixel"] for r in records]


def test_the_other_reader_commands_take_several_profiles(
    multi_emulator: Emulator, rc_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(["attribution", "-p", "pixel-1,pixel-2", "--start", "2026-10-01",
                           "--end", "2026-10-07", "--json"], capsys)  # fmt: skip
    assert code == 0, err
    assert {r["pixel"] for r in json.loads(out)} == set(multi_emulator.pixel_ids[:2])


def test_several_profiles_are_refused_where_one_pixel_is_meant(
    rc_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(["account", "show", "--profile", "pixel-1,pixel-2"], capsys)
    assert code == 1 and out == ""
    assert "this command works on one pixel; give one profile" in err
    code, _, err = _cli(["query", "-p", "pixel-1,store-eu", "-m", "orders.orders"], capsys)
    assert code == 1 and "profile [store-eu]" in err and len(err.strip().splitlines()) == 1
