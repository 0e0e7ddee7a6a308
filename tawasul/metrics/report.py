"""The daily report for the ministry: the seed centre's headline figures for one day, in HTML,
in Arabic and in English, every branch, category, channel and status under its display name."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.config import Settings
from tawasul.display_names import DisplayNames
from tawasul.metrics.calls import CallFigures, figures, visits
from tawasul.metrics.requests import RequestFigures, day_figures
from tawasul.models import Language, Report, utcnow

LABELS: dict[Language, dict[str, str]] = {
    Language.AR: {
        "calls_per_hour": "المتصلون في الساعة (السعة)",
        "offered_answered": "المكالمات الواردة / المُجاب عنها",
        "service_level": "مستوى الخدمة (الرد خلال {threshold} ث)",
        "asa": "متوسط الانتظار قبل الرد",
        "aht": "متوسط مدة المعالجة",
        "abandonment": "نسبة المكالمات المتروكة",
        "received": "الطلبات الواردة",
        "same_day": "المحالة إلى الوزارة في اليوم نفسه",
        "decision": "وسيط الوقت حتى القرار",
        "sms_sent": "الرسائل النصية المرسلة",
        "headline": "الأرقام الرئيسية",
        "by_category": "الطلبات حسب التصنيف",
        "by_channel": "الطلبات حسب القناة",
        "by_branch": "الطلبات حسب الفرع",
        "by_status": "الطلبات حسب الحالة",
        "video": "ساعات مكالمات الفيديو حسب التصنيف",
        "title": "تواصل — التقرير اليومي {day}",
        "heading": "مركز الاستقبال — التقرير اليومي، {day}",
        "generated": "التعريفات: docs/metrics.md. أُعدّ في {moment} بتوقيت المركز.",
        "none": "لا شيء",
        "s": " ث",
        "h": " س",
    },
    Language.EN: {
        "calls_per_hour": "Callers per hour (capacity)",
        "offered_answered": "Calls offered / answered",
        "service_level": "Service level (answered within {threshold} s)",
        "asa": "Average wait before an answer",
        "aht": "Average handling time",
        "abandonment": "Abandonment rate",
        "received": "Requests received",
        "same_day": "Forwarded the same day",
        "decision": "Median time to a decision",
        "sms_sent": "SMS sent",
        "headline": "Headline figures",
        "by_category": "Requests by category",
        "by_channel": "Requests by channel",
        "by_branch": "Requests by branch",
        "by_status": "Requests by status",
        "video": "Video-call hours by category",
        "title": "Tawasul daily report {day}",
        "heading": "Reception centre — daily report, {day}",
        "generated": "Definitions: docs/metrics.md. Generated {moment}, the centre's time.",
        "none": "none",
        "s": " s",
        "h": " h",
    },
}
"""The report's texts in each language; branch, category, channel and status names are the
configured display names (``tawasul.display_names``)."""


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def render(
    day: date,
    calls: CallFigures,
    requests: RequestFigures,
    settings: Settings,
    language: Language = Language.AR,
    names: DisplayNames | None = None,
) -> str:
    """The report's HTML (self-contained, printable) in ``language``, every branch, category,
    channel and status under its display name.

    Args:
        day: the centre's day the figures are of.
        calls: that day's queue figures.
        requests: that day's request figures.
        settings: the centre's settings (thresholds, capacity, time zone, names).
        language: the reader's language.
        names: the display names (the settings' when not given).

    Returns:
        The HTML page.
    """
    names = names or DisplayNames.configured(settings)
    text = LABELS[language]

    def named(kind: str, figures: dict[str, Any], unit: str = "") -> list[tuple[str, str]]:
        return [
            (names.name(kind, code, language), f"{value:.1f}{unit}" if unit else str(value))
            for code, value in sorted(figures.items())
        ]

    headline = [
        (
            text["calls_per_hour"],
            f"{calls.calls_per_hour:.1f} ({settings.capacity_per_hour})",
        ),
        (text["offered_answered"], f"{calls.offered} / {calls.answered}"),
        (
            text["service_level"].format(threshold=settings.service_level_threshold_s),
            _fmt(calls.service_level, " %"),
        ),
        (text["asa"], _fmt(calls.asa_s, text["s"])),
        (text["aht"], _fmt(calls.aht_s, text["s"])),
        (text["abandonment"], _fmt(calls.abandonment_rate, " %")),
        (text["received"], str(requests.received)),
        (text["same_day"], _fmt(requests.same_day_forwarding_rate, " %")),
        (text["decision"], _fmt(requests.decision_hours_median, text["h"])),
        (text["sms_sent"], str(requests.sms_sent)),
    ]
    sections = [
        (text["headline"], headline),
        (text["by_category"], named("category", requests.by_category)),
        (text["by_channel"], named("channel", requests.by_channel)),
        (text["by_branch"], named("branch", requests.by_branch)),
        (text["by_status"], named("status", requests.by_status)),
        (text["video"], named("category", requests.video_call_hours, text["h"])),
    ]
    empty = f"<tr><td>{escape(text['none'])}</td></tr>"
    body = "\n".join(
        f"<h2>{escape(title)}</h2>\n<table>\n{_rows(pairs) or empty}\n</table>"
        for title, pairs in sections
    )
    moment = utcnow().astimezone(ZoneInfo(settings.timezone))
    direction = "rtl" if language is Language.AR else "ltr"
    title = escape(text["title"].format(day=day))
    heading = escape(text["heading"].format(day=day))
    generated = escape(text["generated"].format(moment=f"{moment:%Y-%m-%d %H:%M}"))
    return f"""<!doctype html>
<html lang="{language.value}" dir="{direction}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:.3rem .6rem;
text-align:start}}th{{width:60%}}</style></head>
<body><h1>{heading}</h1>
<p>{generated}</p>
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
    names = DisplayNames.configured(settings)
    pages = {
        language.value: render(day, calls, requests, settings, language, names)
        for language in Language
    }
    report = session.scalar(
        select(Report).where(Report.kind == "daily", Report.day == day.isoformat())
    )
    if report is None:
        report = Report(kind="daily", day=day.isoformat(), created_at=utcnow())
        session.add(report)
    report.content = {
        "html": pages[Language.AR.value],  # the default reader's: Arabic
        "html_by_language": pages,
        "calls": calls.as_dict(),
        "requests": requests.as_dict(),
    }
    session.commit()
    return report
