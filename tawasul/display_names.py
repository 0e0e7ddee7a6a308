"""The names a person reads for the codes the system stores, in Arabic and English.

Branches and officials are the centre's own: each is given an Arabic and an English name in the
settings (``branch_names``, ``official_names``: ``"<code>=<Arabic>|<English>"``). Requester
categories, meeting modes and request statuses are the system's, named here. Everything a
requester or an agent reads (SMS, phone prompts, the console, exports) takes its names from one
:class:`DisplayNames`, never the code (an Arabic SMS used to say "riyadh branch").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.models import Channel, Language, MeetingMode, RequesterCategory
from tawasul.workflow import RequestStatus

Names = Mapping[Language, str]

CATEGORY_NAMES: dict[RequesterCategory, Names] = {
    RequesterCategory.MAN: {Language.AR: "مواطن", Language.EN: "Man"},
    RequesterCategory.WOMAN: {Language.AR: "مواطنة", Language.EN: "Woman"},
    RequesterCategory.COMPANY: {Language.AR: "شركة أو مؤسسة", Language.EN: "Company"},
}
MEETING_MODE_NAMES: dict[MeetingMode, Names] = {
    MeetingMode.IN_PERSON: {Language.AR: "حضورية", Language.EN: "In person"},
    MeetingMode.VIDEO: {Language.AR: "مكالمة فيديو", Language.EN: "Video call"},
}
STATUS_NAMES: dict[RequestStatus, Names] = {
    RequestStatus.RECEIVED: {Language.AR: "وارد", Language.EN: "Received"},
    RequestStatus.IN_REVIEW: {Language.AR: "قيد المراجعة", Language.EN: "In review"},
    RequestStatus.IDENTITY_VERIFIED: {
        Language.AR: "تم التحقق من الهوية",
        Language.EN: "Identity verified",
    },
    RequestStatus.APPROVED: {Language.AR: "معتمد", Language.EN: "Approved"},
    RequestStatus.REJECTED: {Language.AR: "مرفوض", Language.EN: "Rejected"},
    RequestStatus.SCHEDULED: {Language.AR: "مجدول", Language.EN: "Scheduled"},
    RequestStatus.COMPLETED: {Language.AR: "مكتمل", Language.EN: "Completed"},
    RequestStatus.NO_SHOW: {Language.AR: "لم يحضر", Language.EN: "No-show"},
    RequestStatus.CANCELLED: {Language.AR: "ملغى", Language.EN: "Cancelled"},
}
CHANNEL_NAMES: dict[Channel, Names] = {
    Channel.PHONE: {Language.AR: "هاتف", Language.EN: "Phone"},
    Channel.FAX: {Language.AR: "فاكس", Language.EN: "Fax"},
    Channel.TELEGRAM: {Language.AR: "برقية", Language.EN: "Telegram"},
    Channel.MANUAL: {Language.AR: "حضوري", Language.EN: "Walk-in"},
    Channel.PORTAL: {Language.AR: "البوابة الإلكترونية", Language.EN: "E-services portal"},
}
"""How a request reached the centre, as reports and exports name it (the console's i18n.js
has the same texts)."""
UNCLASSIFIED: Names = {Language.AR: "غير مصنف", Language.EN: "Unclassified"}
"""The category figures give a requester not yet classified (code ``unknown``)."""
KINDS = ("branch", "official", "category", "meeting_mode", "status", "channel")
"""The kinds of code that have display names."""
BRANCH_PLACE = {Language.AR: "فرع {name}", Language.EN: "{name} branch"}
"""How a branch is named as the place of a meeting."""


def parse_names(setting: str, entries: Iterable[str]) -> dict[str, Names]:
    """Read ``"<code>=<Arabic>|<English>"`` entries.

    Raises:
        ConfigError: an entry without a code, or without both names.
    """
    names: dict[str, Names] = {}
    for entry in entries:
        code, _, both = entry.partition("=")
        arabic, _, english = both.partition("|")
        code, arabic, english = code.strip(), arabic.strip(), english.strip()
        if not (code and arabic and english):
            raise ConfigError(f"{setting}: {entry!r} is not '<code>=<Arabic name>|<English name>'")
        names[code] = {Language.AR: arabic, Language.EN: english}
    return names


@dataclass(frozen=True)
class DisplayNames:
    """Display names by code and language."""

    branches: Mapping[str, Names]
    officials: Mapping[str, Names]

    @classmethod
    def from_settings(
        cls,
        branches: Iterable[str],
        branch_names: Iterable[str],
        officials: Iterable[str],
        official_names: Iterable[str],
    ) -> DisplayNames:
        """Build from the settings, checking every configured branch and official is named.

        Raises:
            ConfigError: a malformed entry, or a branch or official with no names.
        """
        named_branches = parse_names("branch_names", branch_names)
        named_officials = parse_names("official_names", official_names)
        for setting, codes, named in (
            ("branch_names", branches, named_branches),
            ("official_names", officials, named_officials),
        ):
            missing = [code for code in codes if code not in named]
            if missing:
                raise ConfigError(f"{setting}: no Arabic and English name for {missing}")
        return cls(named_branches, named_officials)

    @classmethod
    def configured(cls, settings: Settings | None = None) -> DisplayNames:
        """The names the settings give (the defaults' when none are given).

        Raises:
            ConfigError: a malformed entry, or a branch or official without names.
        """
        settings = settings or Settings()
        return cls.from_settings(
            settings.branches, settings.branch_names, settings.officials, settings.official_names
        )

    def branch(self, code: str, language: Language) -> str:
        """A branch's name (its code when it is not configured: never an empty text)."""
        return self.branches.get(code, {}).get(language, code)

    def official(self, code: str, language: Language) -> str:
        """An official's title (the text itself when it is not a configured code)."""
        return self.officials.get(code, {}).get(language, code)

    def place(self, branch: str, language: Language) -> str:
        """A branch as the place of a meeting: "فرع الرياض", "Riyadh branch"."""
        return BRANCH_PLACE[language].format(name=self.branch(branch, language))

    @staticmethod
    def category(category: RequesterCategory, language: Language) -> str:
        """A requester category's name."""
        return CATEGORY_NAMES[category][language]

    @staticmethod
    def meeting_mode(mode: MeetingMode, language: Language) -> str:
        """A meeting mode's name."""
        return MEETING_MODE_NAMES[mode][language]

    @staticmethod
    def status(status: RequestStatus, language: Language) -> str:
        """A request status's name."""
        return STATUS_NAMES[status][language]

    def name(self, kind: str, code: str, language: Language) -> str:
        """The name of a code as stored or counted (``"riyadh"``, ``"woman"``, ``"approved"``).

        Args:
            kind: one of :data:`KINDS`.
            code: the code; ``"unknown"`` is the category of a requester not yet classified.
            language: the reader's language.

        Returns:
            The display name, or the code itself when it has none (never an empty text).
        """
        if kind == "category" and code == "unknown":
            return UNCLASSIFIED[language]
        tables: dict[str, Mapping[Any, Names]] = {
            "branch": self.branches,
            "official": self.officials,
            "category": CATEGORY_NAMES,
            "meeting_mode": MEETING_MODE_NAMES,
            "status": STATUS_NAMES,
            "channel": CHANNEL_NAMES,
        }
        return tables[kind].get(code, {}).get(language, code)

    def as_json(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every name by kind, code and language (the console reads them)."""

        def table(names: Mapping[Any, Names]) -> dict[str, dict[str, str]]:
            return {
                str(code): {lang.value: text for lang, text in by_lang.items()}
                for code, by_lang in names.items()
            }

        return {
            "branch": table(self.branches),
            "official": table(self.officials),
            "category": table(CATEGORY_NAMES),
            "meeting_mode": table(MEETING_MODE_NAMES),
            "status": table(STATUS_NAMES),
        }
