"""Settings: defaults, then a TOML file, then TAWASUL_* environment variables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tawasul.config import Settings, load_settings
from tawasul.errors import ConfigError
from tawasul.pii import PiiProtector, generate_key


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def empty_var(tmp_path: Path) -> dict[str, str]:
    """An environment whose var directory exists but holds no configuration file."""
    return {"TAWASUL_VAR_DIR": str(tmp_path)}


# -- defaults --------------------------------------------------------------------------------


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.var_dir == tmp_path / "var"
    assert settings.database_url == ""
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'var' / 'tawasul.db'}"
    assert settings.agi_host == "127.0.0.1"
    assert settings.agi_port == 4573
    assert settings.agi_debug is False
    assert settings.ami_host == "127.0.0.1"
    assert settings.ami_port == 5038
    assert settings.ami_username == "tawasul"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.branches == ("riyadh", "jeddah", "medina")
    assert settings.default_branch == "riyadh"
    assert settings.input_attempts == 3
    assert settings.digit_timeout_ms == 6000


def test_settings_are_frozen(empty_var):
    settings = load_settings(environ=empty_var)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.agi_port = 1  # type: ignore[misc]


def test_database_url_setting_wins_over_the_sqlite_default(empty_var):
    env = {**empty_var, "TAWASUL_DATABASE_URL": "postgresql://db/tawasul"}
    assert load_settings(environ=env).resolved_database_url() == "postgresql://db/tawasul"


# -- the TOML file ---------------------------------------------------------------------------

FULL_FILE = """
database_url = "postgresql+psycopg://tawasul@db/tawasul"
agi_host = "10.0.0.5"
agi_port = 4600
agi_debug = true
ami_port = 5039
branches = ["dammam", "abha"]
default_branch = "dammam"
input_attempts = 5
digit_timeout_ms = 4000
"""


def test_values_from_an_explicit_file(tmp_path, empty_var):
    config = write(tmp_path / "conf" / "tawasul.toml", FULL_FILE)
    settings = load_settings(config, environ=empty_var)
    assert settings.database_url == "postgresql+psycopg://tawasul@db/tawasul"
    assert settings.agi_host == "10.0.0.5"
    assert settings.agi_port == 4600
    assert settings.agi_debug is True
    assert settings.ami_port == 5039
    assert settings.branches == ("dammam", "abha")
    assert settings.default_branch == "dammam"
    assert settings.input_attempts == 5
    assert settings.digit_timeout_ms == 4000
    # Untouched settings keep their defaults.
    assert settings.ami_host == "127.0.0.1"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_file_named_by_tawasul_config(tmp_path, empty_var):
    config = write(tmp_path / "elsewhere.toml", "agi_port = 4700\n")
    settings = load_settings(environ={**empty_var, "TAWASUL_CONFIG": str(config)})
    assert settings.agi_port == 4700


def test_explicit_path_wins_over_tawasul_config(tmp_path, empty_var):
    explicit = write(tmp_path / "a.toml", "agi_port = 1111\n")
    named = write(tmp_path / "b.toml", "agi_port = 2222\n")
    settings = load_settings(explicit, environ={**empty_var, "TAWASUL_CONFIG": str(named)})
    assert settings.agi_port == 1111


def test_file_in_the_var_directory_is_found(tmp_path):
    write(tmp_path / "tawasul.toml", 'ami_username = "ivr"\n')
    settings = load_settings(environ={"TAWASUL_VAR_DIR": str(tmp_path)})
    assert settings.ami_username == "ivr"
    assert settings.var_dir == tmp_path


def test_var_dir_and_paths_from_the_file(tmp_path):
    config = write(tmp_path / "c.toml", 'var_dir = "/srv/tawasul"\nsecret_key_file = "/k"\n')
    settings = load_settings(config, environ={})
    assert settings.var_dir == Path("/srv/tawasul")
    assert isinstance(settings.var_dir, Path)
    assert settings.secret_key_file == "/k"


@pytest.mark.parametrize("via_env", [False, True])
def test_missing_named_file_raises(tmp_path, empty_var, via_env):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist"):
        if via_env:
            load_settings(environ={**empty_var, "TAWASUL_CONFIG": str(missing)})
        else:
            load_settings(missing, environ=empty_var)


def test_unknown_key_in_file_raises(tmp_path, empty_var):
    config = write(tmp_path / "t.toml", "agi_port = 4573\nagi_prot = 4574\n")
    with pytest.raises(ConfigError, match="agi_prot"):
        load_settings(config, environ=empty_var)


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ('agi_port = "four"', "agi_port"),
        ('input_attempts = "3 times"', "input_attempts"),
        ('agi_debug = "perhaps"', "agi_debug"),
        ("agi_debug = 2", "agi_debug"),
    ],
)
def test_bad_value_in_file_raises(tmp_path, empty_var, line, name):
    config = write(tmp_path / "t.toml", line + "\n")
    with pytest.raises(ConfigError, match=name):
        load_settings(config, environ=empty_var)


# -- the environment -------------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path, empty_var):
    config = write(tmp_path / "t.toml", FULL_FILE)
    env = {
        **empty_var,
        "TAWASUL_AGI_PORT": "4800",
        "TAWASUL_AGI_DEBUG": "off",
        "TAWASUL_BRANCHES": "tabuk",
    }
    settings = load_settings(config, environ=env)
    assert settings.agi_port == 4800
    assert settings.agi_debug is False
    assert settings.branches == ("tabuk",)
    # What the environment does not name still comes from the file.
    assert settings.agi_host == "10.0.0.5"
    assert settings.input_attempts == 5


def test_environment_var_dir_is_a_path(tmp_path):
    settings = load_settings(environ={"TAWASUL_VAR_DIR": str(tmp_path / "v")})
    assert settings.var_dir == tmp_path / "v"
    assert isinstance(settings.var_dir, Path)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("AGI_PORT", "4574", 4574),
        ("AGI_PORT", " 4574 ", 4574),
        ("INPUT_ATTEMPTS", "0", 0),
        ("DIGIT_TIMEOUT_MS", "-1", -1),
        ("AGI_DEBUG", "1", True),
        ("AGI_DEBUG", "true", True),
        ("AGI_DEBUG", "TRUE", True),
        ("AGI_DEBUG", "yes", True),
        ("AGI_DEBUG", " On ", True),
        ("AGI_DEBUG", "0", False),
        ("AGI_DEBUG", "false", False),
        ("AGI_DEBUG", "No", False),
        ("AGI_DEBUG", "off", False),
        ("BRANCHES", "riyadh,jeddah", ("riyadh", "jeddah")),
        ("BRANCHES", " riyadh , jeddah ,, dammam ,", ("riyadh", "jeddah", "dammam")),
        ("BRANCHES", "solo", ("solo",)),
        ("BRANCHES", "", ()),
        ("AMI_HOST", "pbx.example", "pbx.example"),
        ("AMI_SECRET", "s3cr=t,with,commas", "s3cr=t,with,commas"),
    ],
)
def test_environment_values_are_coerced(empty_var, name, raw, expected):
    settings = load_settings(environ={**empty_var, "TAWASUL_" + name: raw})
    value = getattr(settings, name.lower())
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("AGI_PORT", "abc"),
        ("AGI_PORT", ""),
        ("AGI_PORT", "45.73"),
        ("AMI_PORT", "5038x"),
        ("AGI_DEBUG", "maybe"),
        ("AGI_DEBUG", ""),
        ("AGI_DEBUG", "2"),
    ],
)
def test_bad_environment_values_raise(empty_var, name, raw):
    with pytest.raises(ConfigError, match=name.lower()):
        load_settings(environ={**empty_var, "TAWASUL_" + name: raw})


def test_environment_is_read_from_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("TAWASUL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TAWASUL_AMI_PORT", "6038")
    monkeypatch.delenv("TAWASUL_CONFIG", raising=False)
    assert load_settings().ami_port == 6038


# -- secrets ---------------------------------------------------------------------------------


def test_secret_key_setting_is_used_as_is(tmp_path):
    key = generate_key()
    settings = load_settings(environ={"TAWASUL_VAR_DIR": str(tmp_path), "TAWASUL_SECRET_KEY": key})
    assert settings.resolved_secret_key() == key


def test_missing_secret_key_fails_closed(tmp_path):
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(ConfigError, match="secret.key"):
        settings.resolved_secret_key()


def test_missing_named_secret_key_file_fails_closed(tmp_path):
    settings = Settings(var_dir=tmp_path, secret_key_file=str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="missing.key"):
        settings.resolved_secret_key()


def test_secret_key_read_from_the_default_file(tmp_path):
    key = generate_key()
    write(tmp_path / "secret.key", key + "\n")
    settings = Settings(var_dir=tmp_path)
    assert settings.resolved_secret_key() == key
    PiiProtector.from_master_key(settings.resolved_secret_key())


def test_secret_key_read_from_the_named_file(tmp_path):
    key = generate_key()
    keyfile = write(tmp_path / "keys" / "pii.key", f"  {key}\r\n")
    write(tmp_path / "secret.key", generate_key())  # must not be the one read
    env = {"TAWASUL_VAR_DIR": str(tmp_path), "TAWASUL_SECRET_KEY_FILE": str(keyfile)}
    assert load_settings(environ=env).resolved_secret_key() == key


def test_secret_key_setting_wins_over_the_file(tmp_path):
    key = generate_key()
    write(tmp_path / "secret.key", generate_key())
    assert Settings(var_dir=tmp_path, secret_key=key).resolved_secret_key() == key


def test_empty_secret_key_file_does_not_give_a_usable_key(tmp_path):
    write(tmp_path / "secret.key", "\n")
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(ConfigError):
        PiiProtector.from_master_key(settings.resolved_secret_key())


def test_ami_secret_from_setting_file_or_missing(tmp_path):
    assert Settings(var_dir=tmp_path, ami_secret="x").resolved_ami_secret() == "x"
    with pytest.raises(ConfigError, match="ami.secret"):
        Settings(var_dir=tmp_path).resolved_ami_secret()
    write(tmp_path / "asterisk" / "ami.secret", "from-harness\n")
    assert Settings(var_dir=tmp_path).resolved_ami_secret() == "from-harness"
