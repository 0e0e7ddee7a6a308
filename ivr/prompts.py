"""The prompt catalogue and the renderer that turns it into sound files Asterisk can play."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr.arabic import generated_prompts

log = logging.getLogger(__name__)

AUDIO_DIR = Path(__file__).resolve().parent.parent / "audio"
CATALOGUE = AUDIO_DIR / "prompts.toml"
LANGUAGES = ("ar", "en")
TONE = "tone"
"""The "language" of a part that is a sine tone ("<hz> <seconds>"), made with sox, not spoken."""
SOUND_PREFIX = "tawasul"
"""Prompts are installed under sounds/<lang>/tawasul/, so flows play ``tawasul/<key>``."""


def sound(key: str) -> str:
    """Return the sound name of a catalogue key; the channel language picks the file."""
    return f"{SOUND_PREFIX}/{key}"


@dataclass(frozen=True)
class Prompt:
    """One text to render, in one language."""

    key: str
    language: str
    text: str
    """What people read (plain Arabic, without vowel marks)."""
    parts: tuple[tuple[str, str], ...]
    """(language, text) pieces the engine speaks: one for a plain prompt, two for a bilingual
    one; Arabic vocalised (``ar_speech`` in the catalogue)."""

    @property
    def relative_path(self) -> Path:
        """Where the file goes under a language's sounds directory (digits are Asterisk's own)."""
        if self.key.startswith("digits."):
            return Path(self.language) / "digits" / f"{self.key.split('.', 1)[1]}.wav"
        if self.key.startswith("asterisk."):
            # Asterisk's own sound names (queue announcements), which it has in English only.
            return Path(self.language) / f"{self.key.split('.', 1)[1]}.wav"
        return Path(self.language) / SOUND_PREFIX / f"{self.key}.wav"


def _flatten(table: dict[str, object], prefix: str = "") -> Iterator[tuple[str, dict[str, object]]]:
    for name, value in table.items():
        if not isinstance(value, dict):
            continue
        key = f"{prefix}{name}"
        if any(lang in value for lang in LANGUAGES) or "tone_hz" in value:
            yield key, value
        else:
            yield from _flatten(value, key + ".")


def load_catalogue(path: Path = CATALOGUE, generated: bool = True) -> list[Prompt]:
    """Read the catalogue: one :class:`Prompt` per key and language it has a text for, plus
    the generated Arabic numbers, dates and times (``ivr.arabic``)."""
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    prompts = []
    if generated:
        speech = generated_prompts(speech=True)
        prompts.extend(
            Prompt(key, "ar", text, (("ar", speech[key]),))
            for key, text in generated_prompts().items()
        )
    for key, entry in _flatten(table):
        if "tone_hz" in entry:
            # A tone (Record's beep): made for Arabic; Asterisk's own English sounds have it.
            tone = f"{entry['tone_hz']} {entry['tone_s']}"
            prompts.append(Prompt(key, "ar", f"({key})", ((TONE, tone),)))
            continue
        texts = {lang: str(entry[lang]) for lang in LANGUAGES if lang in entry}
        # What the engine is given: the vocalised text where the catalogue has one (Arabic).
        spoken = {lang: str(entry.get(f"{lang}_speech", texts[lang])) for lang in texts}
        if entry.get("bilingual"):
            parts = tuple((lang, spoken[lang]) for lang in LANGUAGES)
            joined = " / ".join(texts[lang] for lang in LANGUAGES)
            prompts.extend(Prompt(key, lang, joined, parts) for lang in LANGUAGES)
        else:
            prompts.extend(
                Prompt(key, lang, text, ((lang, spoken[lang]),)) for lang, text in texts.items()
            )
    return prompts


class EspeakEngine:
    """Offline speech with espeak-ng (Debian), which has Arabic and English voices."""

    name = "espeak-ng"

    def __init__(self, binary: str = "espeak-ng") -> None:
        self.binary = binary

    def available(self) -> bool:
        """Return True when espeak-ng is installed."""
        return shutil.which(self.binary) is not None

    def render(self, language: str, text: str, out: Path) -> None:
        """Speak ``text`` into a WAV file at espeak-ng's own rate."""
        subprocess.run(
            [self.binary, "-v", language, "-s", "150", "-w", str(out), text],
            check=True,
            capture_output=True,
        )


class SpeechUnavailable(RuntimeError):
    """An engine could not speak (its service is unreachable, slow or refused the text)."""


class GttsEngine:
    """Google's text-to-speech through gTTS, with a timeout (gTTS's default waits forever)."""

    name = "gtts"

    def __init__(self, timeout_s: float = 3.0, tld: str = "com") -> None:
        self.timeout_s = timeout_s
        # gTTS builds https://translate.google.<tld>/...; a stand-in server is reached with a
        # tld of "com@127.0.0.1:<port>" (the host part before @ becomes user info).
        self.tld = tld

    def render(self, language: str, text: str, out: Path) -> None:
        """Fetch the speech as MP3 and convert it to WAV.

        Raises:
            SpeechUnavailable: when the service fails, hangs past the timeout or is unreachable.
        """
        from gtts import gTTS
        from gtts.tts import gTTSError

        mp3 = out.with_suffix(".mp3")
        try:
            gTTS(text, lang=language, tld=self.tld, timeout=self.timeout_s).save(str(mp3))
        except (gTTSError, OSError, ValueError) as exc:
            raise SpeechUnavailable(f"gTTS: {exc}") from exc
        subprocess.run(["sox", str(mp3), str(out)], check=True, capture_output=True)


