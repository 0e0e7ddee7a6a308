"""Lists of requests for the console: filters, keyset pagination, and counts per status."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased, contains_eager

from tawasul.errors import NotFound, ValidationError
from tawasul.ids import normalize_reference_number, normalize_saudi_mobile, validate_national_id
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Channel,
    IdentityVerification,
    Request,
    Requester,
    RequesterCategory,
    VerificationStatus,
)
from tawasul.pii import PiiProtector
from tawasul.tally import tally_counts
from tawasul.text_input import compact_number, digits
from tawasul.workflow import RequestStatus

Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")

MAX_PAGE = 200
PHONE_TAIL_DIGITS = (3, 4)
"""How many last digits of a number may be searched: enough to find, too few to identify."""


class SortOrder(StrEnum):
    """The orders a list can be read in (keyset pagination needs a total order: id breaks ties)."""

    NEWEST = "-created_at"
    OLDEST = "created_at"


@dataclass(frozen=True)
class RequestFilter:
    """What the list is narrowed to; every field is optional."""

    statuses: tuple[RequestStatus, ...] = ()
    branch: str | None = None
    channel: Channel | None = None
    category: RequesterCategory | None = None
    created_from: date | None = None
    """Inclusive, a day of the centre (``zone``)."""
    created_to: date | None = None
    """Inclusive, a day of the centre (``zone``)."""
    zone: tzinfo = UTC
    """The centre's time zone (the ``timezone`` setting): the days above begin and end in it."""
    reference_number: str | None = None
    """As typed: any digits, separators ignored."""
    phone_tail: str | None = None
    """The last 3 or 4 digits of the callback number, as typed."""
    callback_number: str | None = None
    """A whole callback number, E.164 (see :func:`whole_number`)."""
    national_id_hash: str | None = None
    """The keyed hash of a whole national ID (see :func:`whole_number`)."""
    assigned_to: int | None = None
    """Only the requests this user works now (the console's "mine")."""


