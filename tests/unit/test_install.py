"""``tawasul install --root``: every process gets a hardened unit that systemd accepts."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tawasul.config import Settings
from tawasul_cli.install import Layout, install, units

PROCESSES = {
    "tawasul-asterisk.service": "asterisk -C /etc/tawasul/asterisk.conf -f -U asterisk",
    "tawasul-agi.service": "tawasul agi-server",
    "tawasul-worker.service": "tawasul worker",
    "tawasul-events.service": "tawasul events",
    "tawasul-api.service": "tawasul api",
}
"""Every process ``tawasul demo`` starts, and what its unit runs."""
PYTHON_UNITS = [
    *(name for name in PROCESSES if name != "tawasul-asterisk.service"),
    "tawasul-smpp.service",
]


def _systemd_analyze() -> str:
    """The path of systemd-analyze, or skip the test saying why it cannot run here."""
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed (scripts/setup-system.sh installs systemd)")
    probe = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"systemd-analyze cannot run here: {probe.stderr.strip()}")
    return binary


def _verify(binary: str, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "verify", *map(str, paths)], capture_output=True, text=True, check=False
    )


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Layout, list[Path]]:
    """An installation written under a temporary root."""
    layout = Layout(root=tmp_path / "root")
    return layout, install(layout, Settings())


def _directives(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines()
    return [
        (line.split("=", 1)[0], line.split("=", 1)[1])
        for line in lines
        if "=" in line and not line.startswith("#")
    ]


def test_every_process_has_a_unit_under_one_target(installed: tuple[Layout, list[Path]]) -> None:
    layout, written = installed
    names = {path.name for path in written}
    assert names == {
        *PROCESSES,
        "tawasul.target",
        "tawasul-smpp.service",
        "tawasul-backup.service",
        "tawasul-backup.timer",
    }
    target = dict(_directives(layout.at(layout.unit_dir) / "tawasul.target"))
    assert set(target["Wants"].split()) == set(PROCESSES)
    for name, command in PROCESSES.items():
        settings = dict(_directives(layout.at(layout.unit_dir) / name))
        assert command in settings["ExecStart"], name
        assert Path(settings["ExecStart"].split()[0]).is_absolute()


def test_systemd_analyze_verify_accepts_every_unit(installed: tuple[Layout, list[Path]]) -> None:
    binary = _systemd_analyze()
    _, written = installed
    done = _verify(binary, written)
    # verify only warns (exit 0) about an unknown or misspelt directive: any word is a failure.
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr
    )


def test_the_verify_check_catches_a_misspelt_hardening_option(
    installed: tuple[Layout, list[Path]],
) -> None:
    binary = _systemd_analyze()
    _, written = installed
    api = next(path for path in written if path.name == "tawasul-api.service")
    api.write_text(api.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"))
    done = _verify(binary, [api])
    assert "ProtectSytem" in done.stdout + done.stderr


def test_the_smpp_bind_is_started_only_where_a_centre_enables_it(
    installed: tuple[Layout, list[Path]],
) -> None:
    layout, _ = installed
    target = dict(_directives(layout.at(layout.unit_dir) / "tawasul.target"))
    assert "tawasul-smpp.service" not in target["Wants"]
    smpp = dict(_directives(layout.at(layout.unit_dir) / "tawasul-smpp.service"))
    assert smpp["ExecStart"].endswith("tawasul smpp") and smpp["WantedBy"] == "tawasul.target"


@pytest.mark.parametrize("name", [*PROCESSES, "tawasul-smpp.service"])
def test_each_service_restarts_logs_to_the_journal_and_is_hardened(
    installed: tuple[Layout, list[Path]], name: str
) -> None:
    layout, _ = installed
    directives = _directives(layout.at(layout.unit_dir) / name)
    settings = dict(directives)
    assert settings["Restart"] == "on-failure"
    assert settings["RestartPreventExitStatus"] == "2"  # a configuration error: no loop
    assert settings["StandardOutput"] == settings["StandardError"] == "journal"
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictSUIDSGID"):
        assert settings[option] == "yes", option
    assert settings["ProtectSystem"] == "strict"
    assert str(layout.var_dir) in settings["ReadWritePaths"].split()
    assert "CapabilityBoundingSet" in settings and "RestrictAddressFamilies" in settings
    assert settings["Environment"]  # the last one; all of them:
    environment = [value for key, value in directives if key == "Environment"]
    assert f"TAWASUL_VAR_DIR={layout.var_dir}" in environment
    assert f"TAWASUL_CONFIG={layout.config_file}" in environment


@pytest.mark.parametrize("name", PYTHON_UNITS)
def test_tawasul_processes_run_as_the_service_user_without_privileges(
    installed: tuple[Layout, list[Path]], name: str
) -> None:
    layout, _ = installed
    settings = dict(_directives(layout.at(layout.unit_dir) / name))
    assert settings["User"] == settings["Group"] == "tawasul"
    allowed = "CAP_NET_BIND_SERVICE" if name == "tawasul-api.service" else ""
    assert settings["CapabilityBoundingSet"] == allowed
    assert settings["PrivateDevices"] == "yes"
    assert settings["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"


def test_only_the_fastagi_server_may_read_asterisks_spool(
    installed: tuple[Layout, list[Path]],
) -> None:
    layout, _ = installed
    groups = {
        name: dict(_directives(layout.at(layout.unit_dir) / name)).get("SupplementaryGroups")
        for name in PYTHON_UNITS
    }
    assert groups == {name: None for name in PYTHON_UNITS} | {
        "tawasul-agi.service": "tawasul-asterisk"
    }


@pytest.mark.parametrize(
    ("names", "limit"), [(PYTHON_UNITS, 2.0), (["tawasul-asterisk.service"], 5.0)]
)
def test_systemd_rates_the_exposure_low(
    installed: tuple[Layout, list[Path]], names: list[str], limit: float
) -> None:
    binary = _systemd_analyze()
    layout, _ = installed
    for name in names:
        done = subprocess.run(
            [binary, "security", "--offline=yes", f"--threshold={limit * 10:.0f}", name],
            cwd=layout.at(layout.unit_dir),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-400:] + done.stderr


def test_install_under_a_root_touches_nothing_else(tmp_path: Path) -> None:
    try:
        pwd.getpwnam("tawasul")
        had_user = True
    except KeyError:
        had_user = False
    root = tmp_path / "image"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "tawasul_cli.main", "install", "--root", str(root)]
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=tmp_path)
    assert sorted(path.name for path in root.iterdir()) == ["etc", "var"]
    key = root / "var/lib/tawasul/secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (root / "var/lib/tawasul/asterisk/ami.secret").stat().st_mode & 0o777 == 0o600
    assert (root / "etc/tawasul").stat().st_mode & 0o777 == 0o750
    config = root / "etc/tawasul/tawasul.toml"
    config.write_text('database_url = "postgresql+psycopg://tawasul@/tawasul"\n')
    before = key.read_bytes()
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=tmp_path)
    # Run again (an upgrade): the centre's configuration and key are kept.
    assert config.read_text() == 'database_url = "postgresql+psycopg://tawasul@/tawasul"\n'
    assert key.read_bytes() == before
    try:
        pwd.getpwnam("tawasul")
        has_user = True
    except KeyError:
        has_user = False
    assert has_user == had_user


def test_a_timer_backs_up_every_night_as_the_service_user(
    installed: tuple[Layout, list[Path]],
) -> None:
    layout, _ = installed
    service = dict(_directives(layout.at(layout.unit_dir) / "tawasul-backup.service"))
    assert service["Type"] == "oneshot" and "Restart" not in service
    assert service["ExecStart"].endswith(f"tawasul backup {layout.backup_dir}")
    assert service["User"] == "tawasul" and service["ProtectSystem"] == "strict"
    assert str(layout.backup_dir) in service["ReadWritePaths"].split()
    timer = dict(_directives(layout.at(layout.unit_dir) / "tawasul-backup.timer"))
    assert timer["Persistent"] == "true" and timer["OnCalendar"].endswith("02:30:00")
    target = dict(_directives(layout.at(layout.unit_dir) / "tawasul.target"))
    assert "tawasul-backup.service" not in target["Wants"]  # a job, not a server
    assert layout.at(layout.backup_dir).stat().st_mode & 0o777 == 0o700


def test_units_follow_the_layout(tmp_path: Path) -> None:
    layout = Layout(
        root=tmp_path, var_dir=Path("/srv/tawasul"), config_dir=Path("/etc/centre"), user="ivr"
    )
    text = units(layout, Settings())["tawasul-worker.service"]
    assert "ReadWritePaths=/srv/tawasul\n" in text and "User=ivr\n" in text
    assert "TAWASUL_CONFIG=/etc/centre/tawasul.toml" in text
    asterisk = units(layout, Settings())["tawasul-asterisk.service"]
    assert "/srv/tawasul/asterisk/root /usr/sbin/asterisk" in asterisk
