"""Connection settings: flag > environment > project file > default."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import UsageError
from reconciler.settings import (
    API_VERSION_SUPPORT,
    API_VERSIONS,
    ApiSettings,
    check_api_url,
    check_api_version,
    resolve_api_settings,
    version_warning,
)

TOKEN = "pat-na1-settings-test"


def _resolve(environ: dict[str, str], **flags: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "api_url": None,
        "api_version": None,
        "token_file": None,
        "rate_limit": None,
        "batch_size": None,
        "concurrency": None,
    }
    values.update(flags)
    return resolve_api_settings(environ=environ, **values)


def test_defaults() -> None:
    """With only a token, every setting has the documented default."""
    settings = _resolve({"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert settings == ApiSettings(
        api_url="https://api.hubapi.com",
        api_version="2026-03",
        token=TOKEN,
        rate_limit=None,
        batch_size=100,
        concurrency=32,
    )


def test_project_file_beats_the_default() -> None:
    """portal.api_version of the project file replaces the default version."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
    assert _resolve(env, project_api_version="v4").api_version == "v4"


def test_environment_beats_the_project_file() -> None:
    """HSPREFS_API_VERSION and HSPREFS_API_URL win over the project file and the default."""
    env = {
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HSPREFS_API_VERSION": "2026-09",
        "HSPREFS_API_URL": "http://127.0.0.1:8765/",
    }
    settings = _resolve(env, project_api_version="v4")
    assert (settings.api_version, settings.api_url) == ("2026-09", "http://127.0.0.1:8765")


def test_flags_beat_the_environment() -> None:
    """--api-version and --api-url win over the environment."""
    env = {
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HSPREFS_API_VERSION": "2026-09",
        "HSPREFS_API_URL": "http://127.0.0.1:8765",
    }
    settings = _resolve(
        env, api_version="v4", api_url="https://eu1.example.test", project_api_version="2026-03"
    )
    assert (settings.api_version, settings.api_url) == ("v4", "https://eu1.example.test")


def test_token_file_beats_the_environment(tmp_path: Path) -> None:
    """--token-file is read instead of HUBSPOT_ACCESS_TOKEN, trimmed of its line end."""
    path = tmp_path / "token"
    path.write_text("pat-na1-from-the-file\n", encoding="utf-8")
    settings = _resolve({"HUBSPOT_ACCESS_TOKEN": TOKEN}, token_file=path)
    assert settings.token == "pat-na1-from-the-file"


def test_numeric_flags_are_kept() -> None:
    """--rate-limit, --batch-size and --concurrency reach the settings as given."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
    settings = _resolve(env, rate_limit=50, batch_size=25, concurrency=3)
    assert (settings.rate_limit, settings.batch_size, settings.concurrency) == (50, 25, 3)


def test_an_unsupported_version_from_the_environment_is_refused() -> None:
    """A version no flag would accept is refused from the environment too, naming the choices."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_VERSION": "v3"}
    with pytest.raises(UsageError) as caught:
        _resolve(env)
    assert caught.value.one_line() == (
        "unsupported API version 'v3' in HSPREFS_API_VERSION (set HSPREFS_API_VERSION to one "
        "of 2026-03, v4, 2026-09, or unset it)"
    )


