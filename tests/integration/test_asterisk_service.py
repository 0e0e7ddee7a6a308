"""The Asterisk unit's own command lines, run in order as systemd runs them (without its
sandbox): prepare the chroot, run Asterisk in the foreground, configure it once booted, stop it
with SIGTERM. The secrets it writes go to the service user, who owns the var directory."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tawasul.config import Settings
from tawasul_cli.asterisk import Harness, default_cache_dir
from tawasul_cli.install import Layout, units
from tests.integration.support import TEST_PORT_BASE

pytestmark = pytest.mark.asterisk

PORTS = TEST_PORT_BASE + 200
SERVICE_UID = 64199
"""Stands for the ``tawasul`` user: nobody's on the test machine."""


def _unit(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_the_asterisk_unit_prepares_runs_configures_and_stops(tmp_path: Path) -> None:
    layout = Layout(
        var_dir=tmp_path / "var",
        config_dir=tmp_path / "etc",
        cache_dir=default_cache_dir(),
        unit_dir=tmp_path / "units",
    )
    layout.var_dir.mkdir()
    os.chown(layout.var_dir, SERVICE_UID, SERVICE_UID)
    layout.config_dir.mkdir()
    layout.config_file.write_text(
        f"ami_port = {PORTS + 38}\nsip_port = {PORTS + 60}\nagi_port = {PORTS + 73}\n"
    )
    unit = _unit(units(layout, Settings())["tawasul-asterisk.service"])
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        **dict(item.split("=", 1) for item in unit["Environment"]),
    }
    harness = Harness(Settings(var_dir=layout.var_dir, ami_port=PORTS + 38), layout.cache_dir)
    try:
        _start_and_stop(unit, env, harness, tmp_path)
    finally:
        Harness._remove_tree(harness.root)  # half a gigabyte: not left in pytest's tmp dirs


def _start_and_stop(
    unit: dict[str, list[str]], env: dict[str, str], harness: Harness, tmp_path: Path
) -> None:
    subprocess.run(shlex.split(unit["ExecStartPre"][0]), env=env, check=True, timeout=300)
    for secret in ("ami.secret", "sip.secret"):
        stat = (harness.state_dir / secret).stat()
        assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (
            SERVICE_UID,
            SERVICE_UID,
            0o600,
        )
    console = (tmp_path / "console.log").open("wb")
    asterisk = subprocess.Popen(
        shlex.split(unit["ExecStart"][0]), env=env, stdout=console, stderr=subprocess.STDOUT
    )
    try:
        subprocess.run(shlex.split(unit["ExecStartPost"][0]), env=env, check=True, timeout=180)
        globals_ = harness.cli("dialplan show globals")
        assert f"TAWASUL_AGI_URL=agi://127.0.0.1:{PORTS + 73}" in globals_, globals_
        assert asterisk.poll() is None
    finally:
        asterisk.terminate()  # systemd's stop: SIGTERM to the main process
        try:
            code = asterisk.wait(timeout=30)
        except subprocess.TimeoutExpired:
            asterisk.kill()
            asterisk.wait()
            pytest.fail("Asterisk did not stop on SIGTERM within 30 s")
        console.close()
    assert code in (0, -15), (tmp_path / "console.log").read_text()[-2000:]
