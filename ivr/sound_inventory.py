"""Every sound file Asterisk can play to a caller of this dialplan, for one channel language.

Asterisk looks a sound up under ``sounds/<language>/`` first and falls back to ``en/`` when the
file is missing there, so an Arabic caller who reaches a sound the prompt build did not make in
Arabic hears English. This module lists what can be reached, read from the configuration itself:

- the dialplan (``dialplans/*.conf``): Playback, Background, Read, Record (its beep), SayDigits,
  SayNumber and Queue's announce override;
- app_queue with each queue's configured options (``queues.conf``, templates included): the
  position and hold-time announcements in all their forms, the numbers it says (with Asterisk's
  SayNumber rules, which have no Arabic variant and so use the English ones), the periodic
  announcements, the hold-time report to the agent;
- the AGI scripts: RECORD FILE's beep, SAY DIGITS, and the catalogue's ``tawasul/`` prompts.

:func:`missing_sounds` compares the list with a built sounds directory; a test runs it in CI.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tawasul.config import Settings

REPO = Path(__file__).resolve().parent.parent
DIALPLAN_DIR = REPO / "dialplans"
IVR_DIR = REPO / "ivr"

# app_queue's default announcement files, by the queues.conf option that renames each one.
QUEUE_SOUND_OPTIONS = {
    "queue-youarenext": "queue-youarenext",
    "queue-thereare": "queue-thereare",
    "queue-callswaiting": "queue-callswaiting",
    "queue-quantity1": "queue-quantity1",
    "queue-quantity2": "queue-quantity2",
    "queue-holdtime": "queue-holdtime",
    "queue-minute": "queue-minute",
    "queue-minutes": "queue-minutes",
    "queue-seconds": "queue-seconds",
    "queue-thankyou": "queue-thankyou",
    "queue-reporthold": "queue-reporthold",
}
CALLER_QUEUE_SOUNDS = (
    "queue-youarenext",
    "queue-thereare",
    "queue-callswaiting",
    "queue-quantity1",
    "queue-quantity2",
    "queue-holdtime",
    "queue-minute",
    "queue-minutes",
    "queue-seconds",
    "queue-thankyou",
    "queue-reporthold",
    "queue-periodic-announce",
)
"""Every announcement app_queue has, whatever the options: the catalogue makes them all in Arabic
so that turning an option on never brings English back."""

_SOUND_APPS = ("playback", "background", "controlplayback")
_APP_CALL = re.compile(r"\b([A-Za-z]+)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def say_number_files(n: int) -> list[str]:
    """The files Asterisk's SayNumber plays for ``n`` on a channel whose language has no rules of
    its own (``ar`` has none: say.c falls back to ``ast_say_number_full_en``)."""
    if n < 0:
        return ["digits/minus", *say_number_files(-n)]
    if n == 0:
        return ["digits/0"]
    files: list[str] = []
    if n >= 1000:
        files += [*say_number_files(n // 1000), "digits/thousand"]
        n %= 1000
    if n >= 100:
        files += [f"digits/{n // 100}", "digits/hundred"]
        n %= 100
    if n >= 20:
        files.append(f"digits/{n - n % 10}")
        n %= 10
    if n:
        files.append(f"digits/{n}")
    return files


def arabic_order_problem(n: int) -> str | None:
    """Why SayNumber cannot say ``n`` right in Arabic, or None.

    English rules say 21 as "twenty one"; Arabic says the unit first ("واحد وعشرون"). No set of
    sound files fixes the order, so a configuration that lets app_queue say such a number is
    refused instead.
    """
    if n >= 100:
        return f"{n}: hundreds are said with English rules"
    if n > 20 and n % 10:
        return f"{n}: said in English order (tens before units)"
    return None


@dataclass
class Reach:
    """The sounds reachable for one language, and why each one is."""

    sounds: dict[str, set[str]] = field(default_factory=dict)
    numbers: dict[int, set[str]] = field(default_factory=dict)
    """Numbers SayNumber may say, with where from (checked for Arabic word order)."""

    def add(self, sound: str, why: str) -> None:
        """Record that ``sound`` can be played, and from where."""
        sound = sound.strip()
        if sound and not sound.startswith("/"):  # absolute paths (recordings) have no language
            self.sounds.setdefault(sound, set()).add(why)

    def add_number(self, n: int, why: str) -> None:
        """Record a number SayNumber may say (and the files it plays)."""
        self.numbers.setdefault(n, set()).add(why)
        for sound in say_number_files(n):
            self.add(sound, f"{why} (SayNumber {n})")

    def add_digits(self, why: str) -> None:
        """SayDigits of any digit string."""
        for digit in range(10):
            self.add(f"digits/{digit}", why)


def _config_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its comment) of each line that holds something."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if line:
            yield number, line


def _applications(text: str) -> Iterator[tuple[str, str]]:
    """(application, arguments) of every call in ``text``, nested ones too (ExecIf(...?X(...)))."""
    for app, raw_args in _APP_CALL.findall(text):
        yield app, raw_args
        yield from _applications(raw_args)


def dialplan_globals(dialplan_dir: Path = DIALPLAN_DIR) -> dict[str, str]:
    """The ``[globals]`` of extensions.conf."""
    values: dict[str, str] = {}
    section = ""
    for _, line in _config_lines(dialplan_dir / "extensions.conf"):
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "globals" and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def _split_args(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def add_dialplan(reach: Reach, dialplan_dir: Path = DIALPLAN_DIR) -> None:
    """Add what the dialplan's applications play."""
    for path in sorted(dialplan_dir.glob("*.conf")):
        for number, line in _config_lines(path):
            why = f"{path.name}:{number}"
            for app, raw_args in _applications(line):
                name = app.lower()
                args = _split_args(raw_args)
                if name in _SOUND_APPS:
                    for sound in args[0].split("&"):
                        reach.add(sound, why)
                elif name == "read" and len(args) > 1:
                    for sound in args[1].split("&"):
                        reach.add(sound, why)
                elif name == "record" and "q" not in (args[3] if len(args) > 3 else ""):
                    reach.add("beep", why)
                elif name == "saydigits":
                    reach.add_digits(why)
                elif name == "saynumber":
                    for n in range(0, 100):
                        reach.add_number(n, why)
                elif name == "queue" and len(args) > 3 and args[3]:
                    reach.add(args[3], f"{why} (announce override)")