@dataclass(frozen=True, slots=True)
class CaseState:
    """What a request's row shows beside its own columns, read in the page's own query
    (``search(..., case_state=True)``) instead of one query each for the page."""

    appointment: Appointment | None
    """The appointment that holds a place (booked; the newest if ever several), slot loaded:
    what :meth:`tawasul.appointments.AppointmentBook.current_of` answers."""
    verified_check: IdentityVerification | None
    """The check that verified the requester (the newest verified one), if one did."""
    check_started: bool
    """Whether any identity check was started (its code may still be right, wrong or late)."""


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next one (None at the end)."""

    items: list[Request]
    next_cursor: str | None
    case_states: dict[int, CaseState] | None = None
    """By request id, when asked for (``case_state=True``)."""


_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "branch": Request.branch == bindparam("branch"),
    "visible": Request.branch.in_(bindparam("visible", expanding=True)),
    "statuses": Request.status.in_(bindparam("statuses", expanding=True)),
    "channel": Request.channel == bindparam("channel"),
    "category": Request.category == bindparam("category"),
    "created_from": Request.created_at >= bindparam("created_from"),
    "created_to": Request.created_at < bindparam("created_to"),
    "reference_number": Request.reference_number == bindparam("reference_number"),
    "tail": Request.callback_tail == bindparam("tail"),
    "tail_prefix": and_(
        Request.callback_tail >= bindparam("tail_low"),
        Request.callback_tail < bindparam("tail_high"),
    ),
    "callback_number": Request.callback_number == bindparam("callback_number"),
    "national_id_hash": Request.requester_id.in_(
        select(Requester.id).where(Requester.national_id_hash == bindparam("national_id_hash"))
    ),
    "assigned_to": Request.assigned_to == bindparam("assigned_to"),
}
"""Each condition a filter may set, built once with its values bound at execution: a page's
statement is then built once per set of conditions (:func:`_page_statement`), not for every
request (building it, and the key SQLAlchemy finds its compiled form by, was 8% of a list
page's instructions)."""


def _bound(
    visible: Collection[str] | None, flt: RequestFilter
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The conditions of :data:`_CONDITIONS` the filter sets, and their values.

    Raises:
        NotFound: a branch filter for a branch the user does not see.
        ValidationError: a bad phone tail or reference number (naming it).
    """
    values: dict[str, Any] = {}
    if flt.branch is not None:
        if visible is not None and flt.branch not in visible:
            # Another branch's list is as absent as another branch's request.
            raise NotFound("no such branch")
        values["branch"] = flt.branch
    elif visible is not None:
        values["visible"] = sorted(visible)
    if flt.statuses:
        values["statuses"] = list(flt.statuses)
    if flt.channel is not None:
        values["channel"] = flt.channel
    if flt.category is not None:
        values["category"] = flt.category
    if flt.created_from is not None:
        start = datetime.combine(flt.created_from, time(), tzinfo=flt.zone).astimezone(UTC)
        values["created_from"] = start
    if flt.created_to is not None:
        end = datetime.combine(flt.created_to + timedelta(days=1), time(), tzinfo=flt.zone)
        values["created_to"] = end.astimezone(UTC)
    if flt.reference_number is not None:
        values["reference_number"] = normalize_reference_number(flt.reference_number)
    shape = list(values)
    if flt.phone_tail is not None:
        tail = digits(flt.phone_tail, "phone_last")
        if len(tail) not in PHONE_TAIL_DIGITS:
            raise ValidationError("phone_last", "the last 3 or 4 digits of the number")
        # The tail column holds the last four digits last first. Four digits typed are the
        # whole tail: an equality, which the tail index (branch, tail, created_at, id) answers
        # in the list's order, reading the page and no more. Three are its prefix, a range
        # (LIKE 'x%' is not indexable on SQLite) whose matches are sorted.
        wanted = tail[::-1]
        if len(wanted) == max(PHONE_TAIL_DIGITS):
            values["tail"] = wanted
            shape.append("tail")
        else:
            values["tail_low"], values["tail_high"] = wanted, wanted + ":"
            shape.append("tail_prefix")
    for name in ("callback_number", "national_id_hash", "assigned_to"):
        value = getattr(flt, name)
        if value is not None:
            values[name] = value
            shape.append(name)
    return tuple(shape), values


def _scoped(query: Q, shape: tuple[str, ...]) -> Q:
    return query.where(*(_CONDITIONS[name] for name in shape))


def whole_number(pii: PiiProtector, value: str, field: str = "number") -> dict[str, str]:
    """Read a whole mobile or national ID typed into a search box, as filter fields.

    A national ID (ten digits starting 1 or 2) is matched by its keyed hash, as the intake
    stores it; anything else must be a Saudi mobile, matched in E.164. Digits of any script and
    what is pasted around them are normalised first.

    Args:
        pii: the protector whose hash the requester table holds.
        value: what was typed.
        field: the name errors give.

    Returns:
        ``{"national_id_hash": ...}`` or ``{"callback_number": ...}`` for :class:`RequestFilter`.

    Raises:
        ValidationError: naming ``field`` when the value is neither.
    """
    compact = compact_number(value)
    if len(compact) == 10 and compact[0] in "12":
        return {"national_id_hash": pii.fingerprint(validate_national_id(compact, field))}
    return {"callback_number": normalize_saudi_mobile(compact, field)}


def encode_cursor(request: Request) -> str:
    """The opaque cursor after a request: its creation time and id."""
    raw = json.dumps([request.created_at.isoformat(), request.id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Read a cursor made by :func:`encode_cursor`.

    Raises:
        ValidationError: for anything else.
    """
    try:
        stamp, ident = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None or not isinstance(ident, int) or not 0 < ident < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError, UnicodeEncodeError, binascii.Error) as exc:
        raise ValidationError("cursor", "not a cursor this API gave") from exc
    return moment, ident


def search(
    session: Session,
    visible: Collection[str] | None,
    flt: RequestFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
    order: SortOrder = SortOrder.NEWEST,
    case_state: bool = False,
) -> Page:
    """One page of the requests a user may see that match the filter.

    Args:
        session: a read-only use of the session.
        visible: the branches the user sees (None: all).
        flt: the filter.
        limit: 1 to 200 rows.
        cursor: the ``next_cursor`` of the previous page.
        order: newest or oldest first.
        case_state: also read each request's :class:`CaseState`, in the same statement (a
            list page's rows show it: two queries fewer than asking for it afterwards).

    Raises:
        NotFound: a branch filter for a branch the user does not see.
        ValidationError: a bad limit, cursor, phone tail or reference number (naming it).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"between 1 and {MAX_PAGE}")
    shape, values = _bound(visible, flt)
    if cursor is not None:
        values["cursor_at"], values["cursor_id"] = decode_cursor(cursor)
    values["limit"] = limit + 1
    query = _page_statement(shape, cursor is not None, order, case_state)
    if not case_state:
        rows = list(session.scalars(query, values))
        more = len(rows) > limit
        items = rows[:limit]
        return Page(items, encode_cursor(items[-1]) if more and items else None)
    states: dict[int, CaseState] = {}
    items = []
    for request, appointment, check, started in session.execute(query, values):
        items.append(request)
        states[request.id] = CaseState(appointment, check, bool(started))
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor(items[-1]) if more and items else None, states)


_PAGE_STATEMENTS: dict[tuple[tuple[str, ...], bool, SortOrder, bool], Select[*tuple[Any, ...]]] = {}
"""Each shape of page's statement, built on first use (a few dozen: the filters the console
combines)."""
_PAGE_STATEMENTS_MAX = 256
"""A guard: an API client combining every filter could ask for thousands of shapes; beyond
this many, a shape's statement is built for its request and not kept."""


