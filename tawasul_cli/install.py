"""``tawasul install``: the system user, directories and systemd units of a centre's server.

One unit per process ``tawasul demo`` starts, under ``tawasul.target``:

- ``tawasul-asterisk``: Asterisk 22 from the project's chroot (root only to enter the chroot;
  Asterisk itself drops to its own user at once);
- ``tawasul-agi``: the FastAGI server; ``tawasul-worker``: the job worker (SMS, forwarding,
  callbacks); ``tawasul-events``: the AMI events listener (metrics); ``tawasul-api``: the agent
  API and console (gunicorn): each as the ``tawasul`` system user;
- ``tawasul-smpp``: the SMS centre's bind, enabled only by a centre whose SMS go over SMPP;
- ``tawasul-backup.timer``: ``tawasul backup`` every night.

Redis and PostgreSQL are Debian's own services (``redis-server``, ``postgresql``). Every unit
restarts on failure, logs to the journal and runs with the hardening its process allows
(``systemd-analyze security tawasul-api`` shows what is left). ``--root DIR`` writes the same
tree under ``DIR`` and touches nothing else (no account, no ``systemctl``): for tests and for
building an image.
"""

from __future__ import annotations

import dataclasses
import grp
import logging
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul_cli.asterisk import ASTERISK_UID, Harness, default_cache_dir

log = logging.getLogger(__name__)

USER = "tawasul"
ASTERISK_GROUP = "tawasul-asterisk"
"""The host's name for the chroot's asterisk group (gid ``ASTERISK_UID``): the FastAGI server
is in it, to read and remove what Asterisk leaves in its spool."""
TARGET = "tawasul.target"
SERVICES = ("asterisk", "agi", "worker", "events", "api")

CONFIG_TEMPLATE = """\
# tawasul's configuration (written once by `tawasul install`; see docs/deploy.md).
# Every setting is in tawasul/config.py; the environment (TAWASUL_<NAME>) wins over this file.
# The var directory is set by the units (TAWASUL_VAR_DIR), not here.

# database_url = "postgresql+psycopg://tawasul@/tawasul?host=/var/run/postgresql"
# redis_url = "redis://127.0.0.1:6379/0"

# The console and API over HTTPS (plain HTTP is allowed on 127.0.0.1 only):
# api_host = "0.0.0.0"
# api_port = 443
# tls_cert_file = "{config_dir}/tls/cert.pem"
# tls_key_file = "{config_dir}/tls/key.pem"
"""


@dataclass(frozen=True)
class Layout:
    """Where an installation puts things, as the running system sees them, and ``root``,
    the directory they are written under (``/`` for a real installation)."""

    root: Path = Path("/")
    var_dir: Path = Path("/var/lib/tawasul")
    config_dir: Path = Path("/etc/tawasul")
    cache_dir: Path = field(default_factory=default_cache_dir)
    unit_dir: Path = Path("/etc/systemd/system")
    executable: Path = field(default_factory=lambda: default_executable())
    user: str = USER
    backup_dir: Path = Path("/var/backups/tawasul")

    @property
    def real(self) -> bool:
        """True when installing onto this machine (accounts, ownership, systemctl)."""
        return self.root == Path("/")

    def at(self, path: Path) -> Path:
        """``path`` as written: under ``root``."""
        return self.root / path.relative_to("/")

    @property
    def config_file(self) -> Path:
        """The TOML every process reads (``TAWASUL_CONFIG``)."""
        return self.config_dir / "tawasul.toml"


def default_executable() -> Path:
    """The ``tawasul`` command of this installation (beside the running interpreter)."""
    beside = Path(sys.executable).parent / "tawasul"
    if beside.exists():
        return beside
    found = shutil.which("tawasul")
    return Path(found) if found else beside


_RESTART = """\
Restart=on-failure
RestartSec=2
# 2: tawasul's configuration error, said in the journal; restarting would not mend it.
RestartPreventExitStatus=2
"""