@dataclass
class QueueOptions:
    """The options of one queue in queues.conf, templates applied."""

    name: str
    options: dict[str, str]

    def get(self, option: str, default: str = "") -> str:
        """An option's value, or Asterisk's default."""
        return self.options.get(option, default)

    def enabled(self, option: str, default: str = "no") -> bool:
        """A yes/no option."""
        return self.get(option, default).lower() in ("yes", "true", "1", "on", "once")


def read_queues(path: Path = DIALPLAN_DIR / "queues.conf") -> list[QueueOptions]:
    """The queues of queues.conf (templates and ``[general]`` left out)."""
    sections: dict[str, dict[str, str]] = {}
    templates: set[str] = set()
    order: list[str] = []
    current: dict[str, str] | None = None
    for _, line in _config_lines(path):
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            name, parents = header.group(1), header.group(2) or ""
            current = {}
            for parent in (p.strip() for p in parents.split(",")):
                if parent == "!":
                    templates.add(name)
                elif parent:
                    current.update(sections[parent])
            sections[name] = current
            order.append(name)
        elif current is not None and "=" in line:
            option, value = line.split("=", 1)
            current[option.strip().lower()] = value.strip()
    return [
        QueueOptions(name, sections[name])
        for name in order
        if name != "general" and name not in templates
    ]


