"""``tawasul``: every command of the project (servers, tools, the demo) behind one entry point."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tawasul.config import load_settings
from tawasul.errors import TawasulError
from tawasul.masking import install_log_scrubbing


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces every plugin at INFO: keep start-up logs about this project.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_scrubbing()


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="tawasul", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    asterisk = commands.add_parser("asterisk", help="the project's Asterisk (chroot)")
    asterisk.add_argument(
        "action", choices=["build", "prepare", "up", "configure", "down", "status", "cli"]
    )
    asterisk.add_argument("rest", nargs=argparse.REMAINDER, help="CLI command for `cli`")

    agi = commands.add_parser("agi-server", help="run the FastAGI server")
    agi.add_argument(
        "--processes",
        type=int,
        default=None,
        help="FastAGI processes sharing the port (default: one per core)",
    )
    agi.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    commands.add_parser("keygen", help="create the personal-data key if there is none")
    prompts = commands.add_parser("prompts", help="the prompt catalogue")
    prompts.add_argument("action", choices=["build"])
    requests = commands.add_parser("requests", help="list the latest requests")
    requests.add_argument("--limit", type=int, default=20)
    worker = commands.add_parser("worker", help="run a job worker (relay, reconciler, RQ)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--no-ami", action="store_true", help="do not place callbacks")
    commands.add_parser("reconcile", help="send lost or abandoned jobs back to the relay")
    commands.add_parser("events", help="record queue and agent events from AMI (metrics)")
    commands.add_parser("smpp", help="hold the SMS centre's SMPP bind (sms_provider = smpp)")
    commands.add_parser("purge", help="apply the retention rules now")
    vault = commands.add_parser("vault", help="encrypted recordings and documents")
    vault.add_argument("action", choices=["rotate"], help="re-encrypt under the current key")
    demo = commands.add_parser("demo", help="start everything and place scripted calls")
    demo.add_argument("--calls", type=int, default=3, help="how many scripted calls to place")
    demo.add_argument(
        "--once", action="store_true", help="exit after the calls (Asterisk keeps running)"
    )
    commands.add_parser("api", help="serve the agent API (gunicorn) on <api_host>:<api_port>")
    install = commands.add_parser("install", help="system user, directories and systemd units")
    install.add_argument("--root", help="write the tree under this directory, touch nothing else")
    install.add_argument("--no-enable", action="store_true", help="do not enable tawasul.target")
    backup = commands.add_parser("backup", help="back up the database, keys and stored files")
    backup.add_argument("archive", help="the archive to write (.tar), or a directory for it")
    restore = commands.add_parser("restore", help="restore a backup onto an empty instance")
    restore.add_argument("archive", help="an archive written by tawasul backup")
    users = commands.add_parser("users", help="staff accounts of the agent API")
    users.add_argument("action", choices=["add"])
    users.add_argument("--username", required=True)
    users.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    users.add_argument("--branch", required=True)
    users.add_argument("--extension", help="softphone endpoint, e.g. PJSIP/1001")
    users.add_argument(
        "--takes-calls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="answers the branch queue's calls (default: agents do, supervisors and admins not)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tawasul`` console script."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    settings = load_settings()
    try:
        if args.command == "asterisk":
            from tawasul_cli import asterisk

            return asterisk.main(asterisk.Harness.for_settings(settings), args.action, args.rest)
        if args.command == "agi-server":
            from tawasul_cli.agi_pool import default_processes
            from tawasul_cli.commands import serve_agi

            processes = args.processes if args.processes is not None else default_processes()
            if processes < 1:
                print("tawasul: --processes must be at least 1", file=sys.stderr)
                return 2
            return serve_agi(settings, processes, child=args.child)
        if args.command == "db":
            from tawasul_cli.commands import db_upgrade

            return db_upgrade(settings)
        if args.command == "keygen":
            from tawasul_cli.commands import keygen

            return keygen(settings)
        if args.command == "prompts":
            from tawasul_cli.commands import build_prompts

            return build_prompts(settings)
        if args.command == "requests":
            from tawasul_cli.commands import list_requests

            return list_requests(settings, args.limit)
        if args.command == "worker":
            from tawasul_cli.worker import serve_worker

            return serve_worker(settings, burst=args.burst, with_ami=not args.no_ami)
        if args.command == "purge":
            from tawasul.db import make_engine, make_session_factory
            from tawasul.models import utcnow
            from tawasul.retention import purge

            sessions = make_session_factory(make_engine(settings.resolved_database_url()))
            with sessions() as session:
                print(purge(session, settings, utcnow()))
            return 0
        if args.command == "vault":
            from tawasul.vault import vault_for

            moved, current = vault_for(settings).rotate()
            print(f"{moved} files re-encrypted under the current key, {current} already were")
            return 0
        if args.command == "events":
            from tawasul_cli.events import run_events

            return run_events(settings)
        if args.command == "smpp":
            from tawasul_cli.smpp import serve_smpp

            return serve_smpp(settings)
        if args.command == "reconcile":
            from tawasul_cli.commands import reconcile_now

            return reconcile_now(settings)
        if args.command == "demo":
            from tawasul_cli.demo import run_demo

            return run_demo(settings, args.calls, stay=not args.once)
        if args.command == "api":
            from tawasul_cli.api import serve_api

            return serve_api(settings)
        if args.command == "install":
            from tawasul_cli.install import main as install_main

            return install_main(settings, args.root, enable=not args.no_enable)
        if args.command == "backup":
            from tawasul_cli.backup import backup

            print(backup(settings, Path(args.archive)).summary())
            return 0
        if args.command == "restore":
            from tawasul_cli.backup import restore

            print(restore(settings, Path(args.archive)).summary())
            return 0
        if args.command == "users":
            from tawasul_cli.api import add_user

            return add_user(
                settings,
                args.username,
                args.role,
                args.branch,
                args.extension,
                args.takes_calls,
            )
    except TawasulError as exc:
        print(f"tawasul: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