def test_plain_http_from_the_environment_is_refused() -> None:
    """HSPREFS_API_URL gets the same loopback-only rule for plain http as the flag."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_URL": "http://api.hubapi.com"}
    with pytest.raises(UsageError) as caught:
        _resolve(env)
    assert caught.value.one_line() == (
        "refusing plain http:// to 'api.hubapi.com' in HSPREFS_API_URL (use https://, or "
        "http:// only to a loopback address such as 127.0.0.1)"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8", "http://127.9.9.9", "http://localhost:8", "http://[::1]:8"]
)
def test_loopback_urls_are_accepted(url: str) -> None:
    """Plain http to localhost and loopback IP literals is fine (the emulator)."""
    assert check_api_url(url) == url


def test_repr_hides_the_token() -> None:
    """ApiSettings' repr never shows the token."""
    settings = _resolve({"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


def test_whitespace_around_a_url_is_removed() -> None:
    """A stray space or line end around the URL (an environment variable) is dropped."""
    assert check_api_url(" http://127.0.0.1:8765/ \n", "HSPREFS_API_URL") == (
        "http://127.0.0.1:8765"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:87 65", "https://api.hub\tapi.com", "https://x\x00.com"]
)
def test_whitespace_or_control_inside_a_url_is_refused(url: str) -> None:
    """A space or control character inside the URL is refused, naming the variable."""
    with pytest.raises(UsageError) as caught:
        check_api_url(url, "HSPREFS_API_URL")
    assert caught.value.one_line() == (
        "the API URL in HSPREFS_API_URL holds a space or a control character (give a URL "
        "such as https://api.hubapi.com, without spaces)"
    )


def test_a_refused_url_names_its_source() -> None:
    """Plain http to a remote host names the flag or variable it came from."""
    with pytest.raises(UsageError) as caught:
        check_api_url("http://api.example.com", "--api-url")
    assert caught.value.one_line() == (
        "refusing plain http:// to 'api.example.com' in --api-url (use https://, or http:// "
        "only to a loopback address such as 127.0.0.1)"
    )


def test_an_invalid_url_names_its_source() -> None:
    """A URL that is not http(s) names where it came from."""
    with pytest.raises(UsageError) as caught:
        check_api_url("ftp://example.com", "HSPREFS_API_URL")
    assert caught.value.one_line() == (
        "invalid API URL 'ftp://example.com' in HSPREFS_API_URL (give a URL such as "
        "https://api.hubapi.com)"
    )


def test_a_bad_version_names_the_variable() -> None:
    """An unsupported version says which variable holds it and what to set it to."""
    with pytest.raises(UsageError) as caught:
        check_api_version("junk", "HSPREFS_API_VERSION")
    assert caught.value.one_line() == (
        "unsupported API version 'junk' in HSPREFS_API_VERSION (set HSPREFS_API_VERSION to "
        "one of 2026-03, v4, 2026-09, or unset it)"
    )


def test_whitespace_around_a_version_is_removed() -> None:
    """' v4\\n' from the environment is v4."""
    assert check_api_version(" v4\n", "HSPREFS_API_VERSION") == "v4"


def test_junk_version_in_the_environment_names_the_variable() -> None:
    """HSPREFS_API_VERSION=junk is refused naming HSPREFS_API_VERSION and the choices."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_VERSION": "junk"}
    with pytest.raises(UsageError) as caught:
        _resolve(env)
    assert caught.value.one_line() == (
        "unsupported API version 'junk' in HSPREFS_API_VERSION (set HSPREFS_API_VERSION to "
        "one of 2026-03, v4, 2026-09, or unset it)"
    )


def test_spaces_around_environment_values_are_dropped() -> None:
    """' http://...' and 'v4 ' from the environment work as the values they hold."""
    env = {
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HSPREFS_API_URL": " http://127.0.0.1:8765/\n",
        "HSPREFS_API_VERSION": " v4 ",
    }
    settings = _resolve(env)
    assert (settings.api_url, settings.api_version) == ("http://127.0.0.1:8765", "v4")


def test_a_blank_version_variable_counts_as_unset() -> None:
    """HSPREFS_API_VERSION of only spaces leaves the project file's version in force."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_VERSION": "  "}
    assert _resolve(env, project_api_version="2026-09").api_version == "2026-09"


def test_a_space_inside_the_url_names_the_variable() -> None:
    """A space inside HSPREFS_API_URL is refused naming the variable."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_URL": "https://api.hub api.com"}
    with pytest.raises(UsageError) as caught:
        _resolve(env)
    assert caught.value.one_line() == (
        "the API URL in HSPREFS_API_URL holds a space or a control character (give a URL "
        "such as https://api.hubapi.com, without spaces)"
    )


def test_api_mode_resolves_flag_then_environment_then_project_then_default() -> None:
    """--api-mode beats HSPREFS_API_MODE, which beats portal.api_mode, which beats auto."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
    assert _resolve(env).api_mode == "auto"
    assert _resolve(env, project_api_mode="single").api_mode == "single"
    with_env = {**env, "HSPREFS_API_MODE": " Batch "}
    assert _resolve(with_env, project_api_mode="single").api_mode == "batch"
    assert _resolve(with_env, api_mode="single", project_api_mode="batch").api_mode == "single"
    assert _resolve({**env, "HSPREFS_API_MODE": " "}, project_api_mode="single").api_mode == (
        "single"
    )


def test_an_unknown_api_mode_from_the_environment_is_refused_naming_it() -> None:
    """HSPREFS_API_MODE=bulk is one line naming the variable and the choices."""
    with pytest.raises(UsageError) as caught:
        _resolve({"HUBSPOT_ACCESS_TOKEN": TOKEN, "HSPREFS_API_MODE": "bulk"})
    assert caught.value.one_line() == (
        "unknown API mode 'bulk' in HSPREFS_API_MODE (set HSPREFS_API_MODE to one of auto, "
        "batch, single, or unset it)"
    )


@pytest.mark.parametrize(
    ("version", "today", "expected"),
    [
        ("2026-03", date(2026, 12, 2), None),
        (
            "2026-03",
            date(2027, 6, 10),
            "warning: HubSpot supports API version 2026-03 until 2027-09-01 (83 days left); "
            "move to --api-version 2026-09",
        ),
        (
            "v4",
            date(2027, 3, 29),
            "warning: HubSpot supports API version v4 until 2027-03-30 (1 day left); move to "
            "--api-version 2026-09",
        ),
        (
            "v4",
            date(2027, 3, 30),
            "warning: HubSpot's support for API version v4 ended on 2027-03-30; use "
            "--api-version 2026-09",
        ),
        ("2026-09", date(2027, 12, 8), None),
    ],
)
def test_version_warning_within_90_days_of_the_end_of_support(
    version: str, today: date, expected: str | None
) -> None:
    """A version within 90 days of its end of support, or past it, gets a warning."""
    assert version_warning(version, today) == expected


def test_every_api_version_has_a_support_entry() -> None:
    """The table the warning and docs/client.md use covers every accepted version."""
    assert set(API_VERSION_SUPPORT) == set(API_VERSIONS)