HARDENING = """\
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
"""
"""What every unit gets: nothing here stops a process that does its job."""

PYTHON_HARDENING = """\
PrivateDevices=yes
PrivateMounts=yes
ProtectProc=invisible
ProcSubset=pid
RemoveIPC=yes
UMask=0077
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
"""
"""The tawasul processes (unprivileged Python): no devices, no other users' processes, only
the sockets they use (loopback and LAN TCP/UDP, and PostgreSQL's Unix socket)."""


def _service(
    layout: Layout,
    description: str,
    exec_start: str,
    identifier: str,
    *,
    after: tuple[str, ...] = (),
    wants: tuple[str, ...] = (),
    extra: str = "",
) -> str:
    ordering = " ".join(("network-online.target", *after))
    wanted = " ".join(("network-online.target", *wants))
    return f"""\
# Written by `tawasul install`; re-run it rather than edit (or use `systemctl edit`).
[Unit]
Description={description}
After={ordering}
Wants={wanted}
PartOf={TARGET}

[Service]
Type=simple
ExecStart={exec_start}
Environment=TAWASUL_CONFIG={layout.config_file}
Environment=TAWASUL_VAR_DIR={layout.var_dir}
Environment=TAWASUL_ASTERISK_CACHE={layout.cache_dir}
Environment=PYTHONUNBUFFERED=1
{_RESTART}StandardOutput=journal
StandardError=journal
SyslogIdentifier={identifier}
{HARDENING}{extra}
[Install]
WantedBy={TARGET}
"""


def _python_service(
    layout: Layout,
    description: str,
    command: str,
    name: str,
    *,
    groups: str = "",
    capabilities: str = "",
) -> str:
    extra = (
        f"User={layout.user}\n"
        f"Group={layout.user}\n"
        + (f"SupplementaryGroups={groups}\n" if groups else "")
        + f"ReadWritePaths={layout.var_dir}\n"
        + f"CapabilityBoundingSet={capabilities}\n"
        + (f"AmbientCapabilities={capabilities}\n" if capabilities else "")
        + PYTHON_HARDENING
    )
    return _service(
        layout,
        description,
        f"{layout.executable} {command}",
        f"tawasul-{name}",
        after=("redis-server.service", "postgresql.service", "tawasul-asterisk.service"),
        wants=("redis-server.service",),
        extra=extra,
    )


def _harness(layout: Layout, settings: Settings) -> Harness:
    """The Asterisk harness of the installed instance (its chroot under the var directory)."""
    return Harness(dataclasses.replace(settings, var_dir=layout.var_dir), layout.cache_dir)


def _backup_service(layout: Layout) -> str:
    """``tawasul backup`` into the backup directory, as the service user (its timer's job)."""
    text = _python_service(
        layout,
        "tawasul: backup (database, keys, voice messages, documents)",
        f"backup {layout.backup_dir}",
        "backup",
    )
    # A one-shot job, not a server: it runs to the end, is not restarted, is not in the target.
    return (
        text.replace("Type=simple", "Type=oneshot")
        .replace(_RESTART, "")
        # The var directory too: SQLite's reader writes the WAL index beside the database.
        .replace(
            f"ReadWritePaths={layout.var_dir}\n",
            f"ReadWritePaths={layout.var_dir} {layout.backup_dir}\n",
        )
        .replace(f"PartOf={TARGET}\n", "")
        .replace(f"\n[Install]\nWantedBy={TARGET}\n", "\n")
    )


def _absolute(command: list[str]) -> str:
    """The command line with its program's full path (``chroot`` is /usr/sbin/chroot)."""
    program = shutil.which(command[0]) or command[0]
    return " ".join([program, *command[1:]])


