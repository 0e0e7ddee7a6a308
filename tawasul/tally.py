"""The requests tallies: how many requests each branch has per channel and status, and how
many each member of staff works (their "mine").

The console shows counts per status on every list; counting the requests themselves reads a
branch's whole history, or an agent's (closed requests stay assigned). The tallies
(``request_tally``, ``request_assignee_tally``) are changed in the same transaction as every
request they count (a flush listener on the session notes the changes, and their sum is
written as the transaction's last statements, just before COMMIT:
:mod:`tawasul.models.requests`), so they are exact whenever that transaction commits, and a
count reads at most a few dozen rows.

Every phone filing of a branch adds one to the same (branch, phone, received) count. Kept in
one row, that row's lock serialised the filings' commits on PostgreSQL (each holds it through
its WAL flush): at 200-400 calls in flight over several FastAGI processes, 61-68% of the
busy backends' samples waited for it (bench/calls.py). So ``request_tally`` keeps each count
over up to :data:`SHARDS` rows, each writer adding to the shard of its own connection
(:func:`shard_of`), and a count is the sum of its shards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Sequence

from sqlalchemy import Connection, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tawasul.db import execute_last
from tawasul.models import Channel, Request
from tawasul.models.requests import AssigneeKey, RequestAssigneeTally, RequestTally, TallyKey
from tawasul.workflow import RequestStatus

SHARDS = 16
"""How many rows (shards) may hold one (branch, channel, status) count of ``request_tally``.

Enough that the connections writing at once (a pool's worth per FastAGI process, a few
processes) seldom share one; few enough that a count still reads a handful of rows per key.
"""

_SHARD = "tawasul.tally.shard"
"""Connection info key: the shard this DB-API connection writes (kept for its life)."""
_next_shard = itertools.count()


def shard_of(connection: Connection) -> int:
    """The ``request_tally`` shard that this connection's transactions add their deltas to.

    Chosen once per DB-API connection: a connection runs one transaction at a time, so two
    transactions that write at once are on two connections, and the connections of one
    process take the shards in turn (the first :data:`SHARDS` of them never share one). The
    process id, read now (a forked child has its parent's counter), staggers where each
    process starts, so that the first connections of several FastAGI processes differ too.
    SQLite admits one writer at a time whatever rows it changes: shard 0 there, one row a key.

    Args:
        connection: the connection of the transaction writing the deltas.

    Returns:
        The shard, from 0 to :data:`SHARDS` - 1.
    """
    if connection.dialect.name == "sqlite":
        return 0
    shard: int | None = connection.info.get(_SHARD)
    if shard is None:
        # 7 is prime to SHARDS: consecutive process ids (a pre-fork parent's children) start
        # 7 shards apart rather than next to each other.
        shard = connection.info[_SHARD] = (os.getpid() * 7 + next(_next_shard)) % SHARDS
    return shard


def apply_deltas(connection: Connection, changes: Sequence[tuple[TallyKey, int]]) -> None:
    """Add each delta to its (branch, channel, status) count, in the connection's shard
    (:func:`shard_of`), creating the row if need be.

    One atomic upsert for every row (``requests = requests + delta``, rows in the order
    given): transactions writing to one shard at once wait for each other's row locks and
    never lose an update; transactions on other shards do not wait at all. It runs as the
    transaction's last statement (:func:`tawasul.db.execute_last`: with the COMMIT on
    PostgreSQL), so call it when the transaction is about to commit.

    Args:
        connection: the connection of the transaction that changed the requests.
        changes: ((branch, channel, status), delta) pairs, in a fixed (sorted) order.
    """
    shard = shard_of(connection)
    _upsert(
        connection,
        RequestTally,
        ("branch", "channel", "status", "shard"),
        [((*key, shard), delta) for key, delta in changes],
    )


def apply_assignee_deltas(
    connection: Connection, changes: Sequence[tuple[AssigneeKey, int]]
) -> None:
    """Add each delta to its (user, branch, channel, status) row, as :func:`apply_deltas` does.

    Args:
        connection: the connection of the transaction that changed the requests.
        changes: ((user, branch, channel, status), delta) pairs, in a fixed (sorted) order.
    """
    _upsert(
        connection,
        RequestAssigneeTally,
        ("user_id", "branch", "channel", "status"),
        changes,
    )


def _upsert(
    connection: Connection,
    table: type[RequestTally] | type[RequestAssigneeTally],
    names: tuple[str, ...],
    changes: Sequence[tuple[tuple[object, ...], int]],
) -> None:
    if not changes:
        return
    build = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # One statement for every row, as late as possible (with the COMMIT on PostgreSQL): a
    # tally row's lock is held until COMMIT, and every filing of a branch waits for it.
    statement = build(table).values(
        [{**dict(zip(names, key, strict=True)), "requests": delta} for key, delta in changes]
    )
    execute_last(
        connection,
        statement.on_conflict_do_update(
            index_elements=list(names),
            set_={"requests": table.requests + statement.excluded.requests},
        ),
    )


def recount(connection: Connection) -> None:
    """Rebuild both tallies from the requests themselves (a migration's or a bulk load's):
    one ``request_tally`` row per key, in shard 0."""
    connection.execute(delete(RequestTally))
    counted = (
        select(Request.branch, Request.channel, Request.status, literal(0), func.count())
        .select_from(Request)
        .group_by(Request.branch, Request.channel, Request.status)
    )
    connection.execute(
        insert(RequestTally).from_select(
            ["branch", "channel", "status", "shard", "requests"], counted
        )
    )
    connection.execute(delete(RequestAssigneeTally))
    assigned = (
        select(Request.assigned_to, Request.branch, Request.channel, Request.status, func.count())
        .where(Request.assigned_to.is_not(None))
        .group_by(Request.assigned_to, Request.branch, Request.channel, Request.status)
    )
    connection.execute(
        insert(RequestAssigneeTally).from_select(
            ["user_id", "branch", "channel", "status", "requests"], assigned
        )
    )


def tally_counts(
    session: Session,
    branches: Collection[str] | None,
    channel: Channel | None = None,
    statuses: Collection[RequestStatus] = (),
    assigned_to: int | None = None,
) -> dict[str, int]:
    """Requests per status from the tally (every status listed, zeros too): the sum of every
    row of each status, whatever their shards (one shard alone may be negative).

    Args:
        session: a read of the session.
        branches: the branches counted (None: all).
        channel: only this channel's requests, if given.
        statuses: only these statuses (the others count 0), if given.
        assigned_to: only the requests this user works (from the assignee tally), if given.

    Returns:
        ``{status: count}`` for every status of the workflow.
    """
    tally: type[RequestTally] | type[RequestAssigneeTally] = (
        RequestTally if assigned_to is None else RequestAssigneeTally
    )
    query = select(tally.status, func.sum(tally.requests)).group_by(tally.status)
    if assigned_to is not None:
        query = query.where(RequestAssigneeTally.user_id == assigned_to)
    if branches is not None:
        query = query.where(tally.branch.in_(sorted(branches)))
    if channel is not None:
        query = query.where(tally.channel == channel)
    if statuses:
        query = query.where(tally.status.in_(sorted(statuses)))
    result = {status.value: 0 for status in RequestStatus}
    for status, number in session.execute(query):
        result[RequestStatus(status).value] = int(number or 0)
    return result
