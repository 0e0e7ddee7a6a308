"""The daily report for the ministry: the seed centre's headline figures for one day, in HTML."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.config import Settings
from tawasul.metrics.calls import CallFigures, figures, visits
from tawasul.metrics.requests import RequestFigures, day_figures
from tawasul.models import Report, utcnow


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def render(day: date, calls: CallFigures, requests: RequestFigures, settings: Settings) -> str:
    """The report's HTML (self-contained, printable)."""
    categories = {"man": "Men", "woman": "Women", "company": "Companies", "unknown": "Unclassified"}
    headline = [
        (
            "Callers per hour (capacity)",
            f"{calls.calls_per_hour:.1f} ({settings.capacity_per_hour})",
        ),
        ("Calls offered / answered", f"{calls.offered} / {calls.answered}"),
        (
            f"Service level (answered within {settings.service_level_threshold_s} s)",
            _fmt(calls.service_level, " %"),
        ),
        ("Average wait before an answer", _fmt(calls.asa_s, " s")),
        ("Average handling time", _fmt(calls.aht_s, " s")),
        ("Abandonment rate", _fmt(calls.abandonment_rate, " %")),
        ("Requests received", str(requests.received)),
        ("Forwarded the same day", _fmt(requests.same_day_forwarding_rate, " %")),
        ("Median time to a decision", _fmt(requests.decision_hours_median, " h")),
        ("SMS sent", str(requests.sms_sent)),
    ]
    by_category = [(categories.get(k, k), str(v)) for k, v in sorted(requests.by_category.items())]
    by_channel = [(k, str(v)) for k, v in sorted(requests.by_channel.items())]
    video = [
        (categories.get(k, k), f"{v:.1f} h") for k, v in sorted(requests.video_call_hours.items())
    ]
    sections = [
        ("Headline figures", headline),
        ("Requests by category", by_category),
        ("Requests by channel", by_channel),
        ("Video-call hours by category", video),
    ]
    body = "\n".join(
        f"<h2>{escape(title)}</h2>\n<table>\n{_rows(pairs) or '<tr><td>none</td></tr>'}\n</table>"
        for title, pairs in sections
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tawasul daily report {day}</title>
<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:.3rem .6rem;
text-align:left}}th{{width:60%}}</style></head>
<body><h1>Reception centre — daily report, {day}</h1>
<p>Definitions: docs/metrics.md. Generated {utcnow():%Y-%m-%d %H:%M} UTC.</p>
{body}
</body></html>
"""


def daily_report(session: Session, day: date, settings: Settings) -> Report:
    """Compute and store the report of ``day`` (re-running replaces it)."""
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(day, time(0, 0), zone)
    rows = visits(session, start, start + timedelta(days=1))
    calls = figures(
        session,
        rows,
        hours=24,
        threshold_s=settings.service_level_threshold_s,
        short_abandon_s=settings.short_abandon_s,
        capacity_per_hour=settings.capacity_per_hour,
    )
    requests = day_figures(session, day, zone, settings.forward_cutoff)
    html = render(day, calls, requests, settings)
    report = session.scalar(
        select(Report).where(Report.kind == "daily", Report.day == day.isoformat())
    )
    if report is None:
        report = Report(kind="daily", day=day.isoformat(), created_at=utcnow())
        session.add(report)
    report.content = {"html": html, "calls": calls.as_dict(), "requests": requests.as_dict()}
    session.commit()
    return report