class AutoEngine:
    """gTTS while it answers, espeak-ng from the first failure on (for the rest of the build)."""

    def __init__(self, online: GttsEngine, offline: EspeakEngine) -> None:
        self.online = online
        self.offline = offline
        self.online_ok = True

    @property
    def name(self) -> str:
        """The engine that renders now (part of the cache key)."""
        return self.online.name if self.online_ok else self.offline.name

    def probe(self) -> bool:
        """Try gTTS once on a short word; on failure fall back for the whole build."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                self.online.render("en", "ok", Path(tmp) / "probe.wav")
            except (SpeechUnavailable, subprocess.CalledProcessError) as exc:
                log.warning("gTTS is not reachable (%s): rendering with espeak-ng", exc)
                self.online_ok = False
        return self.online_ok

    def render(self, language: str, text: str, out: Path) -> None:
        """Speak with gTTS, or espeak-ng once gTTS has failed."""
        if self.online_ok:
            try:
                self.online.render(language, text, out)
                return
            except (SpeechUnavailable, subprocess.CalledProcessError) as exc:
                log.warning("gTTS failed mid-build (%s): espeak-ng from now on", exc)
                self.online_ok = False
        self.offline.render(language, text, out)


def select_engine(mode: str, timeout_s: float, tld: str = "com") -> EspeakEngine | AutoEngine:
    """The engine for a build: "espeak", or "auto"/"gtts" (gTTS if it answers, else espeak-ng).

    Raises:
        SpeechUnavailable: for "gtts" when gTTS does not answer.
        ValueError: for an unknown mode.
    """
    if mode == "espeak":
        return EspeakEngine()
    if mode not in ("auto", "gtts"):
        raise ValueError(f"unknown prompt engine {mode!r}")
    engine = AutoEngine(GttsEngine(timeout_s, tld), EspeakEngine())
    if not engine.probe() and mode == "gtts":
        raise SpeechUnavailable("gTTS is not reachable")
    return engine


def _to_asterisk_wav(sources: list[Path], out: Path) -> None:
    # Asterisk's format_wav plays 8 kHz, mono, 16-bit signed PCM.
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["sox", *map(str, sources), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]
    subprocess.run([*command, str(out)], check=True, capture_output=True)


@dataclass
class BuildReport:
    """What a build did."""

    rendered: int = 0
    recorded: int = 0
    unchanged: int = 0


class PromptBuilder:
    """Renders the catalogue into ``build_dir``, skipping prompts whose source did not change."""

    def __init__(
        self,
        build_dir: Path = AUDIO_DIR / "build",
        recorded_dir: Path = AUDIO_DIR / "recorded",
        engine: EspeakEngine | AutoEngine | None = None,
    ) -> None:
        self.build_dir = build_dir
        self.recorded_dir = recorded_dir
        self.engine = engine or EspeakEngine()
        self._manifest_path = build_dir / "manifest.json"

    def _source_hash(self, prompt: Prompt) -> tuple[str, Path | None]:
        recorded = self.recorded_dir / prompt.language / f"{prompt.key}.wav"
        digest = hashlib.sha256()
        if recorded.exists():
            digest.update(b"recorded:" + recorded.read_bytes())
            return digest.hexdigest(), recorded
        digest.update(f"{self.engine.name}:{prompt.parts!r}".encode())
        return digest.hexdigest(), None

    def build(self, prompts: list[Prompt], progress: bool = False) -> BuildReport:
        """Render what is missing or changed and return how many files each way.

        The progress bar is drawn on a terminal only (a log file gets the summary alone).
        """
        progress = progress and sys.stderr.isatty()
        manifest: dict[str, str] = {}
        if self._manifest_path.exists():
            manifest = json.loads(self._manifest_path.read_text(encoding="utf-8"))
        report = BuildReport()
        total = len(prompts)
        for index, prompt in enumerate(prompts, 1):
            target = self.build_dir / prompt.relative_path
            source_hash, recorded = self._source_hash(prompt)
            name = str(prompt.relative_path)
            if manifest.get(name) == source_hash and target.exists():
                report.unchanged += 1
            elif recorded is not None:
                _to_asterisk_wav([recorded], target)
                report.recorded += 1
            else:
                self._render(prompt, target)
                report.rendered += 1
                # gTTS may have failed during this render: key the file by who spoke it.
                source_hash, _ = self._source_hash(prompt)
            manifest[name] = source_hash
            if progress:
                _progress_bar(index, total, name)
        self._manifest_path.parent.mkdir(parents=True, exist_ok=True)
        self._manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")
        if progress:
            sys.stderr.write("\n")
        return report

    def _render(self, prompt: Prompt, target: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            pieces = []
            for number, (language, text) in enumerate(prompt.parts):
                piece = Path(tmp) / f"{number}.wav"
                if language == TONE:
                    hertz, seconds = text.split()
                    command = ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(piece)]
                    subprocess.run(
                        [*command, "synth", seconds, "sine", hertz, "vol", "0.5"],
                        check=True,
                        capture_output=True,
                    )
                else:
                    self.engine.render(language, text, piece)
                pieces.append(piece)
            _to_asterisk_wav(pieces, target)


def _progress_bar(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // total
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} {label[:40]:<40}")
    sys.stderr.flush()
