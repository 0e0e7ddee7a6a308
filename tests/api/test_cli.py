"""``tawasul users add``: a newcomer can open the first accounts from the command line."""

from __future__ import annotations

import io

from sqlalchemy import select

from tawasul.accounts import verify_password
from tawasul.models import User
from tawasul_cli.main import main


def test_users_add_reads_the_password_from_stdin(database, monkeypatch, secret_key, tmp_path):
    monkeypatch.setenv("TAWASUL_DATABASE_URL", database.url)
    monkeypatch.setenv("TAWASUL_SECRET_KEY", secret_key)
    monkeypatch.setenv("TAWASUL_VAR_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["users", "add", "--username", "Noura", "--role", "supervisor", "--branch", "jeddah"]
    assert main([*argv, "--extension", "PJSIP/1002"]) == 0
    with database.sessions() as session:
        user = session.scalars(select(User)).one()
    assert (user.username, user.role, user.branch, user.extension) == (
        "noura",
        "supervisor",
        "jeddah",
        "PJSIP/1002",
    )
    assert verify_password("a long enough password", user.password_hash)
    assert not user.takes_calls  # a supervisor's default
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["users", "add", "--username", "huda", "--role", "supervisor", "--branch", "jeddah"]
    assert main([*argv, "--extension", "PJSIP/1003", "--takes-calls"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["users", "add", "--username", "reem", "--role", "agent", "--branch", "jeddah"]
    assert main([*argv, "--no-takes-calls"]) == 0
    with database.sessions() as session:
        rows = session.execute(select(User.username, User.takes_calls))
        takes = {name: calls for name, calls in rows}
    assert takes == {"noura": False, "huda": True, "reem": False}
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "--username", "x2", "--role", "agent", "--branch", "jeddah"]) == 2
