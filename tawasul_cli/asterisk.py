"""The project's own Asterisk 22: a Debian-unstable chroot, built once, cached, started on demand.

Debian 12 has no Asterisk; Debian unstable has 22. ``build`` makes a minbase chroot with
debootstrap, installs Asterisk from Debian's packages and keeps a tarball of it in a cache outside
the repository (restored in seconds next time). ``up`` installs the project's ``dialplans/`` and a
generated ``manager.conf`` (loopback only, random secret, least privilege) into
``/etc/tawasul`` inside the chroot, installs the built prompts, starts Asterisk and waits until it
is fully booted. ``down`` stops it cleanly. Nothing of Asterisk is committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr.paths import SPOOL
from tawasul.config import Settings
from tawasul.trunks import (
    FAX,
    CarrierPlan,
    NumberFormat,
    Trunk,
    carrier_plan,
    dialled_forms,
    format_number,
)

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm")
RECIPE_VERSION = "2"
"""Bump when the recipe changes, so a stale cached tarball is not reused."""
CONFIG_DIR = "/etc/tawasul"
"""Inside the chroot: where Asterisk reads the project's configuration (``asterisk -C``)."""
BOOT_TIMEOUT_S = 90
ASTERISK_UID = 64101
"""The asterisk user's id inside the chroot, chosen so that it is nobody's on the host (Debian
gives it a low system id, which on the host may belong to postgres or redis)."""
ACCOUNTS_FILE = "pjsip_accounts.conf"
"""The endpoints generated from the staff accounts (``providers.sip_endpoints``)."""
DESTINATIONS_FILE = "extensions_staff.conf"
"""What the staff's phones may call or transfer to, generated with the endpoints."""
PHONES_INCLUDE = "\n#include pjsip_phones.conf\n"
AGENTS_CONTEXT = "tawasul-agents"
"""Where the staff's phones' own calls and blind transfers land (dialplans/agents.conf)."""
SPOOL_MODE = 0o770
"""The project's spool directory: Asterisk and its group only (recordings are in clear there)."""


TLS_DIR = f"{CONFIG_DIR}/tls"
"""Inside the chroot: Asterisk's copy of the certificate and key (``tls_cert_file``...)."""


WSS_TRANSPORT = """
[transport-wss]
type = transport
protocol = wss
; Required and ignored: a secure websocket arrives through Asterisk's HTTPS server.
bind = 0.0.0.0
"""
"""The secure websocket transport of the console's phone, with a configured TLS pair."""


def http_tls_section(settings: Settings) -> str:
    """The TLS lines of http.conf's ``[general]``: Asterisk's HTTPS server, whose secure
    websocket (``/ws``) the console's WebRTC phone uses, with the configured pair.

    It listens where the API does (``api_host``) on ``asterisk_tls_port``; the certificate and
    key are the copies :meth:`Harness.install_config` puts under ``TLS_DIR`` in the chroot
    (Asterisk cannot see the host's files). Empty without a configured pair: no HTTPS then.
    """
    if not settings.tls:
        return ""
    host = settings.api_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return (
        "tlsenable = yes\n"
        f"tlsbindaddr = {host}:{settings.asterisk_tls_port}\n"
        f"tlscertfile = {TLS_DIR}/cert.pem\n"
        f"tlsprivatekey = {TLS_DIR}/key.pem\n"
    )


class HarnessError(RuntimeError):
    """The chroot could not be built, or Asterisk could not be started or stopped."""


def default_cache_dir() -> Path:
    """The tarball cache, outside the repository so a fresh clone (CI) reuses it."""
    return Path(os.environ.get("TAWASUL_ASTERISK_CACHE", "/var/cache/tawasul"))


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    log.debug("running %s", " ".join(command))
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload]


