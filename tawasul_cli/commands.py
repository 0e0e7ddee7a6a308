"""The small sub-commands of ``tawasul``; each wires what it needs and nothing more."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tawasul.config import Settings
from tawasul.db import WalCheckpointer, make_engine, make_session_factory
from tawasul.errors import ConfigError
from tawasul.hours import WorkingHours
from tawasul.masking import mask_phone
from tawasul.migrate import upgrade
from tawasul.models import Request
from tawasul.pii import generate_key
from tawasul_cli.lifecycle import wait_for_termination

log = logging.getLogger(__name__)


def db_upgrade(settings: Settings) -> int:
    """Bring the database schema up to date."""
    upgrade(make_engine(settings.resolved_database_url()))
    print("database schema up to date")
    return 0


def keygen(settings: Settings) -> int:
    """Create ``<var_dir>/secret.key`` (mode 600) unless a key is configured already."""
    path = settings.var_dir / "secret.key"
    if settings.secret_key or path.exists():
        print("a secret key is already configured")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key() + "\n")
    print(f"new secret key written to {path}: back it up, personal data cannot be read without it")
    return 0


def build_prompts(settings: Settings | None = None) -> int:
    """Render the prompt catalogue to sound files (gTTS when reachable, else espeak-ng)."""
    from ivr.prompts import PromptBuilder, load_catalogue, select_engine

    mode = settings.prompt_engine if settings else "espeak"
    timeout_s = settings.gtts_timeout_s if settings else 3.0
    engine = select_engine(mode, timeout_s)
    print(f"prompts: rendering with {engine.name}")
    report = PromptBuilder(engine=engine).build(load_catalogue(), progress=True)
    print(
        f"prompts: {report.rendered} rendered, {report.recorded} from recordings, "
        f"{report.unchanged} unchanged"
    )
    return 0


def serve_agi(settings: Settings, processes: int = 1, child: bool = False) -> int:
    """Run the FastAGI server until SIGINT or SIGTERM: in this process (``processes`` 1), or as
    the parent of ``processes`` FastAGI processes sharing the port (``tawasul_cli.agi_pool``);
    ``child`` is such a process, started by its parent."""
    settings = _with_asterisk_root(settings)
    if child:
        return _serve_agi_child(settings)
    from tawasul_cli.agi import build_server, pool_options

    # One process: this engine serves the calls too, so it gets their pool.
    options = pool_options(1) if processes == 1 else {}
    engine = make_engine(settings.resolved_database_url(), **options)
    upgrade(engine)
    WorkingHours.from_settings(settings)  # a malformed hours setting stops it here, by name
    if processes > 1:
        return _serve_agi_parent(settings, engine, processes)

    checkpointer = wal_checkpointer(engine)
    server = build_server(settings, engine)
    server.start_in_thread()
    log.info("FastAGI listening on %s:%s", settings.agi_host, server.port)
    # After the server listens: callers are served while a dead predecessor's calls are closed.
    stop = threading.Event()
    threading.Thread(
        target=sweep_after_dead_servers,
        args=(settings, stop, engine),
        name="orphaned-calls",
        daemon=True,
    ).start()
    wait_for_termination()
    stop.set()
    server.shutdown()
    server.server_close()
    if checkpointer is not None:
        checkpointer.stop()
    return 0


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """Start checkpointing the engine's SQLite write-ahead log in the background (calls' commits
    then never copy it under the write lock, :class:`tawasul.db.WalCheckpointer`); None on
    PostgreSQL or an in-memory database."""
    try:
        checkpointer = WalCheckpointer(engine)
    except ValueError:
        return None
    checkpointer.start()
    return checkpointer


def _with_asterisk_root(settings: Settings) -> Settings:
    if not settings.asterisk_root:
        # The project's own Asterisk runs in a chroot: find the files it writes there.
        from tawasul_cli.asterisk import Harness

        root = Harness.for_settings(settings).root
        if root.is_dir():
            settings = dataclasses.replace(settings, asterisk_root=str(root))
    return settings


def _serve_agi_parent(settings: Settings, engine: Engine, processes: int) -> int:
    """Listen, start the children, sweep once with this process's engine, restart children that
    die; on SIGTERM stop them all."""
    from tawasul_cli import agi_pool

    sock = agi_pool.listen(settings.agi_host, settings.agi_port)
    # The children open their own connections; this one's are not handed down.
    engine.dispose()
    supervisor = agi_pool.Supervisor(sock, processes, agi_pool.child_command())
    stop = threading.Event()
    agi_pool.handle_termination(stop)
    supervisor.start(stop)
    log.info(
        "FastAGI listening on %s:%s with %d processes",
        settings.agi_host,
        sock.getsockname()[1],
        processes,
    )
    sweeping = threading.Event()
    threading.Thread(
        target=sweep_after_dead_servers,
        args=(settings, sweeping, engine),
        name="orphaned-calls",
        daemon=True,
    ).start()
    try:
        supervisor.watch(stop)
    finally:
        sweeping.set()
        supervisor.stop()
        sock.close()
        engine.dispose()
    return 0


def _serve_agi_child(settings: Settings) -> int:
    """One FastAGI process of several: serve on the parent's socket until SIGTERM or until the
    parent is gone. No migration and no sweep here: the parent did both, once."""
    from ivr.server import FastAGIServer
    from tawasul_cli import agi_pool
    from tawasul_cli.agi import build_runner, pool_options

    sock = agi_pool.inherited_socket()
    if sock is None:
        raise ConfigError("agi-server --child is started by agi-server --processes N")
    processes = agi_pool.sibling_count()
    engine = make_engine(settings.resolved_database_url(), **pool_options(processes))
    wal_checkpointer(engine)
    server = FastAGIServer.on_socket(sock, build_runner(settings, engine, processes))
    stop = threading.Event()
    agi_pool.handle_termination(stop)
    agi_pool.stop_with_parent(stop)
    threading.Thread(target=server.accept_forever, name="fastagi", daemon=True).start()
    agi_pool.tell_parent_ready()
    stop.wait()
    # The accepting thread stays blocked in accept() on the socket the other processes share
    # (closing it here would not wake it): this process exits around it, with its calls.
    return 0


SPOOL_EVERY_S = 30.0
"""How often the FastAGI server settles the recordings ended calls left in the spool: a dead
server's caller may still be on the line at start-up (queued by the failover), and its call is
closed later by a worker, which cannot see the spool."""


def sweep_after_dead_servers(
    settings: Settings, stop: threading.Event, engine: Engine | None = None
) -> None:
    """Close a dead server's calls and settle the spool now, then the spool every
    ``SPOOL_EVERY_S`` until ``stop`` is set; with ``engine`` (the server's own), no other."""
    from ivr.paths import SPOOL, host_path

    own = engine is None
    engine = engine or make_engine(settings.resolved_database_url())
    sessions = make_session_factory(engine)
    try:
        close_orphaned_calls(settings, sessions)
        if not host_path(settings, SPOOL).is_dir():
            return
        while not stop.wait(SPOOL_EVERY_S):
            settle_spool(settings, sessions)
    finally:
        if own:
            engine.dispose()


def close_orphaned_calls(settings: Settings, sessions: sessionmaker[Session] | None = None) -> int:
    """Close the calls a dead FastAGI server left open (their channels are gone), then settle
    the recordings ended calls left in Asterisk's spool; say how many calls were closed. With
    ``sessions``, its engine is used; otherwise one is opened for the sweep and closed after."""
    from providers import build
    from tawasul.ports import DeliveryError
    from tawasul.stale_calls import close_calls_without_channel

    engine = None
    if sessions is None:
        engine = make_engine(settings.resolved_database_url())
        sessions = make_session_factory(engine)
    closed: list[str] = []
    try:
        try:
            ami = build.ami_client(settings, "orphaned-calls")
        except ConfigError as exc:
            ami = None
            log.warning("calls of a dead server not closed here (no AMI): %s", exc)
        if ami is not None:
            ami.start(wait_s=5, require=False)
            try:
                with sessions() as session:
                    closed = close_calls_without_channel(session, build.call_control(settings, ami))
            except DeliveryError as exc:
                log.warning("could not close the calls of a dead server: %s", exc)
            finally:
                ami.close()
        # Without AMI too: the spool may hold recordings of calls that ended earlier.
        settle_spool(settings, sessions)
    finally:
        if engine is not None:
            engine.dispose()
    return len(closed)


def settle_spool(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Encrypt or delete what ended calls left in Asterisk's spool, if this process sees it;
    say how many files were removed."""
    from ivr.paths import SPOOL, host_path
    from tawasul.spooled_recordings import settle_spooled_recordings
    from tawasul.vault import vault_for

    spool = host_path(settings, SPOOL)
    if not spool.is_dir():
        log.info("Asterisk's spool is not visible here (%s): left to its FastAGI server", spool)
        return 0
    if not any(spool.glob("call-*")):
        return 0
    try:
        vault = vault_for(settings)
    except ConfigError as exc:
        vault = None  # fail closed: nothing can be kept, so nothing stays in clear either
        log.error("no storage key: recordings left in the spool are deleted, not kept: %s", exc)
    try:
        with sessions() as session:
            return len(settle_spooled_recordings(session, spool, vault))
    except Exception:
        log.exception("could not settle the recordings left in the spool")
        return 0


def list_requests(settings: Settings, limit: int) -> int:
    """Print the latest requests (phone numbers masked)."""
    session_factory = make_session_factory(make_engine(settings.resolved_database_url()))
    with session_factory() as session:
        rows = session.scalars(select(Request).order_by(Request.id.desc()).limit(limit)).all()
        for request in rows:
            print(format_request(request, ZoneInfo(settings.timezone)))
    return 0


def format_request(request: Request, zone: tzinfo = UTC) -> str:
    """One line describing a request, with no personal data in clear; its time in ``zone``
    (the centre's, from the ``timezone`` setting)."""
    created = request.created_at.astimezone(zone)
    return (
        f"{request.reference_number}  {request.status.value:<10} {request.channel.value:<6} "
        f"{request.branch:<7} {request.language.value}  "
        f"{created:%Y-%m-%d %H:%M:%S}  {mask_phone(request.callback_number)}"
    )


def reconcile_now(settings: Settings) -> int:
    """Run the reconciler once and say how many rows it sent back."""
    from jobqueue.connection import connect
    from jobqueue.relay import reconcile

    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    print(f"{reconcile(sessions, connect(settings.redis_url))} outbox rows sent back to the relay")
    return 0
