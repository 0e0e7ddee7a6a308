"""Fill a database with a centre's two years of requests, for the agent-API benchmark.

``python -m bench.api_data --database-url URL --rows 1000000`` (``--database-url`` repeatable:
the rows are generated once and loaded into each database side by side) builds the schema
through the migrations (so the indexes are the production ones), drops the secondary indexes
and the keys, bulk-loads the rows (``executemany`` on SQLite, ``COPY`` on PostgreSQL), then
recreates the same indexes and keys from the definitions it read before dropping them.

What is written: staff accounts, requesters (national IDs hashed and encrypted by the real
``PiiProtector``), requests (branches, channels and statuses spread as a centre's would be, the
open ones recent), each request's audit trail along its path through the workflow, who works
it, the IVR call of phone requests, appointment slots and the appointments booked in them.
Not written: SMS, outbox, notes and attachments (the request page reads them by an indexed
request id, which answers as fast from an empty table as from a full one).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import multiprocessing
import queue
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tawasul.accounts import hash_password
from tawasul.db import make_engine
from tawasul.ids import damm_digit
from tawasul.migrate import upgrade
from tawasul.models.requests import callback_tail_of
from tawasul.pii import PiiProtector

GENERATOR_VERSION = 1
"""Bumped whenever what is generated changes: a cached database of another version is rebuilt."""
SECRET_KEY = "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMzI="
"""The benchmark's personal-data master key (the API under test is given the same one)."""
PASSWORD = "bench-password-1"
SEED = 20261128
CHUNK = 20_000
"""Requests generated and written per batch (with their audit trails, calls, appointments)."""
DAYS = 730
DAY_S = 86400
SLOT_HOURS = tuple(range(8, 16))
"""The centre's local hours (AST, UTC+3) that have appointment slots."""
SLOT_DAYS_AHEAD = 30
VIDEO_BASE_URL = "https://meet.example.invalid/tawasul"

BRANCHES = ("riyadh", "jeddah", "medina")
BRANCH_WEIGHTS = (45, 35, 20)
AGENTS_PER_BRANCH = {"riyadh": 12, "jeddah": 9, "medina": 5}
SUPERVISORS_PER_BRANCH = 2
CHANNELS = ("phone", "portal", "fax", "manual", "telegram")
CHANNEL_WEIGHTS = (60, 20, 8, 8, 4)
OFFICIALS = ("minister", "deputy_minister", "undersecretary")
CATEGORIES = ("man", "woman", "company")
CATEGORY_WEIGHTS = (50, 35, 15)
REQUESTS_PER_REQUESTER = 1.45
"""Requests are drawn with replacement from rows / 1.45 people: over half of those who come,
come again (1.9 requests each on average)."""

# Where requests stand, by age (under 2 days, under 30 days, older): the new ones open, the
# old ones closed.
STATUS_BY_AGE: tuple[dict[str, int], ...] = (
    {
        "received": 55,
        "in_review": 25,
        "identity_verified": 8,
        "approved": 4,
        "cancelled": 5,
        "rejected": 3,
    },
    {
        "received": 8,
        "in_review": 10,
        "identity_verified": 8,
        "approved": 8,
        "scheduled": 30,
        "completed": 20,
        "rejected": 6,
        "cancelled": 6,
        "no_show": 4,
    },
    {
        "completed": 62,
        "rejected": 14,
        "cancelled": 12,
        "no_show": 9,
        "received": 1,
        "in_review": 1,
        "scheduled": 1,
    },
)
STATUS_TABLES = tuple(
    (tuple(weights), tuple(itertools.accumulate(weights.values()))) for weights in STATUS_BY_AGE
)
# The steps of the workflow that lead to each status, after "created".
PATHS: dict[str, tuple[str, ...]] = {
    "received": (),
    "in_review": ("claimed",),
    "identity_verified": ("claimed", "verification_started", "identity_verified"),
    "approved": ("claimed", "verification_started", "identity_verified", "approved"),
    "rejected": ("claimed", "verification_started", "identity_verified", "rejected"),
    "scheduled": ("claimed", "verification_started", "identity_verified", "approved", "scheduled"),
}
PATHS["completed"] = (*PATHS["scheduled"], "completed")
PATHS["no_show"] = (*PATHS["scheduled"], "no_show")
STEP_STATUS: dict[str, tuple[str | None, str | None]] = {
    "claimed": ("received", "in_review"),
    "verification_started": (None, None),
    "identity_verified": ("in_review", "identity_verified"),
    "approved": ("identity_verified", "approved"),
    "rejected": ("identity_verified", "rejected"),
    "scheduled": ("approved", "scheduled"),
    "completed": ("scheduled", "completed"),
    "no_show": ("scheduled", "no_show"),
}
STEP_DELAY_S: dict[str, tuple[int, int]] = {
    "claimed": (300, 2 * DAY_S),
    "verification_started": (60, DAY_S),
    "identity_verified": (60, 1800),
    "approved": (3600, 3 * DAY_S),
    "rejected": (3600, 3 * DAY_S),
    "scheduled": (600, 2 * DAY_S),
    "cancelled": (3600, 5 * DAY_S),
    "completed": (0, 0),  # an hour after the meeting's start
    "no_show": (0, 0),
}
Step = tuple[str, str | None, str | None, int, int]
"""A step of a request's trail: its kind, the statuses before and after, the delay range."""


