"""No database transaction stays open while Asterisk plays, records or waits for a caller.

On SQLite every transaction takes the write lock (``BEGIN IMMEDIATE``), so one caller's
transaction kept open through a prompt, their typing or a 60-second message freezes every other
call; on PostgreSQL it holds a connection and its row locks for as long. The server therefore
hands each channel a check (``Channel.before_command``) that refuses to send an AGI command
while the call's session is in a database transaction: a flow that forgets to commit a read
fails at once, on its first prompt, in any test that runs it, instead of under load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction


class TransactionSpansCommand(RuntimeError):
    """An AGI command was about to be sent while the call's database transaction was open."""


def forbid_open_transactions(session: Session) -> Callable[[str], None]:
    """Return a ``before_command`` check for a channel whose script uses ``session``.

    Only a transaction on a database connection counts: changing an attribute (the journey's
    next step) begins nothing in the database until the next flush.
    """
    on_connection: list[bool] = [False]

    def began(_session: Session, _transaction: SessionTransaction, _connection: Any) -> None:
        on_connection[0] = True

    def ended(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            on_connection[0] = False

    event.listen(session, "after_begin", began)
    event.listen(session, "after_transaction_end", ended)

    def check(command: str) -> None:
        if on_connection[0]:
            raise TransactionSpansCommand(
                f"{command} would be sent while the call's database transaction is open: "
                "commit (or roll back) before talking to Asterisk"
            )

    return check