def _page_statement(
    shape: tuple[str, ...], after_cursor: bool, order: SortOrder, case_state: bool
) -> Select[*tuple[Any, ...]]:
    """The statement of a page: the conditions of ``shape``, after the cursor if there is one,
    in ``order``, ``limit`` rows (all bound at execution), with the case state if asked."""
    key = (shape, after_cursor, order, case_state)
    cached = _PAGE_STATEMENTS.get(key)
    if cached is not None:
        return cached
    stamp: BindParameter[datetime] = bindparam("cursor_at")
    ident: BindParameter[int] = bindparam("cursor_id")
    query = _scoped(select(Request), shape)
    if after_cursor and order == SortOrder.NEWEST:
        query = query.where(
            or_(Request.created_at < stamp, and_(Request.created_at == stamp, Request.id < ident))
        )
    elif after_cursor:
        query = query.where(
            or_(Request.created_at > stamp, and_(Request.created_at == stamp, Request.id > ident))
        )
    if order == SortOrder.NEWEST:
        ordering = (Request.created_at.desc(), Request.id.desc())
    else:
        ordering = (Request.created_at.asc(), Request.id.asc())
    query = query.order_by(*ordering).limit(bindparam("limit", type_=Integer))
    if "tail_prefix" in shape:
        # A prefix of the tail matches ten tails, whose requests the index does not hold in
        # the list's order: sort their ids from the index alone (it holds created_at and id),
        # then read the page's rows only, not every match's.
        query = (
            select(Request)
            .where(Request.id.in_(query.with_only_columns(Request.id)))
            .order_by(*ordering)
        )
    built: Select[*tuple[Any, ...]] = _with_case_state(query) if case_state else query
    if len(_PAGE_STATEMENTS) < _PAGE_STATEMENTS_MAX:
        _PAGE_STATEMENTS[key] = built
    return built


_NEWER_APPOINTMENT = aliased(Appointment)
_NEWER_CHECK = aliased(IdentityVerification)
_ANY_CHECK = aliased(IdentityVerification)


def _newest_with_status(model: Any, newer: Any, status: Any) -> Any:
    """The join condition of ``model``'s row of a request with ``status`` that has no newer
    one (``newer``: an alias of ``model``) with it."""
    return and_(
        model.request_id == Request.id,
        model.status == status,
        ~exists().where(
            newer.request_id == Request.id, newer.status == status, newer.id > model.id
        ),
    )


# Built once (a list page is the console's most frequent request): each join finds at most one
# row per request, the booked appointment or the verified check that has no newer one like it,
# so the page's LIMIT still counts requests; they and the EXISTS are read by their request_id
# indexes, row by row of the page.
_NEWEST_BOOKED = _newest_with_status(Appointment, _NEWER_APPOINTMENT, AppointmentStatus.BOOKED)
_NEWEST_VERIFIED = _newest_with_status(
    IdentityVerification, _NEWER_CHECK, VerificationStatus.VERIFIED
)
_CHECK_STARTED = exists().where(_ANY_CHECK.request_id == Request.id).label("check_started")
_SLOT_OF_APPOINTMENT = AppointmentSlot.id == Appointment.slot_id
_SLOT_LOADED = contains_eager(Appointment.slot)


def _with_case_state(
    query: Select[Request],
) -> Select[Request, Appointment | None, IdentityVerification | None, bool]:
    """The page's query with each request's :class:`CaseState` joined in (one row each)."""
    return (
        query.outerjoin_from(Request, Appointment, _NEWEST_BOOKED)
        .outerjoin(AppointmentSlot, _SLOT_OF_APPOINTMENT)
        .outerjoin_from(Request, IdentityVerification, _NEWEST_VERIFIED)
        .add_columns(Appointment, IdentityVerification, _CHECK_STARTED)
        .options(_SLOT_LOADED)
    )


_TALLIED = frozenset({"statuses", "branch", "channel", "zone", "assigned_to"})
"""The filter fields the tallies answer (per branch, channel and status; per assignee too)."""


def counts(session: Session, visible: Collection[str] | None, flt: RequestFilter) -> dict[str, int]:
    """How many requests match the filter in each status (every status listed, zeros too).

    A filter by branch, channel, status and assignee ("mine") only is answered from the
    tallies (a few rows per branch or agent, however long its history); any other filter
    counts the matching requests.
    """
    default = RequestFilter()
    if all(
        getattr(flt, name) == getattr(default, name)
        for name in RequestFilter.__dataclass_fields__
        if name not in _TALLIED
    ):
        if flt.branch is not None:
            if visible is not None and flt.branch not in visible:
                raise NotFound("no such branch")
            branches: Collection[str] | None = (flt.branch,)
        else:
            branches = visible
        return tally_counts(session, branches, flt.channel, flt.statuses, flt.assigned_to)
    shape, values = _bound(visible, flt)
    query = _scoped(select(Request.status, func.count()).select_from(Request), shape)
    result = {status.value: 0 for status in RequestStatus}
    for status, number in session.execute(query.group_by(Request.status), values):
        result[RequestStatus(status).value] = int(number)
    return result
