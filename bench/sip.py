"""SIP load: SIPp calls over chan_pjsip into the phone menu, against calls that only answer.

SIPp (Debian ``sip-tester``) places calls at a fixed rate to the bench Asterisk's chan_pjsip on
loopback. ``menu`` calls go through the real IVR (our FastAGI server, SQLite) and press the same
keys as bench.calls's callers, as SIP INFO (application/dtmf-relay); each call must file its
request. ``answer`` calls reach an extension that answers and hangs up. For each, the highest
rate with 0 failed calls is reported. Run: ``.venv/bin/python -m bench.sip``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.calls import (
    SCRIPT,
    SIP_PORT,
    VOICE_S,
    ServerProcess,
    next_national_id,
    start_bench_asterisk,
    voice_tone,
)
from bench.common import REPO, WORK, table, write_result
from tawasul.models import Call, CallOutcome

SIPP_PORT = 18090
MEDIA_PORT = 18100
ANSWER = (REPO / "bench" / "sipp" / "answer.xml").read_text()

_INVITE = """
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=bench 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
"""

_INFO = """
  <send>
    <![CDATA[
INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} INFO
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={digit}
Duration=80
]]>
  </send>
  <recv response="200"/>
"""

_BYE_RECEIVED = """
  <recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
"""


def menu_scenario() -> str:
    """The SIPp scenario of one menu caller: bench.calls's script, keys as SIP INFO."""
    parts = [
        '<?xml version="1.0" encoding="ISO-8859-1" ?>',
        '<!DOCTYPE scenario SYSTEM "sipp.dtd">',
        '<scenario name="tawasul new request">',
        _INVITE,
    ]
    cseq = 2
    for step in SCRIPT.replace("{lead}", "2.5").split("/"):
        if step == "w30":
            break  # the caller stays until the IVR says goodbye and hangs up
        if step.startswith("w"):
            parts.append(f'  <pause milliseconds="{int(float(step[1:]) * 1000)}"/>')
            continue
        if step == "v":  # the voice message: the tone as RTP (PCMU), once, while it lasts
            parts.append(f'  <nop><action><exec rtp_stream="{VOICE_ULAW},1,0"/></action></nop>')
            parts.append(f'  <pause milliseconds="{int(VOICE_S * 1000) + 100}"/>')
            continue
        digits = [f"[field{n}]" for n in range(10)] if step == "{national_id}" else list(step)
        for number, digit in enumerate(digits):
            if number:
                parts.append('  <pause milliseconds="50"/>')
            parts.append(_INFO.format(cseq=cseq, digit=digit))
            cseq += 1
    parts += [_BYE_RECEIVED, "</scenario>", ""]
    return "\n".join(parts)


VOICE_ULAW = WORK / "sipp-voice.ulaw"
"""The menu caller's voice message for SIPp's rtp_stream: raw PCMU, 8 kHz (bench.calls's tone)."""


def write_voice_ulaw(path: Path) -> None:
    """Write bench.calls's voice tone as raw mu-law (G.711, 8 kHz), for SIPp's rtp_stream."""
    import warnings

    with warnings.catch_warnings():  # deprecated in 3.11, gone in 3.13; G.711 is all it does here
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    path.write_bytes(audioop.lin2ulaw(voice_tone(), 2))


def national_ids_file(path: Path, count: int) -> None:
    """SIPp's injection file: one new national ID per call, a digit per field."""
    with path.open("w") as handle:
        handle.write("SEQUENTIAL\n")
        for _ in range(count):
            handle.write(";".join(next_national_id()) + "\n")