def units(layout: Layout, settings: Settings) -> dict[str, str]:
    """Every unit file's name and text."""
    asterisk = _service(
        layout,
        "tawasul: Asterisk 22 (the project's chroot)",
        _absolute(_harness(layout, settings).foreground_command()),
        "tawasul-asterisk",
        extra=(
            # The chroot is entered as root, then Asterisk drops to its own user (-U -G):
            # root keeps only what entering, unpacking and configuring the chroot need.
            f"ExecStartPre={layout.executable} asterisk prepare\n"
            f"ExecStartPost={layout.executable} asterisk configure\n"
            f"ReadWritePaths={layout.var_dir} {layout.cache_dir}\n"
            "CapabilityBoundingSet=CAP_SYS_CHROOT CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER "
            "CAP_DAC_OVERRIDE CAP_MKNOD CAP_NET_BIND_SERVICE\n"
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n"
            "TimeoutStartSec=180\n"
            "LimitNOFILE=65536\n"
        ),
    )
    return {
        TARGET: f"""\
# Written by `tawasul install`: `systemctl start tawasul.target` starts every process.
[Unit]
Description=tawasul: IVR and call-centre backend (every process)
Wants={" ".join(f"tawasul-{name}.service" for name in SERVICES)}
After=network-online.target

[Install]
WantedBy=multi-user.target
""",
        "tawasul-asterisk.service": asterisk,
        "tawasul-backup.service": _backup_service(layout),
        "tawasul-backup.timer": f"""\
# Written by `tawasul install`: a backup every night into {layout.backup_dir} (docs/deploy.md).
[Unit]
Description=tawasul: nightly backup

[Timer]
OnCalendar=*-*-* 02:30:00
RandomizedDelaySec=15m
Persistent=true

[Install]
WantedBy=timers.target
""",
        "tawasul-agi.service": _python_service(
            layout,
            "tawasul: FastAGI server (the phone menu)",
            "agi-server",
            "agi",
            groups=ASTERISK_GROUP,
        ),
        "tawasul-worker.service": _python_service(
            layout, "tawasul: job worker (SMS, forwarding, callbacks)", "worker", "worker"
        ),
        "tawasul-events.service": _python_service(
            layout, "tawasul: AMI events listener (metrics)", "events", "events"
        ),
        # Only for a centre whose SMS go over SMPP: `systemctl enable --now tawasul-smpp`
        # (its [Install] puts it in the target); not started otherwise.
        "tawasul-smpp.service": _python_service(
            layout, "tawasul: the SMS centre's SMPP bind (sms_provider = smpp)", "smpp", "smpp"
        ),
        "tawasul-api.service": _python_service(
            layout,
            "tawasul: agent API and console (gunicorn)",
            "api",
            "api",
            # Binds 443 as the service user; nothing else.
            capabilities="CAP_NET_BIND_SERVICE",
        ),
    }


def _write(path: Path, text: str, mode: int, overwrite: bool = True) -> bool:
    if path.exists() and not overwrite:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.chmod(mode)
    partial.rename(path)
    return True


def _ids(layout: Layout) -> tuple[int, int] | None:
    if not layout.real:
        return None
    entry = pwd.getpwnam(layout.user)
    return entry.pw_uid, entry.pw_gid


def _own(path: Path, ids: tuple[int, int] | None, user_owns: bool) -> None:
    """root:tawasul for configuration, tawasul:tawasul for state (a real installation)."""
    if ids is not None:
        os.chown(path, ids[0] if user_owns else 0, ids[1])


