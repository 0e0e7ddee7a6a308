"""Role rules of the request workflow, password hashing, cursors and Hijri dates."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from agent_api.dates import hijri_of, moment
from tawasul.accounts import check_endpoint, hash_password, token_digest, verify_password
from tawasul.errors import Forbidden, IllegalTransition, ValidationError
from tawasul.models import Role, User
from tawasul.permissions import Action, may, require_transition, visible_branches
from tawasul.search import decode_cursor
from tawasul.workflow import TRANSITIONS, RequestStatus, check_transition

S = RequestStatus
SUPERVISOR_ONLY = {S.APPROVED, S.REJECTED}

# Who may move a request into each status, written out again from the issue.
EXPECTED_ROLES = {
    role: {
        target
        for target in RequestStatus
        if target not in SUPERVISOR_ONLY or role in (Role.SUPERVISOR, Role.ADMIN)
    }
    for role in Role
}


def user(role: Role, branch: str = "riyadh") -> User:
    return User(id=1, username="u", role=role, branch=branch)


@pytest.mark.parametrize(
    ("role", "current", "target"),
    list(itertools.product(Role, RequestStatus, RequestStatus)),
    ids=lambda value: value.value,
)
def test_every_role_and_transition(role, current, target):
    legal = target in TRANSITIONS[current]
    allowed = target in EXPECTED_ROLES[role]

    def attempt():
        # The use cases check the role first, then the workflow.
        require_transition(user(role), target)
        check_transition(current, target)

    if not allowed:
        with pytest.raises(Forbidden):
            attempt()
    elif not legal:
        with pytest.raises(IllegalTransition) as caught:
            attempt()
        assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])
    else:
        attempt()


@pytest.mark.parametrize(
    ("role", "action", "expected"),
    [
        (Role.AGENT, Action.WORK_REQUEST, True),
        (Role.AGENT, Action.DECIDE, False),
        (Role.AGENT, Action.REASSIGN, False),
        (Role.AGENT, Action.MANAGE_CALENDAR, False),
        (Role.AGENT, Action.MANAGE_USERS, False),
        (Role.SUPERVISOR, Action.DECIDE, True),
        (Role.SUPERVISOR, Action.REASSIGN, True),
        (Role.SUPERVISOR, Action.MANAGE_CALENDAR, True),
        (Role.SUPERVISOR, Action.MANAGE_USERS, False),
        (Role.SUPERVISOR, Action.ALL_BRANCHES, False),
        (Role.ADMIN, Action.MANAGE_USERS, True),
        (Role.ADMIN, Action.ALL_BRANCHES, True),
    ],
)
def test_role_matrix(role, action, expected):
    assert may(role, action) is expected


def test_branches_seen():
    assert visible_branches(user(Role.AGENT, "jeddah")) == {"jeddah"}
    assert visible_branches(user(Role.SUPERVISOR, "medina")) == {"medina"}
    assert visible_branches(user(Role.ADMIN)) is None


def test_password_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("s3cret-pass", first)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "md5$abc")
    assert not verify_password("s3cret-pass", "garbage")


def test_token_digest_is_sha256_hex():
    assert token_digest("tws_x") != "tws_x" and len(token_digest("tws_x")) == 64


@pytest.mark.parametrize("good", ["PJSIP/1001", "Local/1001@tawasul-phones", "SIP/a.b-c_d"])
def test_endpoints_allowed(good):
    assert check_endpoint(good) == good


@pytest.mark.parametrize(
    "bad", ["PJSIP/1001\r\nAction: Command", "PJSIP/1 x", "a:b", "a,b", "", "x" * 65, "é"]
)
def test_endpoints_refused(bad):
    with pytest.raises(ValidationError):
        check_endpoint(bad)


@pytest.mark.parametrize("bad", ["", "!!!", "WzEsMl0=", "WyJub3QtYS1kYXRlIiwgMV0="])
def test_cursors_other_than_ours_are_refused(bad):
    with pytest.raises(ValidationError):
        decode_cursor(bad)


@pytest.mark.parametrize(
    ("gregorian", "hijri"),
    [
        # Umm al-Qura, as published: 1 Muharram 1447 and 1 Ramadan 1447.
        (date(2025, 6, 26), "1447-01-01"),
        (date(2026, 2, 18), "1447-09-01"),
        (date(2026, 3, 19), "1447-09-30"),
    ],
)
def test_hijri_dates_follow_umm_al_qura(gregorian, hijri):
    assert hijri_of(gregorian)["date"] == hijri


def test_moments_are_shown_in_the_centres_time():
    shown = moment(datetime(2026, 2, 17, 22, 30, tzinfo=UTC))
    assert shown["gregorian"] == "2026-02-18" and shown["time"] == "01:30"
    assert shown["hijri"]["date"] == "1447-09-01"
    assert shown["hijri"]["en"].startswith("1 ") and shown["hijri"]["en"].endswith("1447 AH")
    assert shown["hijri"]["ar"].endswith("1447 هـ")
    assert hijri_of(date(1800, 1, 1)) is None
