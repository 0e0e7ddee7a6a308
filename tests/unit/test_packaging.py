"""Packaging: an installed tawasul carries the files its code reads at run time."""

from __future__ import annotations

import configparser
from pathlib import Path

from agent_api.console_page import ASSETS

ROOT = Path(__file__).resolve().parents[2]


def _package_data(package: str) -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = config.get("options.package_data", package, fallback="")
    return [pattern.strip() for pattern in patterns.split(",") if pattern.strip()]


def test_every_console_file_is_package_data():
    package = ROOT / "agent_api"
    shipped = {found for pattern in _package_data("agent_api") for found in package.glob(pattern)}
    files = {path for path in ASSETS.iterdir() if path.is_file()}
    assert "index.html" in {path.name for path in files}
    assert files <= shipped, sorted(path.name for path in files - shipped)
