"""Files Asterisk writes, seen from this process (Asterisk may run in a chroot)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from tawasul.config import Settings

SPOOL = PurePosixPath("/var/spool/asterisk/tawasul")
"""Where the dialplan and AGI scripts have Asterisk write recordings and faxes (its view)."""


def host_path(settings: Settings, asterisk_path: str | PurePosixPath) -> Path:
    """Translate a path as Asterisk sees it into the path this process opens.

    Raises:
        ValueError: for a relative path or one that climbs out with "..".
    """
    path = PurePosixPath(asterisk_path)
    if not path.is_absolute() or ".." in path.parts:
        raise ValueError(f"not a safe Asterisk path: {asterisk_path}")
    if not settings.asterisk_root:
        return Path(path)
    return Path(settings.asterisk_root) / path.relative_to("/")