def _accounts(layout: Layout) -> None:
    """The system user and the host's name for the chroot's asterisk group."""
    try:
        pwd.getpwnam(layout.user)
    except KeyError:
        subprocess.run(
            [
                "useradd", "--system", "--user-group",
                "--home-dir", str(layout.var_dir), "--no-create-home",
                "--shell", "/usr/sbin/nologin",
                "--comment", "tawasul IVR and call centre",
                layout.user,
            ],
            check=True,
        )  # fmt: skip
        print(f"system user {layout.user} created")
    try:
        group = grp.getgrgid(ASTERISK_UID)
    except KeyError:
        subprocess.run(
            ["groupadd", "--system", "--gid", str(ASTERISK_UID), ASTERISK_GROUP], check=True
        )
        group = grp.getgrgid(ASTERISK_UID)
    if group.gr_name != ASTERISK_GROUP:
        raise ConfigError(
            f"gid {ASTERISK_UID} belongs to {group.gr_name!r}: the chroot's asterisk group "
            "needs it (tawasul_cli.asterisk.ASTERISK_UID)"
        )
    subprocess.run(["usermod", "--append", "--groups", ASTERISK_GROUP, layout.user], check=True)


def install(layout: Layout, settings: Settings, enable: bool = True) -> list[Path]:
    """Write the units, the configuration and state directories, and (on this machine) the
    accounts, the personal-data key and the Asterisk chroot; return the units written.

    Raises:
        ConfigError: not root for a real installation, or gid ``ASTERISK_UID`` taken.
    """
    if layout.real:
        if os.geteuid() != 0:
            raise ConfigError("tawasul install: run as root (or with --root DIR to try it)")
        _accounts(layout)
    ids = _ids(layout)
    config_dir, var_dir = layout.at(layout.config_dir), layout.at(layout.var_dir)
    for directory, user_owns in ((config_dir, False), (config_dir / "tls", False)):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o750)
        _own(directory, ids, user_owns)
    var_dir.mkdir(parents=True, exist_ok=True)
    var_dir.chmod(0o750)
    _own(var_dir, ids, True)
    layout.at(layout.cache_dir).mkdir(parents=True, exist_ok=True)
    backups = layout.at(layout.backup_dir)
    backups.mkdir(parents=True, exist_ok=True)
    backups.chmod(0o700)  # the archives hold the keys
    _own(backups, ids, True)
    config = layout.at(layout.config_file)
    if _write(config, CONFIG_TEMPLATE.format(config_dir=layout.config_dir), 0o640, False):
        _own(config, ids, False)
        print(f"configuration written: {layout.config_file}")
    written = []
    for name, text in units(layout, settings).items():
        path = layout.at(layout.unit_dir) / name
        _write(path, text, 0o644)
        written.append(path)
    _state(layout, ids)
    if layout.real:
        _asterisk_root(layout, settings)
        _systemctl(enable)
    print(f"{len(written)} units in {layout.at(layout.unit_dir)}; next: docs/deploy.md")
    return written


def _state(layout: Layout, ids: tuple[int, int] | None) -> None:
    """The personal-data key and the Asterisk secrets, owned by the service user (mode 600)."""
    from tawasul_cli.commands import keygen

    var_dir = layout.at(layout.var_dir)
    state = Settings(var_dir=var_dir)
    keygen(state)
    harness = Harness(state, layout.cache_dir)
    harness.ami_secret()
    harness.sip_secret()
    for path in (
        var_dir / "secret.key",
        harness.state_dir,
        harness.state_dir / "ami.secret",
        harness.state_dir / "sip.secret",
    ):
        _own(path, ids, True)


def _asterisk_root(layout: Layout, settings: Settings) -> None:
    harness = _harness(layout, settings)
    print("preparing the Asterisk chroot (the first time builds it, about a minute)...")
    harness.ensure_root()


def _systemctl(enable: bool) -> None:
    if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
        print("systemd is not running here: units written, not enabled")
        return
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    if enable:
        subprocess.run(["systemctl", "enable", TARGET, "tawasul-backup.timer"], check=True)
        print(f"{TARGET} enabled: `systemctl start {TARGET}` once configured (docs/deploy.md)")


def main(settings: Settings, root: str | None, enable: bool) -> int:
    """``tawasul install [--root DIR] [--no-enable]``."""
    layout = Layout(root=Path(root).resolve()) if root else Layout()
    install(layout, settings, enable=enable)
    return 0
