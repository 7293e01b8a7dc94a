"""Settings: defaults, a TOML file, `SMSPLATFORM_*` environment variables, flags; bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsplatform.config import ConfigError, Settings, as_environ, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsplatform.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.status_as_int, settings.auto_approve) == (
        "127.0.0.1",
        8080,
        False,
        False,
    )
    assert settings.effective_database_url == "sqlite:///data/smsplatform.db"


def test_environment_variables(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "SMSPLATFORM_PORT": "9090",
            "SMSPLATFORM_STATUS_AS_INT": "yes",
            "SMSPLATFORM_AUTO_APPROVE": "1",
            "SMSPLATFORM_CONFIG_POLL_SECONDS": "0.25",
            "SMSPLATFORM_DATA_DIR": str(tmp_path),
            "SMSPLATFORM_DATABASE_URL": "postgresql://u@h/db",
            "SMSPLATFORM_IP_LIMIT_PER_SECOND": "0",
            "OTHER_PORT": "1",
        }
    )
    assert (settings.port, settings.status_as_int, settings.auto_approve) == (9090, True, True)
    assert (settings.config_poll_seconds, settings.data_dir, settings.ip_limit_per_second) == (
        0.25,
        tmp_path,
        0,
    )
    assert settings.effective_database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("true", True),
        ("ON", True),
        (" Yes ", True),
        ("0", False),
        ("false", False),
        ("off", False),
    ],
)
def test_boolean_spellings(text: str, expected: bool) -> None:
    assert load_settings(environ={"SMSPLATFORM_STATUS_AS_INT": text}).status_as_int is expected


def test_toml_file_then_environment_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'host = "0.0.0.0"\nport = 8000\nauto_approve = true\nmax_body_bytes = 1024\ndata_dir = "/srv/sms"\n',
    )
    settings = load_settings(environ={"SMSPLATFORM_PORT": "8001"}, config_file=path)
    assert (settings.host, settings.port, settings.auto_approve) == ("0.0.0.0", 8001, True)
    assert (settings.max_body_bytes, settings.data_dir) == (1024, Path("/srv/sms"))


def test_config_file_named_by_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 7000\n")
    assert load_settings(environ={"SMSPLATFORM_CONFIG": str(path)}).port == 7000


def test_flags_win_when_given() -> None:
    settings = load_settings(environ={"SMSPLATFORM_PORT": "9090"}).with_overrides(port=None, host="::1")
    assert (settings.port, settings.host) == (9090, "::1")
    assert settings.with_overrides(port="7070").port == 7070


@pytest.mark.parametrize(
    "environ",
    [
        {"SMSPLATFORM_PORT": "eighty"},
        {"SMSPLATFORM_PORT": ""},
        {"SMSPLATFORM_PORT": "80.5"},
        {"SMSPLATFORM_PORT": "70000"},
        {"SMSPLATFORM_PORT": "-1"},
        {"SMSPLATFORM_STATUS_AS_INT": "maybe"},
        {"SMSPLATFORM_CONFIG_POLL_SECONDS": "soon"},
        {"SMSPLATFORM_CONFIG_POLL_SECONDS": "-1"},
        {"SMSPLATFORM_CONFIG_POLL_SECONDS": "nan"},
        {"SMSPLATFORM_MAX_BODY_BYTES": "0"},
        {"SMSPLATFORM_CALLBACK_CONCURRENCY": "0"},
        {"SMSPLATFORM_IP_LIMIT_PER_MINUTE": "-5"},
        {"SMSPLATFORM_LOG_LEVEL": "chatty"},
    ],
)
def test_bad_environment_values_are_config_errors_naming_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ)
    assert next(iter(environ)) in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "port = [1]",
        "port = true",
        "port = 80.5",
        "port = { a = 1 }",
        "data_dir = 5",
        "auto_approve = 2",
        'auto_approve = "perhaps"',
        "config_poll_seconds = [0.5]",
        "log_level = 3",
    ],
)
def test_bad_toml_values_are_config_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={}, config_file=path)
    assert text.split(" ")[0] in str(raised.value)


def test_unknown_settings_in_the_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 1\nprot = 2\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(environ={}, config_file=path)


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(environ={}, config_file=tmp_path / "missing.toml")
    with pytest.raises(ConfigError):
        load_settings(environ={}, config_file=write(tmp_path, "port = \n"))
    with pytest.raises(ConfigError):
        load_settings(environ={"SMSPLATFORM_CONFIG": str(tmp_path / "nowhere.toml")})


def test_bad_flag_values() -> None:
    with pytest.raises(ConfigError):
        Settings().with_overrides(port="x")


def test_log_levels_in_any_case() -> None:
    assert load_settings(environ={"SMSPLATFORM_LOG_LEVEL": "WARNING"}).log_level == "WARNING"
    assert load_settings(environ={"SMSPLATFORM_LOG_LEVEL": "debug"}).log_level == "debug"


def test_settings_pass_to_a_child_process_through_the_environment() -> None:
    settings = Settings(
        data_dir=Path("/var/lib/sms"),
        auto_approve=True,
        simulators=False,
        config_poll_seconds=0.25,
        role="dispatch",
        dispatch_workers=3,
        callback_retry_delays="5,10",
    )
    assert load_settings(as_environ(settings)) == settings
    assert load_settings(as_environ(Settings())) == Settings()