def add_queue(reach: Reach, queue: QueueOptions, max_wait_s: int) -> None:
    """Add what app_queue plays to a caller (and the agent) of ``queue``.

    Args:
        reach: where to add.
        queue: the queue's options.
        max_wait_s: the longest a caller waits in it (Queue's timeout in the dialplan): the
            estimated hold time, and so the minutes said, cannot exceed it by more than a minute.
    """
    why = f"queue {queue.name}"

    def named(option: str) -> str:
        return queue.get(option, QUEUE_SOUND_OPTIONS[option])

    frequency = int(queue.get("announce-frequency", "0") or 0)
    position = queue.get("announce-position", "yes").lower()
    holdtime = queue.get("announce-holdtime", "no").lower()
    if frequency > 0:
        if position in ("yes", "limit", "more"):
            reach.add(named("queue-youarenext"), why)
            reach.add(named("queue-thereare"), why)
            reach.add(named("queue-callswaiting"), why)
            limit = int(queue.get("announce-position-limit", "5") or 5)
            top = limit if position in ("limit", "more") else int(queue.get("maxlen", "0") or 0)
            for n in range(2, max(top, 2) + 1):
                reach.add_number(n, f"{why} position")
            if position == "more":
                reach.add(named("queue-quantity1"), why)
                reach.add(named("queue-quantity2"), why)
        if holdtime in ("yes", "once"):
            reach.add(named("queue-holdtime"), why)
            reach.add(named("queue-minute"), why)
            reach.add(named("queue-minutes"), why)
            # avgholdmins = |holdtime + 30 - waited| / 60, both bounded by the longest wait.
            for n in range(1, (max_wait_s + 30) // 60 + 1):
                reach.add_number(n, f"{why} hold time")
            if int(queue.get("announce-round-seconds", "0") or 0):
                reach.add(named("queue-seconds"), why)
                for n in range(1, 60):
                    reach.add_number(n, f"{why} hold time seconds")
        reach.add(named("queue-thankyou"), why)
    periodic_frequency = int(queue.get("periodic-announce-frequency", "0") or 0)
    if periodic_frequency > 0:
        announcements = queue.get("periodic-announce", "queue-periodic-announce")
        for announcement in re.split(r"[,|]", announcements):
            reach.add(announcement, f"{why} periodic-announce")
    if queue.get("announce"):
        reach.add(queue.get("announce"), f"{why} announce (to the agent)")
    if queue.enabled("reportholdtime"):
        reach.add(named("queue-reporthold"), why)
        for n in range(1, (max_wait_s + 30) // 60 + 1):
            reach.add_number(n, f"{why} reportholdtime")


def literal_prompt_keys(ivr_dir: Path = IVR_DIR) -> Iterator[tuple[str, str]]:
    """The catalogue keys the AGI scripts play by name: ``sound("key")`` with a literal key."""
    for path in sorted(ivr_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "sound"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value, f"{path.relative_to(ivr_dir.parent)}:{node.lineno}"


def add_agi(reach: Reach, catalogue_keys: Iterable[str], ivr_dir: Path = IVR_DIR) -> None:
    """Add what the AGI scripts play: their prompts, RECORD FILE's beep and SAY DIGITS."""
    from ivr.prompts import sound

    reach.add("beep", "AGI RECORD FILE ... BEEP")
    reach.add_digits("AGI SAY DIGITS")
    for key, why in literal_prompt_keys(ivr_dir):
        reach.add(sound(key), why)
    for key in catalogue_keys:
        if not key.startswith(("asterisk.", "digits.")):
            reach.add(sound(key), "the prompt catalogue")


def add_configured(reach: Reach, settings: Settings) -> None:
    """Add the prompts the menu builds from the settings: each branch and official it offers."""
    from ivr.prompts import sound

    for branch in settings.branches:
        reach.add(sound(f"branch.{branch}"), "setting branches (the branch menu)")
    for official in settings.officials:
        reach.add(sound(f"official.{official}"), "setting officials (the official menu)")


def reachable(
    catalogue_keys: Iterable[str],
    dialplan_dir: Path = DIALPLAN_DIR,
    ivr_dir: Path = IVR_DIR,
    settings: Settings | None = None,
) -> Reach:
    """Every sound Asterisk can play to a caller of the dialplan (and its queues' agents)."""
    reach = Reach()
    add_dialplan(reach, dialplan_dir)
    max_wait_s = int(dialplan_globals(dialplan_dir).get("TAWASUL_QUEUE_WAIT", "300"))
    for queue in read_queues(dialplan_dir / "queues.conf"):
        add_queue(reach, queue, max_wait_s)
    add_agi(reach, catalogue_keys, ivr_dir)
    add_configured(reach, settings or Settings())
    return reach


def missing_sounds(reach: Reach, sounds_dir: Path) -> dict[str, set[str]]:
    """The reachable sounds with no file (any format) under ``sounds_dir``, with where from."""
    missing = {}
    for name, why in sorted(reach.sounds.items()):
        target = sounds_dir / name
        if not any(target.parent.glob(f"{target.name}.*")):
            missing[name] = why
    return missing


def main(argv: list[str] | None = None) -> int:
    """``python -m ivr.sound_inventory [sounds_dir]``: list every reachable sound, where it is
    played from, and whether ``sounds_dir`` (default: the built ``ar/``) has it; 1 if one is
    missing."""
    import sys

    from ivr.prompts import AUDIO_DIR, load_catalogue

    args = sys.argv[1:] if argv is None else argv
    sounds_dir = Path(args[0]) if args else AUDIO_DIR / "build" / "ar"
    reach = reachable({prompt.key for prompt in load_catalogue(generated=False)})
    missing = missing_sounds(reach, sounds_dir)
    for name, why in sorted(reach.sounds.items()):
        mark = "MISSING" if name in missing else "ok"
        print(f"{mark:8} {name:40} {'; '.join(sorted(why))}")
    print(f"{len(reach.sounds)} sounds, {len(missing)} missing from {sounds_dir}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