def _steps(names: Sequence[str], cancelled_from: str | None = None) -> tuple[Step, ...]:
    steps: list[Step] = []
    for name in names:
        low, high = STEP_DELAY_S[name]
        steps.append((name, *STEP_STATUS[name], low, high - low))
    if cancelled_from is not None:
        low, high = STEP_DELAY_S["cancelled"]
        steps.append(("cancelled", cancelled_from, "cancelled", low, high - low))
    return tuple(steps)


STEPS = {status: _steps(names) for status, names in PATHS.items()}
CANCELLED_PATHS = tuple(
    _steps(PATHS[before], cancelled_from=before)
    for before in ("received", "in_review", "identity_verified", "approved", "scheduled")
)
"""A cancelled request was cancelled from any open status, with the steps up to it."""
SUPERVISOR_STEPS = frozenset({"approved", "rejected"})
CREATORS = {"phone": "ivr", "portal": "portal", "fax": "fax"}
"""Who files a request of each channel (telegrams and walk-ins: the agent who types them)."""
CREATED_DETAILS = {channel: json.dumps({"channel": channel}) for channel in CHANNELS}
CATEGORY_DETAILS = {category: json.dumps({"category": category}) for category in CATEGORIES}
STEP_DETAILS = {
    "verification_started": json.dumps({"provider": "sms"}),
    "identity_verified": json.dumps({"provider": "sms", "outcome": "verified"}),
    "approved": "{}",
    "rejected": json.dumps({"reason": "not within the official's remit"}),
    "completed": "{}",
    "no_show": "{}",
    "cancelled": "{}",
}
TALLY_SQL = (
    "INSERT INTO request_tally (branch, channel, status, requests) "
    "SELECT branch, channel, status, count(*) FROM request GROUP BY branch, channel, status"
)
"""The requests tally (kept by the app in every transaction), counted once after the load."""
ASSIGNEE_TALLY_SQL = (
    "INSERT INTO request_assignee_tally (user_id, branch, channel, status, requests) "
    "SELECT assigned_to, branch, channel, status, count(*) FROM request "
    "WHERE assigned_to IS NOT NULL GROUP BY assigned_to, branch, channel, status"
)
"""The tally per assignee (the counts of "mine"), counted once after the load too."""
CALL_STEPS = ("language", "national_id", "official", "meeting_mode", "callback_number")

TABLES: dict[str, tuple[str, ...]] = {
    "app_user": (
        "id",
        "username",
        "password_hash",
        "role",
        "branch",
        "extension",
        "is_active",
        "takes_calls",
        "failed_logins",
        "session_version",
        "created_at",
    ),
    "requester": (
        "id",
        "national_id_hash",
        "national_id_encrypted",
        "national_id_last4_hash",
        "created_at",
    ),
    "request": (
        "id",
        "reference_number",
        "channel",
        "status",
        "is_partial",
        "requester_id",
        "category",
        "target_official",
        "meeting_mode",
        "branch",
        "assigned_to",
        "callback_number",
        "callback_tail",
        "language",
        "voice_message_path",
        "forwarded_at",
        "created_at",
        "updated_at",
    ),
    "request_event": (
        "id",
        "request_id",
        "at",
        "actor",
        "kind",
        "from_status",
        "to_status",
        "details",
    ),
    "request_assignment": ("request_id", "user_id", "assigned_at", "assigned_by"),
    "call": (
        "id",
        "uniqueid",
        "caller_id",
        "language",
        "started_at",
        "answered_at",
        "ended_at",
        "journey",
        "outcome",
        "request_id",
    ),
    "appointment_slot": (
        "id",
        "branch",
        "mode",
        "starts_at",
        "ends_at",
        "capacity",
        "booked",
        "created_at",
    ),
    "appointment": (
        "id",
        "request_id",
        "slot_id",
        "status",
        "meeting_link",
        "reminder_outbox_id",
        "booked_by",
        "created_at",
    ),
}
"""The tables filled, in load order, with their columns as the generated tuples hold them."""


