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
    request_body,
)
from agent_api.schemas import dump_user
from agent_api.services import db, services, user
from tawasul.accounts import NewUser
from tawasul.models import Role, User
from tawasul.permissions import Action, require

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("")
def list_users() -> ResponseReturnValue:
    """Every account (admins)."""
    require(user(), Action.MANAGE_USERS)
    found = db().scalars(select(User).order_by(User.username))
    return jsonify({"items": [dump_user(item) for item in found]})


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
