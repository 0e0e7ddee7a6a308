"""The requests tally: how many requests each branch has per channel and status.

The console shows counts per status on every list; counting the requests themselves reads a
branch's whole history. The tally (``request_tally``) is changed in the same transaction as
every request it counts (a flush listener on the session, :mod:`tawasul.models.requests`), so it
is exact whenever that transaction commits, and a count reads at most a few dozen rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tawasul.models import Channel, Request
from tawasul.models.requests import RequestTally, TallyKey
from tawasul.workflow import RequestStatus


def apply_deltas(connection: Connection, changes: Sequence[tuple[TallyKey, int]]) -> None:
    """Add each delta to its (branch, channel, status) row, creating the row if need be.

    One atomic upsert per row (``requests = requests + delta``): concurrent transactions wait
    for each other's row lock and never lose an update.

    Args:
        connection: the connection of the transaction that changed the requests.
        changes: ((branch, channel, status), delta) pairs, in a fixed (sorted) order.
    """
    build = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for (branch, channel, status), delta in changes:
        statement = build(RequestTally).values(
            branch=branch, channel=channel, status=status, requests=delta
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["branch", "channel", "status"],
                set_={"requests": RequestTally.requests + statement.excluded.requests},
            )
        )


def recount(connection: Connection) -> None:
    """Rebuild the tally from the requests themselves (a migration's or a bulk load's)."""
    connection.execute(delete(RequestTally))
    counted = (
        select(Request.branch, Request.channel, Request.status, func.count())
        .select_from(Request)
        .group_by(Request.branch, Request.channel, Request.status)
    )
    connection.execute(
        insert(RequestTally).from_select(["branch", "channel", "status", "requests"], counted)
    )


def tally_counts(
    session: Session,
    branches: Collection[str] | None,
    channel: Channel | None = None,
    statuses: Collection[RequestStatus] = (),
) -> dict[str, int]:
    """Requests per status from the tally (every status listed, zeros too).

    Args:
        session: a read of the session.
        branches: the branches counted (None: all).
        channel: only this channel's requests, if given.
        statuses: only these statuses (the others count 0), if given.

    Returns:
        ``{status: count}`` for every status of the workflow.
    """
    query = select(RequestTally.status, func.sum(RequestTally.requests)).group_by(
        RequestTally.status
    )
    if branches is not None:
        query = query.where(RequestTally.branch.in_(sorted(branches)))
    if channel is not None:
        query = query.where(RequestTally.channel == channel)
    if statuses:
        query = query.where(RequestTally.status.in_(sorted(statuses)))
    result = {status.value: 0 for status in RequestStatus}
    for status, number in session.execute(query):
        result[RequestStatus(status).value] = int(number or 0)
    return result