@dataclass(frozen=True)
class Staff:
    """The accounts the generated requests are worked by."""

    agents: dict[str, list[int]]
    supervisors: dict[str, list[int]]
    rows: list[tuple[Any, ...]]


def staff(now: datetime) -> Staff:
    """Agents and supervisors of each branch and one admin, all with :data:`PASSWORD`."""
    password_hash = hash_password(PASSWORD)
    agents: dict[str, list[int]] = {}
    supervisors: dict[str, list[int]] = {}
    rows: list[tuple[Any, ...]] = []
    created = now - timedelta(days=DAYS + 10)

    def add(username: str, role: str, branch: str, extension: str | None) -> int:
        ident = len(rows) + 1
        takes_calls = role == "agent"  # as migration 0012 sets it: agents take queue calls
        active = True
        row = (ident, username, password_hash, role, branch, extension, active, takes_calls)
        rows.append((*row, 0, 1, created))
        return ident

    for branch in BRANCHES:
        agents[branch] = [
            add(f"{branch}-agent-{n:02d}", "agent", branch, f"PJSIP/{1000 + len(rows)}")
            for n in range(1, AGENTS_PER_BRANCH[branch] + 1)
        ]
        supervisors[branch] = [
            add(f"{branch}-supervisor-{n}", "supervisor", branch, None)
            for n in range(1, SUPERVISORS_PER_BRANCH + 1)
        ]
    add("admin", "admin", BRANCHES[0], None)
    return Staff(agents, supervisors, rows)


def luhn_completed(body: str) -> str:
    """The body with the Luhn check digit that makes it a valid national ID."""
    total = 0
    for position, ch in enumerate(reversed(body)):
        value = ord(ch) - 48
        if position % 2 == 0:  # doubled: the check digit will stand to its right
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


