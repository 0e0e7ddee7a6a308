"""A request's history as people read it: newest first, who did each thing by name and role
(or which part of the system), and the notes with their author.

The audit trail stores its actor as a key (``user:7``, ``ivr``, ``worker``, ``portal``, ``fax``,
``retention``); this turns it into a person or a named part of the system. The kinds are the
stable keys of the trail (``created``, ``claimed``, ``note``, ...) and of the other sources
(``ivr_call``, ``call_back``, ``sms``): the console words them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.casefile import HistoryEntry
from tawasul.models import RequestNote, User

USER_PREFIX = "user:"
PEOPLE_KEYS = ("from_user", "to_user")
"""Details that hold a member of staff's id."""
SOURCE_SYSTEM = {"call": "ivr", "sms": "worker"}
"""Who acted for history entries that name no actor: the phone menu took the call, the worker
sent the SMS."""


@dataclass(frozen=True)
class Person:
    """A member of staff as history names them."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Actor:
    """Who did something: a member of staff, or a part of the system (``ivr``, ``worker``...)."""

    person: Person | None = None
    system: str | None = None


@dataclass(frozen=True)
class NoteText:
    """A follow-up note's words and author."""

    id: int
    text: str
    author: Person | None


@dataclass(frozen=True)
class WordedEntry:
    """One line of the history: when, what (a stable kind), who, and what came of it."""

    at: datetime
    source: str
    """``audit``, ``call``, ``click_to_call``, ``sms`` or ``note``."""
    kind: str
    actor: Actor | None
    status: str | None
    details: dict[str, object]
    note: NoteText | None = None
    people: dict[str, Person] = field(default_factory=dict)
    """The staff the details name by id (``from_user``, ``to_user`` of a reassignment)."""


def _person(user: User) -> Person:
    return Person(user.id, user.username, user.role.value)


def _staff(session: Session, ids: Iterable[int]) -> dict[int, Person]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        user.id: _person(user) for user in session.scalars(select(User).where(User.id.in_(wanted)))
    }


def _user_id(actor: str | None) -> int | None:
    if actor and actor.startswith(USER_PREFIX) and actor[len(USER_PREFIX) :].isdigit():
        return int(actor[len(USER_PREFIX) :])
    return None


def in_words(
    session: Session, entries: list[HistoryEntry], notes: list[RequestNote]
) -> list[WordedEntry]:
    """The history newest first, each actor named, each note with its text and author.

    Args:
        session: the unit of work (only read: the staff named).
        entries: the request's history (``tawasul.casefile.Casefile.history``), in any order.
        notes: the request's notes; each replaces the ``note`` audit event that recorded it.

    Returns:
        The entries, newest first (ties: notes and later sources after earlier ones reversed).
    """
    ids = [uid for entry in entries if (uid := _user_id(entry.actor)) is not None]
    named = [
        value
        for entry in entries
        for key in PEOPLE_KEYS
        if isinstance(value := entry.details.get(key), int)
    ]
    staff = _staff(session, [*ids, *named, *(note.author_id for note in notes)])
    noted = {note.id for note in notes}
    worded: list[WordedEntry] = []
    for entry in entries:
        if entry.kind == "note" and entry.details.get("note_id") in noted:
            continue  # told below with its text and author
        uid = _user_id(entry.actor)
        if uid is not None:
            person = staff.get(uid)
            actor: Actor | None = Actor(person=person) if person else Actor(system=entry.actor)
        elif entry.actor:
            actor = Actor(system=entry.actor)
        elif entry.source in SOURCE_SYSTEM:
            actor = Actor(system=SOURCE_SYSTEM[entry.source])
        else:
            actor = None
        details = dict(entry.details)
        kind = entry.kind
        if entry.source == "sms":
            details["template"] = kind
            kind = "sms"
        people = {
            key: staff[value]
            for key in PEOPLE_KEYS
            if isinstance(value := entry.details.get(key), int) and value in staff
        }
        worded.append(
            WordedEntry(entry.at, entry.source, kind, actor, entry.status, details, people=people)
        )
    for note in notes:
        author = staff.get(note.author_id)
        worded.append(
            WordedEntry(
                at=note.created_at,
                source="note",
                kind="note",
                actor=Actor(person=author) if author else None,
                status=None,
                details={},
                note=NoteText(note.id, note.text, author),
            )
        )
    worded.reverse()  # entries came oldest first: a stable sort keeps ties newest-first too
    worded.sort(key=lambda item: item.at, reverse=True)
    return worded