def run_sipp(
    scenario: Path, service: str, rate: float, calls: int, inject: Path | None
) -> dict[str, Any]:
    """Place ``calls`` calls at ``rate`` per second; return SIPp's counts."""
    stats = WORK / f"sipp-{service}-{rate:g}.csv"
    stats.unlink(missing_ok=True)
    command = [
        "sipp",
        f"127.0.0.1:{SIP_PORT}",
        "-sf",
        str(scenario),
        "-s",
        service,
        "-r",
        f"{rate:g}",
        "-m",
        str(calls),
        "-l",
        str(max(calls, 1)),
        "-i",
        "127.0.0.1",
        "-p",
        str(SIPP_PORT),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(MEDIA_PORT),
        "-recv_timeout",
        "40000",
        "-timeout",
        "180",
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(stats),
        "-fd",
        "1",
        "-trace_err",
        "-error_file",
        str(WORK / f"sipp-{service}-errors.log"),
    ]
    if inject is not None:
        command[2:2] = ["-inf", str(inject)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    elapsed = time.monotonic() - started
    counts = {"successful": 0, "failed": 0}
    if stats.exists():
        rows = list(csv.reader(stats.open(), delimiter=";"))
        header, last = rows[0], rows[-1]
        counts = {
            "successful": int(last[header.index("SuccessfulCall(C)")]),
            "failed": int(last[header.index("FailedCall(C)")]),
        }
    return {"exit": done.returncode, "elapsed_s": elapsed, **counts}


def filed_since(database_url: str, since_id: int) -> tuple[int, int]:
    """Calls after ``since_id`` in the database, and how many of them filed a request."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        total = connection.scalar(select(func.count(Call.id)).where(Call.id > since_id)) or 0
        filed = (
            connection.scalar(
                select(func.count(Call.id)).where(
                    Call.id > since_id, Call.outcome == CallOutcome.REQUEST_FILED.value
                )
            )
            or 0
        )
    engine.dispose()
    return total, filed


def last_call_id(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.scalar(select(func.max(Call.id))) or 0
    engine.dispose()
    return value


def main(argv: list[str] | None = None) -> int:
    """Ramp both scenarios; write bench/results/sip.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--menu-rates", default="5,10,15,20")
    parser.add_argument("--answer-rates", default="100,200,400,800,1600")
    parser.add_argument("--seconds", type=float, default=8.0, help="of arrivals per rate")
    args = parser.parse_args(argv)
    settings, harness, env = start_bench_asterisk()
    write_voice_ulaw(VOICE_ULAW)
    menu = WORK / "sipp-menu.xml"
    menu.write_text(menu_scenario())
    answer = WORK / "sipp-answer.xml"
    answer.write_text(ANSWER)
    server = ServerProcess("ours", env)
    harness.cli(f"dialplan set global TAWASUL_AGI_URL agi://127.0.0.1:{settings.agi_port}")
    results: dict[str, list[dict[str, Any]]] = {"menu": [], "answer": []}
    try:
        for rate in [float(r) for r in args.menu_rates.split(",")]:
            calls = int(rate * args.seconds)
            inject = WORK / "sipp-ids.csv"
            national_ids_file(inject, calls)
            before = last_call_id(settings.database_url)
            outcome = run_sipp(menu, "menu", rate, calls, inject)
            time.sleep(1)
            total, filed = filed_since(settings.database_url, before)
            outcome.update(rate=rate, calls=calls, ivr_calls=total, filed=filed)
            outcome["ok"] = outcome["failed"] == 0 and filed == calls
            results["menu"].append(outcome)
            print(f"menu   @ {rate:g}/s: {outcome}", flush=True)
            if not outcome["ok"]:
                break
        for rate in [float(r) for r in args.answer_rates.split(",")]:
            calls = int(rate * args.seconds / 2)
            outcome = run_sipp(answer, "answer", rate, calls, None)
            outcome.update(rate=rate, calls=calls)
            outcome["ok"] = outcome["failed"] == 0 and outcome["successful"] == calls
            results["answer"].append(outcome)
            print(f"answer @ {rate:g}/s: {outcome}", flush=True)
            if not outcome["ok"]:
                break
    finally:
        server.stop()
        harness.down()
    report(results, args)
    return 0


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """Write the section of BENCHMARKS.md."""
    rows = []
    for name, outcomes in results.items():
        for outcome in outcomes:
            rows.append(
                [
                    name,
                    outcome["rate"],
                    outcome["calls"],
                    outcome["successful"],
                    outcome["failed"],
                    outcome.get("filed", "–"),
                    "✅" if outcome["ok"] else "❌",
                ]
            )

    def best(name: str) -> float:
        return max((o["rate"] for o in results[name] if o["ok"]), default=0.0)

    def stated(name: str) -> str:
        # Every rate tried passed: the limit is above the last one, not at it.
        every = all(o["ok"] for o in results[name])
        return f"{'at least ' if every else ''}{best(name):g} calls/s"

    menu_best, answer_best = best("menu"), best("answer")
    lines = [
        "## SIP load (SIPp over chan_pjsip)",
        "",
        "```",
        "make bench   # or: .venv/bin/python -m bench.sip",
        "```",
        "",
        "SIPp places calls at a fixed rate for "
        f"{args.seconds:g} s (menu) or {args.seconds / 2:g} s (answer) to the bench Asterisk "
        "on loopback. `menu` calls file a new request through the real IVR, keys sent as SIP "
        "INFO; a rate passes when SIPp saw no failed call and the database holds a filed "
        "request for every call. `answer` calls reach an extension that answers and hangs "
        "up. Rates go up until one fails.",
        "",
        table(["scenario", "calls/s", "calls", "SIPp ok", "SIPp failed", "filed", "pass"], rows),
        "",
        f"Highest rate with 0 failed calls: menu {stated('menu')}, answer-only "
        f"{stated('answer')}"
        + (
            f" (the menu reaches {menu_best / answer_best:.0%} of the answer-only rate; a menu "
            "call lasts about 12 s against a few milliseconds). These callers are outside "
            "Asterisk, so it carries only the IVR's half of each call: the menu holds about "
            f"{menu_best:g} x 12 = {menu_best * 12:.0f} calls in flight here, where "
            "bench.calls, whose Local-channel callers Asterisk plays as well, loses keys "
            "earlier."
            if answer_best
            else "."
        ),
    ]
    write_result("sip", "\n".join(lines), results)


if __name__ == "__main__":
    sys.exit(main())