@dataclass
class Generator:
    """Deterministic rows for ``rows`` requests ending at ``now`` (the same on every database).

    Times are seconds since the epoch while generating and text in the rows (see
    :class:`Clock`), so one pass feeds SQLite and PostgreSQL alike.
    """

    rows: int
    now: datetime
    pii: PiiProtector
    staff: Staff
    clock: Clock = field(default_factory=lambda: Clock())
    created: list[float] = field(default_factory=list)
    """Each request's creation time, seconds since the epoch, ascending."""
    references: list[str] = field(default_factory=list)
    requester_of: list[int] = field(default_factory=list)
    """Each request's requester, by the order people first came (0-based)."""
    national_ids: list[str] = field(default_factory=list)
    slot_booked: dict[int, int] = field(default_factory=dict)
    next_event_id: int = 1
    next_call_id: int = 1
    next_appointment_id: int = 1
    _last4: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(SEED)
        self.end = self.now.timestamp()
        start = self.end - DAYS * DAY_S
        created = []
        for _ in range(self.rows):
            day = rng.randrange(DAYS)
            # Most requests come in working hours (08:00-16:00 AST = 05:00-13:00 UTC).
            if rng.random() < 0.8:
                second = 5 * 3600 + rng.random() * 8 * 3600
            else:
                second = rng.random() * DAY_S
            created.append(min(start + day * DAY_S + second, self.end - 1))
        created.sort()
        self.created = created
        bodies: set[int] = set()
        low = 10**7
        while len(bodies) < self.rows:
            bodies.add(rng.randrange(low, 10 * low))
        self.references = [f"{body}{damm_digit(str(body))}" for body in bodies]
        rng.shuffle(self.references)
        people = max(int(self.rows / REQUESTS_PER_REQUESTER), 1)
        first_seen: dict[int, int] = {}
        for _ in range(self.rows):
            drawn = rng.randrange(people)
            self.requester_of.append(first_seen.setdefault(drawn, len(first_seen)))
        middles = rng.sample(range(10**8), len(first_seen))
        self.national_ids = [
            luhn_completed(("1" if rng.random() < 0.75 else "2") + f"{middle:08d}")
            for middle in middles
        ]
        self.first_slot_day = int(start // DAY_S) - 15
        self.actors = {row[0]: f"user:{row[0]}" for row in self.staff.rows}
        self.journeys = [
            json.dumps(
                [
                    {"step": step, "t": round(4.0 + 9.5 * number + rng.random(), 3)}
                    for number, step in enumerate(CALL_STEPS)
                ]
            )
            for _ in range(64)
        ]

    # -- the pieces ------------------------------------------------------------------------

    def slot_id(self, branch: int, mode: int, day: int, hour: int) -> int:
        """The id of a slot, computed: every (branch, mode, day, hour) has exactly one."""
        index = day - self.first_slot_day
        return ((index * len(BRANCHES) + branch) * 2 + mode) * len(SLOT_HOURS) + (hour - 8) + 1

    def slots(self) -> list[tuple[Any, ...]]:
        """Every slot from before the first request to a month ahead, with its bookings."""
        rows = []
        created = self.clock(self.first_slot_day * DAY_S)
        for day in range(self.first_slot_day, int(self.end // DAY_S) + SLOT_DAYS_AHEAD + 1):
            for branch_index, branch in enumerate(BRANCHES):
                for mode_index, mode in enumerate(("in_person", "video")):
                    for hour in SLOT_HOURS:
                        ident = self.slot_id(branch_index, mode_index, day, hour)
                        starts = day * DAY_S + (hour - 3) * 3600
                        rows.append(
                            (
                                ident,
                                branch,
                                mode,
                                self.clock(starts),
                                self.clock(starts + 3600),
                                60,
                                self.slot_booked.get(ident, 0),
                                created,
                            )
                        )
        return rows

    def requester_row(self, person: int, at: str) -> tuple[Any, ...]:
        """A requester as intake stores one: keyed hashes and the encrypted national ID."""
        national_id = self.national_ids[person]
        tail = national_id[-4:]
        last4 = self._last4.get(tail)
        if last4 is None:
            last4 = self._last4[tail] = self.pii.fingerprint("last4:" + tail)
        return (
            person + 1,
            self.pii.fingerprint(national_id),
            self.pii.encrypt(national_id, "national_id"),
            last4,
            at,
        )

    def chunks(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """The rows of every table, :data:`CHUNK` requests at a time, in load order."""
        seen = 0
        for first in range(0, self.rows, CHUNK):
            out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
            last = min(first + CHUNK, self.rows)
            rng = random.Random(SEED * 7919 + first)
            count = last - first
            branches = rng.choices(range(len(BRANCHES)), BRANCH_WEIGHTS, k=count)
            channels = rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=count)
            categories = rng.choices(CATEGORIES, CATEGORY_WEIGHTS, k=count)
            for offset in range(count):
                index = first + offset
                person = self.requester_of[index]
                created_text = self.clock(self.created[index])
                if person == seen:
                    out["requester"].append(self.requester_row(person, created_text))
                    seen += 1
                self.request(
                    rng,
                    index,
                    created_text,
                    branches[offset],
                    channels[offset],
                    categories[offset],
                    out,
                )
            yield out

    def request(
        self,
        rng: random.Random,
        index: int,
        created_text: str,
        branch_index: int,
        channel: str,
        category: str,
        out: dict[str, list[tuple[Any, ...]]],
    ) -> None:
        """One request's row and the rows that hang off it (its trail, call, appointment)."""
        draw = rng.random
        clock = self.clock.seconds
        ident = index + 1
        created = self.created[index]
        end = self.end
        age_days = (end - created) / DAY_S
        statuses, cumulative = STATUS_TABLES[0 if age_days < 2 else 1 if age_days < 30 else 2]
        status = statuses[bisect.bisect(cumulative, draw() * cumulative[-1])]
        branch = BRANCHES[branch_index]
        person: int | None = self.requester_of[index]
        if channel == "fax" and age_days < 7 and draw() < 0.5:
            person = None  # a fax not transcribed yet
        is_partial = channel == "phone" and draw() < 0.005
        if is_partial:
            status = "received"
        language = "ar" if draw() < 0.85 else "en"
        callback = None
        if person is not None and (channel in ("phone", "portal") or draw() < 0.9):
            callback = f"+9665{(person * 7919 + 12345678) % 10**8:08d}"
        video = draw() < 0.3
        agents = self.staff.agents[branch]
        agent = agents[int(draw() * len(agents))]
        supervisors = self.staff.supervisors[branch]
        supervisor = supervisors[int(draw() * len(supervisors))]
        if status == "cancelled":
            path = CANCELLED_PATHS[int(draw() * len(CANCELLED_PATHS))]
        else:
            path = STEPS[status]
        if not path:
            category = None
        events = out["request_event"]
        event_id = self.next_event_id
        if not is_partial:
            if channel == "phone":
                details = f'{{"channel": "phone", "call": "{int(created)}.{ident}"}}'
            else:
                details = CREATED_DETAILS[channel]
            creator = CREATORS.get(channel) or self.actors[agent]
            events.append(
                (event_id, ident, created_text, creator, "created", None, "received", details)
            )
            event_id += 1
        # The trail: each step some time after the one before (never after now).
        moment = created
        slot = 0
        slot_start = 0.0
        appointment_status = "booked"
        scheduled_text = ""
        assigned: int | None = None
        for step, from_status, to_status, low, span in path:
            if step == "completed" or step == "no_show":
                moment = max(min(slot_start + 3600, end), moment)
                appointment_status = "attended" if step == "completed" else "missed"
            else:
                moment = min(moment + low + draw() * span, end)
            moment_text = clock(moment)
            if step == "claimed":
                details = CATEGORY_DETAILS[category]
                out["request_assignment"].append((ident, agent, moment_text, agent))
                assigned = agent
            elif step == "scheduled":
                slot, slot_start = self._slot(draw, branch_index, video, moment, status)
                details = f'{{"appointment_id": {self.next_appointment_id}, "slot_id": {slot}}}'
                scheduled_text = moment_text
            else:
                details = STEP_DETAILS[step]
            actor = self.actors[supervisor if step in SUPERVISOR_STEPS else agent]
            events.append(
                (event_id, ident, moment_text, actor, step, from_status, to_status, details)
            )
            event_id += 1
        self.next_event_id = event_id
        if slot:
            if status == "cancelled":
                appointment_status = "cancelled"
            elif appointment_status == "booked":
                self.slot_booked[slot] = self.slot_booked.get(slot, 0) + 1
            link = f"{VIDEO_BASE_URL}/{rng.getrandbits(96):024x}" if video else None
            out["appointment"].append(
                (
                    self.next_appointment_id,
                    ident,
                    slot,
                    appointment_status,
                    link,
                    None,
                    agent,
                    scheduled_text,
                )
            )
            self.next_appointment_id += 1
        voice = None
        if channel == "phone":
            out["call"].append(
                (
                    self.next_call_id,
                    f"{int(created)}.{ident}",
                    callback,
                    language,
                    clock(created - 60 - draw() * 180),
                    clock(created - 55),
                    clock(created + 5),
                    self.journeys[ident % len(self.journeys)],
                    "hung_up" if is_partial else "request_filed",
                    ident,
                )
            )
            self.next_call_id += 1
            if draw() < 0.1:
                voice = f"voice/{created_text[:10].replace('-', '/')}/{ident}.wav.enc"
        mode = ("video" if video else "in_person") if path or channel != "phone" else None
        out["request"].append(
            (
                ident,
                self.references[index],
                channel,
                status,
                is_partial,
                person + 1 if person is not None else None,
                category,
                OFFICIALS[ident % len(OFFICIALS)],
                mode,
                branch,
                assigned,
                callback,
                callback_tail_of(callback),
                language,
                voice,
                None if is_partial else clock(min(created + 30 + draw() * 870, end)),
                created_text,
                created_text if moment == created else clock(moment),
            )
        )

    def _slot(
        self,
        draw: Callable[[], float],
        branch: int,
        video: bool,
        booked: float,
        status: str,
    ) -> tuple[int, float]:
        """A slot 1-20 days after the booking (a held meeting's slot is in the past)."""
        ahead = booked + (1 + int(draw() * 20)) * DAY_S
        if status in ("completed", "no_show") and ahead > self.end - 7200:
            ahead = max(booked, self.end - DAY_S)
        day = int(ahead // DAY_S)
        hour = SLOT_HOURS[int(draw() * len(SLOT_HOURS))]
        return self.slot_id(branch, int(video), day, hour), day * DAY_S + (hour - 3) * 3600


# -- loading ---------------------------------------------------------------------------------


class Clock:
    """Times as the text SQLAlchemy writes to SQLite ("YYYY-MM-DD HH:MM:SS.ffffff", UTC).

    PostgreSQL reads the same text into ``timestamptz`` in a session whose time zone is UTC,
    so one generated row serves both. Formatting is by table lookup: millions are needed.
    """

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._seconds = [
            f"{hour:02d}:{minute:02d}:{second:02d}"
            for hour in range(24)
            for minute in range(60)
            for second in range(60)
        ]
        self._whole = [f"{text}.000000" for text in self._seconds]

    def __call__(self, moment: float) -> str:
        """The time to the microsecond (creation times: the lists' keyset is on them)."""
        whole = int(moment)
        day = whole // DAY_S
        prefix = self._days.get(day) or self._day(day)
        return f"{prefix}{self._seconds[whole - day * DAY_S]}.{int((moment - whole) * 1e6):06d}"

    def seconds(self, moment: float) -> str:
        """The time to the second: twice as fast, for the millions of other timestamps."""
        whole = int(moment)
        day = whole // DAY_S
        return (self._days.get(day) or self._day(day)) + self._whole[whole - day * DAY_S]

    def _day(self, day: int) -> str:
        text = self._days[day] = datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d ")
        return text


class SqliteLoader:
    """Bulk-loads a SQLite file: no journal while loading, indexes built once at the end."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=OFF")
        self._connection.execute("PRAGMA synchronous=OFF")
        self._connection.execute("PRAGMA foreign_keys=OFF")
        self._connection.execute("PRAGMA cache_size=-262144")
        tables = ", ".join(f"'{name}'" for name in TABLES)
        self._indexes = list(
            self._connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "  # noqa: S608
                f"AND sql IS NOT NULL AND tbl_name IN ({tables})"
            )
        )
        for name, _ in self._indexes:
            self._connection.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows (in the column order of :data:`TABLES`)."""
        if not rows:
            return
        columns = TABLES[table]
        placeholders = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{column}"' for column in columns)
        self._connection.execute("BEGIN")
        self._connection.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})',  # noqa: S608
            rows,
        )
        self._connection.execute("COMMIT")

    def finish(self) -> None:
        """Build the indexes dropped at the start; the tally counted; back to WAL."""
        for _, sql in self._indexes:
            self._connection.execute(sql)
        self._connection.execute(TALLY_SQL)
        self._connection.execute(ASSIGNEE_TALLY_SQL)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.close()


class PostgresLoader:
    """Bulk-loads PostgreSQL with COPY; indexes and foreign keys rebuilt from their definitions."""

    def __init__(self, url: str) -> None:
        import psycopg

        plain = make_url(url).set(drivername="postgresql")
        self._connection = psycopg.connect(
            plain.render_as_string(hide_password=False), autocommit=True
        )
        names = list(TABLES)
        with self._connection.cursor() as cursor:
            # The generated times are UTC text without an offset.
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            # Each COPY commits: no need to wait for the disk each time (the load is redone if
            # the box crashes half way).
            cursor.execute("SET synchronous_commit = off")
            quoted = names + [f'"{name}"' for name in names]
            # Primary and unique keys are built once at the end too (a bulk build beats a
            # million inserts into a B-tree), before the foreign keys that refer to them.
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype IN ('p', 'u') "
                "AND conrelid::regclass::text = ANY(%s)",
                (quoted,),
            )
            unique = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' "
                "AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
                (quoted, quoted),
            )
            foreign = cursor.fetchall()
            self._keys = unique + foreign
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = ANY(%s) AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
                (names,),
            )
            self._indexes = cursor.fetchall()
            for table, name, _ in reversed(self._keys):
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in self._indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY rows in (in the column order of :data:`TABLES`)."""
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in TABLES[table])
        with self._connection.cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)

    def finish(self) -> None:
        """Indexes and keys back; sequences past the ids written; statistics as autovacuum has."""
        with self._connection.cursor() as cursor:
            for _, sql in self._indexes:
                cursor.execute(sql)
            for table, name, definition in self._keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(TALLY_SQL)
            cursor.execute(ASSIGNEE_TALLY_SQL)
            for table, columns in TABLES.items():
                if columns[0] == "id":
                    sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
                    highest = f'coalesce((SELECT max(id) FROM "{table}"), 0) + 1'  # noqa: S608
                    cursor.execute(f"SELECT setval({sequence}, {highest}, false)")
            # A production database has been vacuumed and analysed by autovacuum long since.
            cursor.execute("VACUUM ANALYZE")
        self._connection.close()


def fresh_database(url: str) -> Engine:
    """An empty database at ``url`` (dropped and created again), migrated to the heads."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from pathlib import Path

        assert parsed.database
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    else:
        admin = make_engine(
            parsed.set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


def generate(urls: Sequence[str], rows: int, *, progress: bool = True) -> dict[str, Any]:
    """Fill fresh databases at ``urls`` with the same ``rows`` requests, side by side.

    This process generates the rows once and loads the first database (SQLite first: its
    inserts run in this process); every other database is loaded by a process of its own from a
    queue (the rows pickled cost a fraction of generating them again).

    Returns:
        Row counts per table, the seconds taken (all databases ready), the seconds each took,
        and ``now`` (when the newest request came in).
    """
    started = time.perf_counter()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ordered = sorted(urls, key=lambda url: make_url(url).get_backend_name() != "sqlite")
    context = multiprocessing.get_context("spawn")
    others = []
    for url in ordered[1:]:
        feed: Any = context.Queue(maxsize=16)
        answer: Any = context.Queue()
        process = context.Process(target=_load_fed, args=(url, feed, answer), daemon=True)
        process.start()
        others.append((url, process, feed, answer))
    local = _loader(ordered[0])

    def write(table: str, table_rows: list[tuple[Any, ...]]) -> None:
        for url, process, feed, _ in others:
            _put(feed, process, url, (table, table_rows))
        local.write(table, table_rows)

    team = staff(now)
    generator = Generator(rows, now, PiiProtector.from_master_key(SECRET_KEY), team)
    counts = dict.fromkeys(TABLES, 0)
    users = [(*row[:-1], generator.clock(row[-1].timestamp())) for row in team.rows]
    write("app_user", users)
    counts["app_user"] = len(users)
    for number, chunk in enumerate(generator.chunks(), 1):
        for table, chunk_rows in chunk.items():
            write(table, chunk_rows)
            counts[table] += len(chunk_rows)
        if progress and number % 10 == 0:
            done = min(number * CHUNK, rows)
            print(f"  {done:,} requests written ({time.perf_counter() - started:.0f} s)")
    slots = generator.slots()
    write("appointment_slot", slots)
    counts["appointment_slot"] = len(slots)
    loaded = time.perf_counter() - started
    for url, process, feed, _ in others:
        _put(feed, process, url, None)
    local.finish()
    seconds = {ordered[0]: round(time.perf_counter() - started, 1)}
    for url, process, _, answer in others:
        while True:
            try:
                failure = answer.get(timeout=5)
                break
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"the loader of {url} died") from None
        process.join()
        if failure:
            raise RuntimeError(f"the loader of {url} failed: {failure}")
        seconds[url] = round(time.perf_counter() - started, 1)
    return {
        "rows": rows,
        "counts": counts,
        "now": now.isoformat(),
        "load_s": round(loaded, 1),
        "per_database_s": seconds,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _loader(url: str) -> SqliteLoader | PostgresLoader:
    """A loader on a fresh, migrated database at ``url``."""
    engine = fresh_database(url)
    engine.dispose()
    if engine.url.get_backend_name() == "sqlite":
        assert engine.url.database
        return SqliteLoader(engine.url.database)
    return PostgresLoader(url)


def _put(feed: Any, process: Any, url: str, item: Any) -> None:
    while True:
        try:
            feed.put(item, timeout=5)
            return
        except queue.Full:
            if not process.is_alive():
                raise RuntimeError(f"the loader of {url} died") from None


def _load_fed(url: str, feed: Any, answer: Any) -> None:
    """In a process of its own: load what the generating process sends, until ``None``."""
    try:
        loader = _loader(url)
        while (item := feed.get()) is not None:
            loader.write(*item)
        loader.finish()
    except Exception as exc:  # noqa: BLE001 (reported to the generating process, which raises)
        answer.put(repr(exc))
        raise
    answer.put("")


def main(argv: list[str] | None = None) -> int:
    """Command line: build one database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, action="append", help="repeatable")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    summary = generate(args.database_url, args.rows)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