@contextlib.contextmanager
def _mounted_proc(root: Path) -> Iterator[None]:
    # /proc is needed only while apt runs: mount it for that and take it away again, so that
    # nothing under the chroot points outside it when it is archived or deleted.
    target = root / "proc"
    target.mkdir(exist_ok=True)
    _run(["mount", "-t", "proc", "proc", str(target)])
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@dataclass
class Harness:
    """One Asterisk instance: a chroot under ``<var_dir>/asterisk`` and its ports."""

    settings: Settings
    cache_dir: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> Harness:
        """Return the harness of the instance these settings describe."""
        return cls(settings, default_cache_dir())

    @property
    def state_dir(self) -> Path:
        """Where this instance keeps its chroot, secret, pid and console log."""
        return self.settings.var_dir / "asterisk"

    @property
    def root(self) -> Path:
        """The chroot directory."""
        return self.state_dir / "root"

    @property
    def tarball(self) -> Path:
        """The cached archive of a finished chroot."""
        return self.cache_dir / f"asterisk-sid-r{RECIPE_VERSION}.tar.gz"

    @property
    def pid_file(self) -> Path:
        """The pid of the running Asterisk (the chroot process)."""
        return self.state_dir / "asterisk.pid"

    @property
    def console_log(self) -> Path:
        """Asterisk's standard output and error."""
        return self.state_dir / "console.log"

    # -- building --------------------------------------------------------------------------

    def ensure_root(self) -> None:
        """Make sure the chroot exists: restore the cached tarball, or build it (about a minute)."""
        marker = self.root / ".tawasul-recipe"
        if (self.root / "usr/sbin/asterisk").exists():
            if marker.exists() and marker.read_text().strip() == RECIPE_VERSION:
                return
            # Extracted from an older recipe: replace it (it is not running, up() checked).
            self._remove_tree(self.root)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.tarball.exists():
                self._build_tarball()
        self._restore()

    def _build_tarball(self) -> None:
        if shutil.which("debootstrap") is None:
            raise HarnessError("debootstrap is not installed (apt-get install debootstrap)")
        work = self.cache_dir / "build-root"
        self._remove_tree(work)
        started = time.monotonic()
        print("building the Asterisk chroot (Debian unstable, about a minute)...", flush=True)
        _run(["debootstrap", "--variant=minbase", "sid", str(work)], stdout=subprocess.DEVNULL)
        # The mirror serves a frozen snapshot whose Release file is past its Valid-Until date.
        (work / "etc/apt/apt.conf.d/99tawasul").write_text(
            'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n'
        )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with _mounted_proc(work):
            _run(["chroot", str(work), "apt-get", "update", "-qq"], env=env)
            _run(
                ["chroot", str(work), "apt-get", "install", "-y", "-qq", *PACKAGES],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            _run(["chroot", str(work), "apt-get", "clean"], env=env)
            uid = str(ASTERISK_UID)
            _run(["chroot", str(work), "groupmod", "-g", uid, "asterisk"])
            _run(["chroot", str(work), "usermod", "-u", uid, "-g", uid, "asterisk"])
            # usermod moved the home directory's ownership; the rest is chowned by hand.
            _run(
                [
                    "chroot",
                    str(work),
                    "find",
                    "/",
                    "-xdev",
                    "(",
                    "-user",
                    "asterisk",
                    "-o",
                    "-nouser",
                    "-o",
                    "-nogroup",
                    ")",
                    "-exec",
                    "chown",
                    "-h",
                    f"{uid}:{uid}",
                    "{}",
                    "+",
                ]
            )
        partial = self.tarball.with_suffix(".partial")
        _run(["tar", "-C", str(work), "-czf", str(partial), "--one-file-system", "."])
        partial.rename(self.tarball)
        self._remove_tree(work)
        print(f"chroot built in {time.monotonic() - started:.0f}s: {self.tarball}", flush=True)

    def _restore(self) -> None:
        partial = self.state_dir / "root.partial"
        self._remove_tree(partial)
        partial.mkdir(parents=True)
        _run(["tar", "-C", str(partial), "-xzf", str(self.tarball)])
        (partial / ".tawasul-recipe").write_text(RECIPE_VERSION + "\n")
        partial.rename(self.root)

    @staticmethod
    def _remove_tree(path: Path) -> None:
        if not path.exists():
            return
        proc = path / "proc"
        if proc.is_mount():
            subprocess.run(["umount", "-l", str(proc)], check=False)
        # --one-file-system: never follow a mount point out of the chroot.
        _run(["rm", "-rf", "--one-file-system", str(path)])

    # -- configuration ---------------------------------------------------------------------

    def ami_secret(self) -> str:
        """Return this instance's AMI secret, creating it on first use."""
        return self._secret("ami.secret", 24)

    def _secret(self, name: str, nbytes: int) -> str:
        # Created once, readable by this user only (O_EXCL: two starts never write two).
        path = self.state_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(nbytes))
        return path.read_text().strip()

    def _asterisk_ids(self) -> tuple[int, int]:
        for line in (self.root / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise HarnessError("no asterisk user in the chroot")

    def install_config(self) -> None:
        """Write the project's configuration and prompts into the chroot."""
        uid, gid = self._asterisk_ids()
        etc = self.root / CONFIG_DIR.lstrip("/")
        # The endpoints generated from the accounts outlive a reinstall of the configuration:
        # they are the database's, rewritten by the API (tawasul.sip_accounts), not the repo's.
        kept = {
            ACCOUNTS_FILE: "; no accounts yet\n",
            DESTINATIONS_FILE: "[tawasul-staff-destinations]\n",
        }
        for name in kept:
            if (etc / name).exists():
                kept[name] = (etc / name).read_text()
        if etc.exists():
            shutil.rmtree(etc)
        etc.mkdir(parents=True)
        for name, text in kept.items():
            (etc / name).write_text(text)
        for source in sorted((REPO / "dialplans").glob("*.conf")):
            shutil.copyfile(source, etc / source.name)
        self._install_hosts()
        # The instance's globals go into the installed file too: a dialplan reload (the staff
        # phones' publisher reloads pbx_config) re-reads [globals], and would otherwise send the
        # IVR's AGI calls back to the default port.
        extensions = etc / "extensions.conf"
        extensions.write_text(self._with_runtime_globals(extensions.read_text()))
        (etc / "queues.conf").write_text(self._queues_conf())
        (etc / "asterisk.conf").write_text(self._asterisk_conf())
        (etc / "manager.conf").write_text(self._manager_conf())
        plan = carrier_plan(self.settings)
        pjsip = self._pjsip_conf() + trunks_pjsip_conf(self.settings, plan) + PHONES_INCLUDE
        (etc / "pjsip.conf").write_text(pjsip)
        (etc / "trunks.conf").write_text(trunks_dialplan(plan))
        (etc / "pjsip_phones.conf").write_text(self._pjsip_phones_conf())
        (etc / "http.conf").write_text(self._http_conf())
        if self.settings.tls:
            # Asterisk reads them after it dropped to its own user: the group may read the key.
            tls = self.root / TLS_DIR.lstrip("/")
            tls.mkdir()
            shutil.copyfile(self.settings.tls_cert_file, tls / "cert.pem")
            shutil.copyfile(self.settings.tls_key_file, tls / "key.pem")
        for path in [etc, *etc.rglob("*")]:
            os.chown(path, 0, gid)
            path.chmod(0o750 if path.is_dir() else 0o640)
        for name in (
            "run/asterisk",
            "var/log/asterisk",
            "var/spool/asterisk",
            "var/spool/asterisk/tawasul",
            "var/lib/asterisk",
        ):
            directory = self.root / name
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, uid, gid)
        # Asterisk writes a caller's message here in clear, world-readable (0644) while it
        # records: no one but Asterisk and its group may look in. The FastAGI server reads
        # the WAVs and removes them (and the fax TIFFs), so its user (root here; a service
        # user in the asterisk group elsewhere) needs the group's read and write.
        (self.root / SPOOL.relative_to("/")).chmod(SPOOL_MODE)
        self._install_sounds()

    def _install_hosts(self) -> None:
        # Asterisk looks up its own host name to learn its address (acl.c ast_find_ourip, on
        # every reload of the staff phones), and asks DNS for A.ROOT-SERVERS.NET when that
        # fails: the chroot's /etc/hosts names this host, so neither leaves the machine.
        hosts = self.root / "etc" / "hosts"
        hosts.write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{socket.gethostname()}\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
        )
        hosts.chmod(0o644)

    def _install_sounds(self) -> None:
        build = REPO / "audio" / "build"
        if not build.exists():
            raise HarnessError("prompts are not built: run `tawasul prompts build` first")
        sounds = self.root / "usr/share/asterisk/sounds"
        for language_dir in build.iterdir():
            if not language_dir.is_dir():
                continue
            target = self._inside(sounds / language_dir.name)
            shutil.copytree(language_dir, target, dirs_exist_ok=True)

    def _inside(self, path: Path) -> Path:
        """Follow symlinks as the chroot sees them (absolute targets are under the root)."""
        for _ in range(10):
            if not path.is_symlink():
                return path
            target = Path(os.readlink(path))
            if target.is_absolute():
                path = self.root / target.relative_to("/")
            else:
                path = path.parent / target
        raise HarnessError(f"too many symlinks at {path}")

    def _asterisk_conf(self) -> str:
        return f"""; generated by tawasul asterisk up
[directories]
astetcdir => {CONFIG_DIR}
astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => /var/spool/asterisk
astrundir => /run/asterisk
astlogdir => /var/log/asterisk
astsbindir => /usr/sbin

[options]
verbose = 0
debug = 0
maxcalls = 2000
maxload = 0
cache_media_frames = yes
defaultlanguage = ar
documentation_language = en_US
hideconnect = yes
"""

    def sip_secret(self) -> str:
        """The password of the SIP test phone ``tester``, created on first use."""
        return self._secret("sip.secret", 18)

    def _pjsip_conf(self) -> str:
        # One UDP transport on loopback; one phone, "tester", whose calls land in the inbound
        # context like any caller's. Media stays on loopback too; DTMF as RFC 4733 events.
        return f"""; generated by tawasul asterisk up
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{self.settings.sip_port}

[tester]
type = endpoint
context = tawasul-inbound
disallow = all
allow = ulaw,alaw
dtmf_mode = rfc4733
auth = tester-auth
aors = tester
direct_media = no
rtp_symmetric = yes
media_address = 127.0.0.1
bind_rtp_to_media_address = yes
callerid = 0501234567 <0501234567>

[tester-auth]
type = auth
auth_type = userpass
username = tester
password = {self.sip_secret()}

[tester]
type = aor
max_contacts = 1
"""

    def ami_reload_secret(self) -> str:
        """Return the secret of the AMI user that may only reload res_pjsip."""
        return self._secret("ami-reload.secret", 24)

    # -- the agents' phones (tawasul.sip_accounts): kept apart from the trunk's sections ----

    def _queues_conf(self) -> str:
        # The branch queues' after-call work is the setting the console counts down
        # (after_call_work_s): Asterisk's wrapuptime, so no process has to keep a timer.
        text = (REPO / "dialplans" / "queues.conf").read_text()
        template = text.index("[tawasul-branch](!)")
        line = text.index("wrapuptime = ", template)
        end = text.index("\n", line)
        wanted = f"wrapuptime = {self.settings.after_call_work_s}"
        return text[:line] + wanted + text[end:]

    def _http_conf(self) -> str:
        # Asterisk's HTTP server carries only the WebRTC phones' websocket (/ws), on loopback:
        # the console's origin reaches it through the same machine (or a TLS proxy in front).
        # With a configured pair, http_tls_section adds Asterisk's HTTPS server (wss).
        return f"""; generated by tawasul asterisk up
[general]
enabled = yes
bindaddr = 127.0.0.1
bindport = {self.settings.asterisk_http_port}
prefix =
enablestatic = no
servername =
{http_tls_section(self.settings)}"""

    def _pjsip_phones_conf(self) -> str:
        # The staff's phones: a websocket transport and one template per kind of phone. The
        # endpoints themselves are generated from the accounts into pjsip_accounts.conf.
        return f"""; generated by tawasul asterisk up: the agents' phones (tawasul.sip_accounts)
[transport-ws]
type = transport
protocol = ws
; Required and ignored: a websocket arrives through Asterisk's HTTP server (http.conf).
bind = 127.0.0.1
{WSS_TRANSPORT if self.settings.tls else ""}
[tawasul-phone-auth](!)
type = auth
auth_type = md5

[tawasul-phone-webrtc-endpoint](!)
; The console page: WebRTC (ICE, DTLS-SRTP with a generated certificate, AVPF, rtcp-mux),
; opus first, then ulaw. Transfers and calls from the page land in tawasul-agents only.
type = endpoint
context = {AGENTS_CONTEXT}
webrtc = yes
dtls_auto_generate_cert = yes
disallow = all
allow = opus,ulaw
dtmf_mode = rfc4733
allow_subscribe = no
device_state_busy_at = 1

[tawasul-phone-sip-endpoint](!)
; A desk phone or softphone over UDP.
type = endpoint
context = {AGENTS_CONTEXT}
disallow = all
allow = ulaw,alaw,opus
dtmf_mode = rfc4733
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
allow_subscribe = no
device_state_busy_at = 1

[tawasul-phone-webrtc-aor](!)
; One registration per account: a new tab replaces the old; a websocket that closes removes
; its contact, so a closed tab makes the device unavailable at once.
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 30

[tawasul-phone-sip-aor](!)
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 30

#include {ACCOUNTS_FILE}
"""

    def _manager_conf(self) -> str:
        # Least privilege: originate calls, manage queue members, read call/queue/user events.
        # No "command", "config" or "system" write: Command, GetConfig and UpdateConfig are
        # refused. Reading "system" events is what tells a client Asterisk is FullyBooted.
        return f"""; generated by tawasul asterisk up
[general]
enabled = yes
port = {self.settings.ami_port}
bindaddr = 127.0.0.1
displayconnects = no
timestampevents = yes

[{self.settings.ami_username}]
secret = {self.ami_secret()}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,agent,user,cdr,reporting,system,security
write = originate,call,agent,user,reporting
writetimeout = 5000

; The SIP endpoints generated from the accounts are published by a Reload of res_pjsip: a
; right of its own user, so the main user (which may originate) never gets "system" write
; (Originate of System() needs it). This user reads no events and may do nothing else of note.
[{self.settings.ami_reload_username}]
secret = {self.ami_reload_secret()}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read =
write = system
writetimeout = 5000
"""

    # -- running ---------------------------------------------------------------------------

    def _asterisk(self, *args: str) -> list[str]:
        return [
            "chroot",
            str(self.root),
            "/usr/sbin/asterisk",
            "-C",
            f"{CONFIG_DIR}/asterisk.conf",
            *args,
        ]

    def foreground_command(self) -> list[str]:
        """Asterisk in the foreground as its own user: what ``tawasul-asterisk.service`` runs
        (``up`` starts the same command in the background)."""
        return self._asterisk("-f", "-U", "asterisk", "-G", "asterisk")

    def prepare(self) -> None:
        """Restore the chroot if needed and install the configuration (before a start).

        Run as root by ``tawasul-asterisk.service``: the secrets it writes (AMI, SIP) are given
        to the var directory's owner, the service user the other processes run as.
        """
        self.ensure_root()
        self.install_config()
        owner = self.settings.var_dir.stat()
        for secret in self.state_dir.glob("*.secret"):
            os.chown(secret, owner.st_uid, owner.st_gid)

    def configure_when_booted(self) -> None:
        """Wait until Asterisk is fully booted, then set its runtime globals (after a start)."""
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            try:
                self.cli("core waitfullybooted", timeout_s=10)
                break
            except (HarnessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise HarnessError(f"Asterisk did not boot in {BOOT_TIMEOUT_S}s") from None
                time.sleep(0.2)
        self._configure_runtime()

    def running_pid(self) -> int | None:
        """Return the pid of this instance's Asterisk if it runs."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def cli(self, command: str, timeout_s: float = 30) -> str:
        """Run one Asterisk CLI command (``asterisk -rx``) and return its output."""
        done = subprocess.run(
            self._asterisk("-rx", command),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise HarnessError(f"asterisk -rx {command!r} failed: {done.stderr.strip()}")
        return done.stdout

    def up(self) -> None:
        """Start Asterisk (building or restoring the chroot if needed) and wait until booted."""
        if self.running_pid() is not None:
            # Already running: bring its dialplan and queues up to date with the checkout.
            self.install_config()
            self.cli("dialplan reload")
            self.cli("queue reload all")
            self.cli("manager reload")
            self.cli("module reload res_pjsip.so")
            self.cli("module reload http")
            self._configure_runtime()
            return
        self.ensure_root()
        self.install_config()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.console_log, "ab") as console:
            process = subprocess.Popen(
                self.foreground_command(),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise HarnessError(
                    f"Asterisk exited with {process.returncode}; see {self.console_log}"
                )
            try:
                self.cli("core waitfullybooted", timeout_s=10)
                break
            except (HarnessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    self.down()
                    raise HarnessError(f"Asterisk did not boot in {BOOT_TIMEOUT_S}s") from None
                time.sleep(0.2)
        self._configure_runtime()

    def _runtime_globals(self) -> dict[str, str]:
        return {
            "TAWASUL_AGI_URL": f"agi://{self.settings.agi_host}:{self.settings.agi_port}",
            "TAWASUL_DEFAULT_BRANCH": self.settings.default_branch,
        }

    def _with_runtime_globals(self, dialplan: str) -> str:
        for name, value in self._runtime_globals().items():
            dialplan = re.sub(rf"(?m)^{name}=.*$", f"{name}={value}", dialplan, count=1)
        return dialplan

    def _configure_runtime(self) -> None:
        url = f"agi://{self.settings.agi_host}:{self.settings.agi_port}"
        self.cli(f"dialplan set global TAWASUL_AGI_URL {url}")
        self.cli(f"dialplan set global TAWASUL_DEFAULT_BRANCH {self.settings.default_branch}")
        # Where callbacks dial the requester: through the trunks when there are any, else the
        # configured prefix (the simulated phones of the demo). Set every time: a dialplan
        # reload keeps the globals of the previous configuration (clearglobalvars=no).
        if carrier_plan(self.settings).enabled:
            prefix, suffix = "Local/", f"@{TRUNK_OUT_CONTEXT}"
        else:
            prefix, suffix = self.settings.outbound_prefix, self.settings.outbound_suffix
        self.cli(f"dialplan set global TAWASUL_OUTBOUND_PREFIX {prefix}")
        self.cli(f"dialplan set global TAWASUL_OUTBOUND_SUFFIX {suffix}")

    def down(self, timeout_s: float = 20) -> bool:
        """Stop Asterisk cleanly (``core stop now``), forcefully if it will not go."""
        pid = self.running_pid()
        if pid is None:
            return False
        with contextlib.suppress(HarnessError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout_s=10)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _alive(pid):
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            time.sleep(1)
        self.pid_file.unlink(missing_ok=True)
        return True


# -- trunks to the carrier ---------------------------------------------------------------------

FROM_TRUNK_CONTEXT = "tawasul-from-trunk"
"""The context of every trunk endpoint: the DIDs and nothing else."""
DID_CONTEXT = "tawasul-did"
TRUNK_OUT_CONTEXT = "tawasul-trunk-out"
"""Callbacks reach it as ``Local/<E.164>@tawasul-trunk-out`` (TAWASUL_OUTBOUND_SUFFIX)."""
TRUNK_TRANSPORT = "transport-trunk"
LOOPBACK_TRANSPORT = "transport-udp"


def trunks_pjsip_conf(settings: Settings, plan: CarrierPlan) -> str:
    """The ``pjsip.conf`` sections of the trunks (empty without trunks).

    Every trunk endpoint lands its calls in ``tawasul-from-trunk`` and refuses transfers
    (``allow_transfer = no``: a REFER from the carrier would make Asterisk dial out for it).
    """
    if not plan.enabled:
        return ""
    out = ["", "; -- trunks to the carrier, generated from the trunk settings --"]
    transport = LOOPBACK_TRANSPORT
    if settings.trunk_bind:
        transport = TRUNK_TRANSPORT
        out += [f"[{TRUNK_TRANSPORT}]", "type = transport", "protocol = udp"]
        out.append(f"bind = {settings.trunk_bind}")
        if settings.trunk_external_address:
            out.append(f"external_signaling_address = {settings.trunk_external_address}")
            out.append(f"external_media_address = {settings.trunk_external_address}")
        out.append("")
    for trunk in plan.trunks:
        out += _trunk_sections(settings, trunk, transport)
    return "\n".join(out) + "\n"


def _trunk_sections(settings: Settings, trunk: Trunk, transport: str) -> list[str]:
    name = trunk.endpoint
    endpoint = [
        f"[{name}]",
        "type = endpoint",
        f"context = {FROM_TRUNK_CONTEXT}",
        f"transport = {transport}",
        "disallow = all",
        f"allow = {','.join(trunk.codecs)}",
        "dtmf_mode = rfc4733",
        f"aors = {name}",
        "direct_media = no",
        "rtp_symmetric = yes",
        "force_rport = yes",
        "rewrite_contact = yes",
        "; Toll fraud: no transfer (REFER) and no subscription from the carrier's side.",
        "allow_transfer = no",
        "allow_subscribe = no",
        "; The caller's number is read from From; the presented number goes out in From and PAI.",
        "trust_id_inbound = no",
        "send_pai = yes",
        "trust_id_outbound = yes",
        "send_connected_line = no",
    ]
    if not settings.trunk_bind:
        endpoint += ["media_address = 127.0.0.1", "bind_rtp_to_media_address = yes"]
    if trunk.username:
        endpoint.append(f"outbound_auth = {name}-auth")
    if trunk.from_domain:
        endpoint.append(f"from_domain = {trunk.from_domain}")
    out = [*endpoint, ""]
    out += [
        f"[{name}]",
        "type = aor",
        f"contact = sip:{trunk.host}",
        f"qualify_frequency = {settings.trunk_qualify_s}",
        "qualify_timeout = 3.0",
        "",
    ]
    if trunk.match:
        out += [f"[{name}]", "type = identify", f"endpoint = {name}"]
        out += [f"match = {item}" for item in trunk.match]
        out.append("")
    if trunk.username:
        out += [
            f"[{name}-auth]",
            "type = auth",
            "auth_type = userpass",
            f"username = {trunk.username}",
            f"password = {trunk.password}",
            "",
        ]
    if trunk.auth == "register":
        out += [
            f"[{name}]",
            "type = registration",
            f"transport = {transport}",
            f"outbound_auth = {name}-auth",
            f"server_uri = sip:{trunk.host}",
            f"client_uri = sip:{trunk.username}@{trunk.host}",
            f"contact_user = {trunk.username}",
            "expiration = 300",
            "; Keep trying for ever: a carrier that was away must find the centre again.",
            "retry_interval = 20",
            "forbidden_retry_interval = 60",
            "fatal_retry_interval = 60",
            "max_retries = 1000000",
            "auth_rejection_permanent = no",
            "; The carrier's calls come back with this line parameter: that names the trunk.",
            "line = yes",
            f"endpoint = {name}",
            "",
        ]
    return out


def _dial_number(style: NumberFormat, country_code: str) -> str:
    """The dialplan expression that writes ${EXTEN} (E.164) the way ``format_number`` does."""
    if style == NumberFormat.E164:
        return "${EXTEN}"
    if style == NumberFormat.INTERNATIONAL:
        return "${EXTEN:1}"
    if style == NumberFormat.PREFIX00:
        return "00${EXTEN:1}"
    width = len(country_code) + 1
    return (
        f'${{IF($["${{EXTEN:0:{width}}}" = "+{country_code}"]?0${{EXTEN:{width}}}:00${{EXTEN:1}})}}'
    )


def trunks_dialplan(plan: CarrierPlan) -> str:
    """``trunks.conf``: the carrier's calls in (DIDs to branches), callbacks out."""
    lines = ["; generated by tawasul asterisk up from the trunk settings: do not edit"]
    if not plan.enabled:
        return "\n".join([*lines, "; no trunk configured"]) + "\n"
    lines += [
        "",
        f"[{FROM_TRUNK_CONTEXT}]",
        "; Calls from the carrier. Each DID, in every form a carrier may write it, reaches its",
        "; branch's menu (or the fax intake), and nothing else: no include, no pattern, no Dial.",
        "; Any other number gets 404 from chan_pjsip (no such extension).",
    ]
    for did, target in plan.dids.items():
        for form in dialled_forms(did, plan.country_code):
            lines.append(f"exten => {form},1,Goto({DID_CONTEXT},{target},1)")
    lines += ["", f"[{DID_CONTEXT}]"]
    for target in dict.fromkeys(plan.dids.values()):
        if target == FAX:
            lines.append(f"exten => {FAX},1,Goto(tawasul-fax,s,1)")
        else:
            lines.append(f"exten => {target},1,Set(__TAWASUL_BRANCH={target})")
            lines.append(" same => n,Goto(tawasul-ivr,s,1)")
    for trunk in plan.trunks:
        lines += ["", f"[tawasul-presented-{trunk.name}]"]
        lines.append(f"; Each branch's number as {trunk.name} wants caller IDs written.")
        for branch, number in plan.presented.items():
            shown = format_number(number, trunk.callerid_format, plan.country_code)
            lines.append(f"exten => {branch},1,Set(CALLERID(num)={shown})")
            lines.append(" same => n,Return()")
    names = [trunk.name for trunk in plan.trunks]
    first = plan.trunks[0].name
    lines += [
        "",
        f"[{TRUNK_OUT_CONTEXT}]",
        "; A callback's requester through the carrier: Local/<E.164>@tawasul-trunk-out, dialled by",
        "; [tawasul-callback]. The trunks in order, skipping those their qualify says are down and",
        "; going on when one cannot take the call; the branch's number presented. When no trunk",
        "; is up the callback is told TRUNK_DOWN (not placed: tried again, not counted).",
        "exten => _+X.,1,NoOp(Callback through the carrier for ${TAWASUL_BRANCH})",
        ' same => n,GotoIf($["${REGEX("^[+][0-9]{8,15}$" ${EXTEN})}" != "1"]?refused)',
        " same => n,Set(TAWASUL_TRUNK_TRIED=)",
        f" same => n,Set(TAWASUL_PRESENTING=${{IF($[${{DIALPLAN_EXISTS("
        f"tawasul-presented-{first},${{TAWASUL_BRANCH}},1)}}]?${{TAWASUL_BRANCH}}:"
        "${TAWASUL_DEFAULT_BRANCH})})",
    ]
    for index, trunk in enumerate(plan.trunks):
        following = names[index + 1] if index + 1 < len(names) else "none_left"
        number = _dial_number(trunk.dial_format, plan.country_code)
        presented = f"tawasul-presented-{trunk.name}"
        lines += [
            f' same => n({trunk.name}),GotoIf($["${{DEVICE_STATE(PJSIP/{trunk.endpoint})}}"'
            f' = "UNAVAILABLE"]?{following})',
            f" same => n,GosubIf($[${{DIALPLAN_EXISTS({presented},${{TAWASUL_PRESENTING}},1)}}]"
            f"?{presented},${{TAWASUL_PRESENTING}},1)",
            " same => n,Set(TAWASUL_TRUNK_TRIED=1)",
            f" same => n,Dial(PJSIP/{number}@{trunk.endpoint})",
            ' same => n,GotoIf($["${DIALSTATUS}" != "CHANUNAVAIL"'
            ' & "${DIALSTATUS}" != "CONGESTION"]?done)',
        ]
    lines += [
        ' same => n(none_left),GotoIf($["${TAWASUL_TRUNK_TRIED}" = "1"]?done)',
        " same => n,UserEvent(TawasulCallback,Tag: ${TAWASUL_CALL_TAG},Result: TRUNK_DOWN)",
        " same => n,Hangup(34)",
        " ; The outer Dial learns what happened through the hang-up cause (busy, no answer...).",
        " same => n(done),Hangup(${HANGUPCAUSE})",
        " same => n(refused),Hangup(21)",
    ]
    return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(harness: Harness, action: str, rest: list[str]) -> int:
    """``tawasul asterisk build|prepare|up|configure|down|status|cli [command]``; ``prepare``
    and ``configure`` are the service's steps before and after its start."""
    if action == "build":
        harness.ensure_root()
    elif action == "prepare":
        harness.prepare()
    elif action == "configure":
        harness.configure_when_booted()
    elif action == "up":
        harness.up()
        print(
            f"Asterisk up (pid {harness.running_pid()}, AMI 127.0.0.1:{harness.settings.ami_port})"
        )
    elif action == "down":
        print("Asterisk stopped" if harness.down() else "Asterisk was not running")
    elif action == "status":
        pid = harness.running_pid()
        print(f"running, pid {pid}" if pid else "not running")
        return 0 if pid else 3
    elif action == "cli":
        if rest:
            sys.stdout.write(harness.cli(" ".join(rest)))
        else:
            os.execvp("chroot", harness._asterisk("-r"))
    else:
        raise HarnessError(f"unknown action {action!r}")
    return 0
