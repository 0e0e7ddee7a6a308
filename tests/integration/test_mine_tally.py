"""An agent's own work ("mine"): the assignee kept on the request and the tally per assignee stay
exact through every claim, release, reassignment and move, also when two members of staff act at
once, after the migration and after a recount (both databases)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from tawasul import search
from tawasul.identity import IdentityDocument
from tawasul.migrate import alembic_config, upgrade
from tawasul.models import (
    Channel,
    Request,
    RequestAssigneeTally,
    RequestAssignment,
    RequesterCategory,
    RequestTally,
)
from tawasul.tally import recount
from tawasul.workflow import RequestStatus
from tests.helpers import Database
from tests.unit.casework_support import CODE, NOW, World

S = RequestStatus
WOMAN = RequesterCategory.WOMAN
Place = tuple[int, str, str, str]


def _truth(database: Database) -> dict[Place, int]:
    """Who works what, counted from the assignment rows themselves (the record of it)."""
    with database.sessions() as session:
        rows = session.execute(
            select(
                RequestAssignment.user_id,
                Request.branch,
                Request.channel,
                Request.status,
                func.count(),
            )
            .join(Request, Request.id == RequestAssignment.request_id)
            .group_by(RequestAssignment.user_id, Request.branch, Request.channel, Request.status)
        ).all()
    return {(u, b, Channel(c).value, S(s).value): n for u, b, c, s, n in rows}


def _tallied(database: Database) -> dict[Place, int]:
    with database.sessions() as session:
        rows = session.execute(select(RequestAssigneeTally)).scalars().all()
        return {
            (r.user_id, r.branch, Channel(r.channel).value, S(r.status).value): r.requests
            for r in rows
            if r.requests
        }


def _branch_tally_exact(database: Database) -> None:
    with database.sessions() as session:
        tallied: dict[tuple[str, str, str], int] = {}
        for r in session.scalars(select(RequestTally)):  # a count: the sum of its shards
            key = (r.branch, Channel(r.channel).value, S(r.status).value)
            tallied[key] = tallied.get(key, 0) + r.requests
        tallied = {key: n for key, n in tallied.items() if n}
        counted = {
            (b, Channel(c).value, S(s).value): n
            for b, c, s, n in session.execute(
                select(Request.branch, Request.channel, Request.status, func.count()).group_by(
                    Request.branch, Request.channel, Request.status
                )
            )
        }
    assert tallied == counted


def _exact(database: Database, world: World, branches: bool = True) -> dict[Place, int]:
    """Assert the tally, the assignee column, the counts and the list of "mine" against the
    assignment rows (and the branch tally against the requests); returns the truth."""
    truth = _truth(database)
    assert _tallied(database) == truth
    if branches:
        _branch_tally_exact(database)
    with database.sessions() as session:
        on_request = dict(
            session.execute(
                select(Request.id, Request.assigned_to).where(Request.assigned_to.is_not(None))
            ).all()
        )
        in_rows = dict(
            session.execute(select(RequestAssignment.request_id, RequestAssignment.user_id)).all()
        )
        assert on_request == in_rows
        for user in (world.agent, world.other_agent, world.supervisor, world.jeddah_agent):
            expected = {status.value: 0 for status in S}
            for (who, _, _, status), number in truth.items():
                if who == user.id:
                    expected[status] += number
            flt = search.RequestFilter(assigned_to=user.id)
            assert search.counts(session, None, flt) == expected
            listed = search.search(session, None, flt, limit=200).items
            assert {item.id for item in listed} == {
                request_id for request_id, who in in_rows.items() if who == user.id
            }
    return truth


def test_mine_stays_exact_through_every_claim_release_reassignment_and_move(
    database: Database,
) -> None:
    world = World.build(database.sessions)
    casework = world.casework
    first, second, third, fourth = (world.request() for _ in range(4))
    jeddah = world.request(branch="jeddah")
    assert _exact(database, world) == {}

    with database.sessions() as session:
        casework.claim(session, world.agent, first, category=WOMAN)
    assert _exact(database, world) == {(world.agent.id, "riyadh", "phone", "in_review"): 1}
    with database.sessions() as session:
        casework.claim(session, world.other_agent, second, category=WOMAN)
        casework.claim(session, world.agent, third, category=WOMAN)
        casework.claim(session, world.agent, fourth, category=WOMAN)
    _exact(database, world)
    with database.sessions() as session:
        casework.reassign(session, world.supervisor, first, world.other_agent.id)
    truth = _exact(database, world)
    assert truth[(world.other_agent.id, "riyadh", "phone", "in_review")] == 2
    with database.sessions() as session:
        casework.release(session, world.agent, third)
    truth = _exact(database, world)
    assert truth[(world.agent.id, "riyadh", "phone", "in_review")] == 1
    with database.sessions() as session:
        casework.start_verification(session, world.other_agent, second)
        casework.verify_identity(session, world.other_agent, second, CODE)
    _exact(database, world)
    with database.sessions() as session:
        casework.approve(session, world.supervisor, second)
    _exact(database, world)
    with database.sessions() as session:
        casework.cancel(session, world.supervisor, first, "the requester called it off")
    truth = _exact(database, world)
    # A closed request stays with whoever worked it: counted as theirs, in its closed status.
    assert truth[(world.other_agent.id, "riyadh", "phone", "cancelled")] == 1
    with database.sessions() as session:
        casework.verify_in_person(session, world.agent, fourth, IdentityDocument.NATIONAL_ID)
        casework.reject(session, world.supervisor, fourth, "not within the official's remit")
    _exact(database, world)
    with database.sessions() as session:
        casework.claim(session, world.supervisor, third, category=WOMAN)
        casework.reassign(session, world.supervisor, third, world.agent.id)
        casework.claim(session, world.jeddah_agent, jeddah, category=WOMAN)
    truth = _exact(database, world)
    assert truth == {
        (world.agent.id, "riyadh", "phone", "in_review"): 1,
        (world.agent.id, "riyadh", "phone", "rejected"): 1,
        (world.other_agent.id, "riyadh", "phone", "approved"): 1,
        (world.other_agent.id, "riyadh", "phone", "cancelled"): 1,
        (world.jeddah_agent.id, "jeddah", "phone", "in_review"): 1,
    }
    with database.sessions() as session:
        # The tally answers the filters it holds as a count of the requests would.
        mine = search.RequestFilter(
            assigned_to=world.other_agent.id,
            channel=Channel.PHONE,
            statuses=(S.APPROVED, S.IN_REVIEW),
        )
        assert search.counts(session, {"riyadh"}, mine) == {
            **{status.value: 0 for status in S},
            "approved": 1,
        }
        assert search.counts(session, {"jeddah"}, mine) == {status.value: 0 for status in S}
        fax = search.RequestFilter(assigned_to=world.agent.id, channel=Channel.FAX)
        assert sum(search.counts(session, None, fax).values()) == 0


def test_a_move_counts_the_assignee_as_stored_not_as_loaded(database: Database) -> None:
    if database.engine.dialect.name == "sqlite":
        # SQLite's writers hold the write lock from their first statement: the reassignment
        # below would wait for the session that loaded the request (the race cannot happen).
        return
    world = World.build(database.sessions)
    request_id = world.request()
    with database.sessions() as session:
        world.casework.claim(session, world.agent, request_id, category=WOMAN)
    with database.sessions() as slow:
        stale = slow.get(Request, request_id)  # loaded: assigned to the agent
        assert stale is not None and stale.assigned_to == world.agent.id
        with database.sessions() as session:
            world.casework.reassign(session, world.supervisor, request_id, world.other_agent.id)
        # The slow session acts on the request as it loaded it: the move must still take it
        # from the agent who works it now.
        world.casework.cancel(slow, world.supervisor, request_id)
    assert _exact(database, world) == {
        (world.other_agent.id, "riyadh", "phone", "cancelled"): 1,
    }


def test_a_reassignment_counts_the_assignee_as_stored_not_as_loaded(database: Database) -> None:
    if database.engine.dialect.name == "sqlite":
        return  # as above: SQLite serialises the two writers from their first statement
    world = World.build(database.sessions)
    request_id = world.request()
    with database.sessions() as session:
        world.casework.claim(session, world.agent, request_id, category=WOMAN)
    with database.sessions() as slow:
        stale = slow.get(Request, request_id)
        assignment = slow.get(RequestAssignment, request_id)
        assert stale is not None and assignment is not None
        with database.sessions() as session:
            world.casework.reassign(session, world.supervisor, request_id, world.other_agent.id)
        world.casework.reassign(slow, world.supervisor, request_id, world.supervisor.id)
    assert _exact(database, world) == {
        (world.supervisor.id, "riyadh", "phone", "in_review"): 1,
    }
    with database.sessions() as session:
        trail = world.events(request_id)
        assert [e.details for e in trail if e.kind == "reassigned"] == [
            {"from_user": world.agent.id, "to_user": world.other_agent.id},
            {"from_user": world.other_agent.id, "to_user": world.supervisor.id},
        ]
        stored = session.get(Request, request_id)
        assert stored is not None and stored.assigned_to == world.supervisor.id


def test_recount_rebuilds_the_tally_of_mine(database: Database) -> None:
    world = World.build(database.sessions)
    claimed = [world.request() for _ in range(3)]
    with database.sessions() as session:
        for request_id in claimed:
            world.casework.claim(session, world.agent, request_id, category=WOMAN)
        world.casework.cancel(session, world.agent, claimed[0])
    truth = _truth(database)
    with database.engine.begin() as connection:
        connection.execute(sa.delete(RequestAssigneeTally))
        connection.execute(
            sa.insert(RequestAssigneeTally).values(
                user_id=world.supervisor.id,
                branch="riyadh",
                channel="phone",
                status="received",
                requests=7,
            )
        )
        recount(connection)
    assert (
        _tallied(database)
        == truth
        == {
            (world.agent.id, "riyadh", "phone", "in_review"): 2,
            (world.agent.id, "riyadh", "phone", "cancelled"): 1,
        }
    )


def test_the_migration_puts_the_assignee_on_the_requests_already_worked(
    database: Database,
) -> None:
    world = World.build(database.sessions)
    engine = database.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")
    request = sa.table(
        "request",
        sa.column("id", sa.Integer),
        *(
            sa.column(name, sa.String)
            for name in ("reference_number", "channel", "status", "branch", "language")
        ),
        sa.column("is_partial", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    assignment = sa.table(
        "request_assignment",
        *(sa.column(name, sa.Integer) for name in ("request_id", "user_id", "assigned_by")),
        sa.column("assigned_at", sa.DateTime(timezone=True)),
    )
    # As the code before 0017 assigned: an assignment row, nothing on the request.
    rows = [
        (1, "in_review", world.agent),
        (2, "completed", world.agent),
        (3, "approved", world.other_agent),
        (4, "received", None),
    ]
    with engine.begin() as connection:
        for ident, status, user in rows:
            connection.execute(
                request.insert().values(
                    id=ident,
                    reference_number=f"{ident:010d}",
                    channel="phone",
                    status=status,
                    branch="riyadh",
                    language="ar",
                    is_partial=False,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            if user is not None:
                connection.execute(
                    assignment.insert().values(
                        request_id=ident, user_id=user.id, assigned_by=user.id, assigned_at=NOW
                    )
                )
    upgrade(engine)
    with database.sessions() as session:
        assigned = dict(session.execute(select(Request.id, Request.assigned_to)).all())
    assert assigned == {1: world.agent.id, 2: world.agent.id, 3: world.other_agent.id, 4: None}
    # (The branch tally is 0016's: rows written in SQL under it are not this test's concern.)
    assert _exact(database, world, branches=False) == {
        (world.agent.id, "riyadh", "phone", "in_review"): 1,
        (world.agent.id, "riyadh", "phone", "completed"): 1,
        (world.other_agent.id, "riyadh", "phone", "approved"): 1,
    }
