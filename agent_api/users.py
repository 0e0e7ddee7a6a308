"""``/users``: staff accounts, managed by admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from agent_api import parsing
from agent_api.openapi_parts import (
    CREDENTIALS,
    ITEMS,
    answer,
    enum_of,
    operation,
    path_id,
    query_param,
    request_body,
)
from agent_api.schemas import dump_user
from agent_api.services import db, leave_queue, services, user
from tawasul.accounts import NewUser
from tawasul.errors import NotFound
from tawasul.models import Role, User
from tawasul.permissions import Action, require, visible_branches

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("")
def list_users() -> ResponseReturnValue:
    """Every account (admins)."""
    require(user(), Action.MANAGE_USERS)
    found = db().scalars(select(User).order_by(User.username))
    return jsonify({"items": [dump_user(item) for item in found]})


@bp.get("/staff")
def branch_staff() -> ResponseReturnValue:
    """The branch's active agents and supervisors: who a request can be given to (any role)."""
    args = parsing.query({"branch"})
    me = user()
    branch = parsing.text(args, "branch", max_len=32) or me.branch
    visible = visible_branches(me)
    if (
        visible is not None and branch not in visible
    ) or branch not in services().settings.branches:
        raise NotFound("no such branch")
    found = db().scalars(
        select(User)
        .where(
            User.branch == branch,
            User.is_active.is_(True),
            User.role.in_([Role.AGENT, Role.SUPERVISOR]),
        )
        .order_by(User.username)
    )
    return jsonify(
        {
            "branch": branch,
            "items": [
                {
                    "id": item.id,
                    "name": item.username,
                    "role": item.role.value,
                    "takes_calls": item.takes_calls,
                    "extension": item.extension,
                }
                for item in found
            ],
        }
    )


@bp.post("")
def create_user() -> ResponseReturnValue:
    """Open an account (admins)."""
    require(user(), Action.MANAGE_USERS)
    data = parsing.body({"username", "password", "role", "branch", "extension", "takes_calls"})
    new = NewUser(
        username=parsing.text(data, "username", required=True, max_len=64) or "",
        password=parsing.text(data, "password", required=True, max_len=1024) or "",
        role=parsing.choice(data, "role", Role, required=True) or Role.AGENT,
        branch=parsing.text(data, "branch", required=True, max_len=32) or "",
        extension=parsing.text(data, "extension", max_len=64),
        takes_calls=parsing.boolean(data, "takes_calls"),
    )
    created = services().accounts.create_user(db(), new)
    return jsonify({"user": dump_user(created)}), 201


@bp.patch("/<int:user_id>")
def update_user(user_id: int) -> ResponseReturnValue:
    """Change an account's role, branch, extension, password or activity (admins)."""
    require(user(), Action.MANAGE_USERS)
    data = parsing.body({"role", "branch", "extension", "is_active", "password", "takes_calls"})
    target = db().get(User, user_id)
    if target is not None and (
        parsing.boolean(data, "takes_calls") is False or parsing.boolean(data, "is_active") is False
    ):
        leave_queue(target)
    updated = services().accounts.update_user(
        db(),
        user_id,
        role=parsing.choice(data, "role", Role),
        branch=parsing.text(data, "branch", max_len=32),
        extension=parsing.text(data, "extension", max_len=64),
        is_active=parsing.boolean(data, "is_active"),
        password=parsing.text(data, "password", max_len=1024),
        takes_calls=parsing.boolean(data, "takes_calls"),
    )
    return jsonify({"user": dump_user(updated)})


OPENAPI_PATHS: dict[str, Any] = {
    "/users": {
        "get": operation("Every account (admins)", answer("200", "users", ITEMS)),
        "post": operation(
            "Open an account (admins)",
            answer("201", "the user"),
            body=request_body(
                {
                    **CREDENTIALS,
                    "role": enum_of(Role),
                    "branch": {"type": "string"},
                    "extension": {"type": "string"},
                    "takes_calls": {"type": "boolean"},
                },
                ("username", "password", "role", "branch"),
            ),
        ),
    },
    "/users/staff": {
        "get": operation(
            "The branch's active agents and supervisors (id, name, role, takes_calls, extension): "
            "whom a request can be reassigned or a call transferred to; any signed-in user, "
            "their own branch (admins: any)",
            answer("200", "branch, items", ITEMS),
            params=[query_param("branch", {"type": "string", "maxLength": 32})],
        )
    },
    "/users/{user_id}": {
        "patch": operation(
            "Change an account (admins)",
            answer("200", "the user"),
            params=[path_id("user_id")],
            body=request_body(
                {
                    "role": enum_of(Role),
                    "branch": {"type": "string"},
                    "extension": {"type": "string"},
                    "is_active": {"type": "boolean"},
                    "password": {"type": "string"},
                    "takes_calls": {"type": "boolean"},
                }
            ),
        )
    },
}
