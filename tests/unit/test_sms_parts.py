"""SMS parts counted as the networks count them, and every template within its part budget."""

from __future__ import annotations

import pytest

from tawasul.config import Settings
from tawasul.display_names import DisplayNames
from tawasul.errors import ValidationError
from tawasul.models import Language
from tawasul.notifications import PART_BUDGETS, SmsStage, SmsTemplates
from tawasul.sms_parts import SmsEncoding, sms_length, sms_parts, split_parts


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", SmsEncoding.GSM7, 0, 1),
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("€" * 80, SmsEncoding.GSM7, 160, 1),  # the extension table counts double
        ("{" + "a" * 159, SmsEncoding.GSM7, 161, 2),
        # 152 septets then an escape pair: the pair does not fit the first part's last septet.
        ("a" * 152 + "[" + "a" * 152, SmsEncoding.GSM7, 306, 3),
        ("é" * 160, SmsEncoding.GSM7, 160, 1),  # in the default alphabet
        ("ê" * 10, SmsEncoding.UCS2, 10, 1),  # not in it: the whole text goes UCS-2
        ("ب" * 70, SmsEncoding.UCS2, 70, 1),
        ("ب" * 71, SmsEncoding.UCS2, 71, 2),
        ("ب" * 134, SmsEncoding.UCS2, 134, 2),
        ("ب" * 135, SmsEncoding.UCS2, 135, 3),
        ("a" * 159 + "ب", SmsEncoding.UCS2, 160, 3),  # one Arabic letter: 160 chars, 3 parts
        ("😀" * 35, SmsEncoding.UCS2, 70, 1),  # outside the BMP: two UTF-16 units
        # 66 units then a surrogate pair: it starts the second part.
        ("ب" * 66 + "😀" + "ب" * 66, SmsEncoding.UCS2, 134, 3),
    ],
)
def test_parts_as_the_network_counts_them(
    text: str, encoding: SmsEncoding, units: int, parts: int
) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units, length.parts) == (encoding, units, parts)
    assert sms_parts(text) == parts


def test_a_500_character_arabic_reason_was_a_9_part_sms() -> None:
    assert sms_parts("ب" * 560) == 9


NAMES = DisplayNames.configured()
LONGEST = {
    "reference": "9" * 10,
    "appointment": "2026-12-31 23:59",
    "code": "99999999",
    "minutes": 60,
    # The longest configured branch (or, below, a video link under the default base URL).
    "branch": max(NAMES.branches, key=lambda code: len(NAMES.place(code, Language.AR))),
    "meeting_link": None,
}
VIDEO_LINK = Settings().video_meeting_base_url + "/" + "x" * 24  # secrets.token_urlsafe(18)


def _params(stage: SmsStage, language: Language, video: bool) -> dict[str, object]:
    params = dict(LONGEST)
    if video:
        params["meeting_link"] = VIDEO_LINK
    if stage == SmsStage.REJECTED:
        params["reason"] = longest_reason(language)
    return params


def longest_reason(language: Language) -> str:
    """The longest reason the rejection budget admits (words of the language)."""
    templates = SmsTemplates.load()
    word = "السبب " if language == Language.AR else "reason "
    reason = ""
    while True:
        longer = reason + word
        params = {"reference": LONGEST["reference"], "reason": longer.strip()}
        if (
            templates.length(SmsStage.REJECTED, language, params).parts
            > PART_BUDGETS[SmsStage.REJECTED]
        ):
            return reason.strip()
        reason = longer


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("stage", list(SmsStage))
@pytest.mark.parametrize("video", [False, True])
def test_every_template_is_within_its_budget_with_the_longest_values(
    stage: SmsStage, language: Language, video: bool
) -> None:
    templates = SmsTemplates.load()
    length = templates.length(stage, language, _params(stage, language, video))
    print(f"{stage.value}/{language.value}: {length.parts} parts ({length.units} units)")
    assert length.parts <= PART_BUDGETS[stage]
    assert PART_BUDGETS[stage] <= 3


def test_the_rejection_budget_leaves_room_for_a_real_reason() -> None:
    # About 145 Arabic and 400 English characters: a paragraph, not a word.
    assert len(longest_reason(Language.AR)) >= 140
    assert len(longest_reason(Language.EN)) >= 390


@pytest.mark.parametrize("language", list(Language))
def test_a_reason_over_the_budget_is_refused_naming_the_field(language: Language) -> None:
    templates = SmsTemplates.load()
    params = {"reference": "123456789", "reason": "ب" * 500}
    with pytest.raises(ValidationError) as refused:
        templates.check_budget(SmsStage.REJECTED, language, params, "reason")
    assert refused.value.field == "reason"
    assert "9 parts, at most 3" in refused.value.reason
    fits = {"reference": "123456789", "reason": longest_reason(language)}
    assert templates.check_budget(SmsStage.REJECTED, language, fits, "reason").parts <= 3


def test_the_approval_sms_names_the_branch_in_the_requesters_language() -> None:
    templates = SmsTemplates.load()
    params = {
        "reference": "123456789",
        "appointment": "2026-12-01 10:30",
        "branch": "riyadh",
        "meeting_link": None,
    }
    arabic = templates.render(SmsStage.APPROVED, Language.AR, params)
    assert arabic.endswith("موعدك: 2026-12-01 10:30، فرع الرياض.")
    assert "riyadh" not in arabic
    english = templates.render(SmsStage.APPROVED, Language.EN, params)
    assert english.endswith("Your appointment: 2026-12-01 10:30, Riyadh branch.")
    medina = templates.render(SmsStage.REMINDER, Language.AR, {**params, "branch": "medina"})
    assert "فرع المدينة المنورة" in medina
    video = templates.render(
        SmsStage.APPROVED, Language.AR, {**params, "meeting_link": "https://meet.test/r"}
    )
    assert video.endswith("، https://meet.test/r.")


def test_a_place_owed_before_display_names_is_named_too() -> None:
    templates = SmsTemplates.load()
    params = {"reference": "1", "appointment": "2026-12-01 10:30", "place": "jeddah branch"}
    assert templates.render(SmsStage.APPROVED, Language.AR, params).endswith("، فرع جدة.")


def test_configured_names_are_used() -> None:
    names = DisplayNames.from_settings(
        ("riyadh", "dammam"),
        ("riyadh=الرياض|Riyadh", "dammam=الدمام|Dammam"),
        ("minister",),
        ("minister=معالي الوزير|His Excellency the Minister",),
    )
    templates = SmsTemplates.load(names=names)
    params = {"reference": "1", "appointment": "x", "branch": "dammam", "meeting_link": None}
    assert templates.render(SmsStage.APPROVED, Language.EN, params).endswith(", Dammam branch.")
    assert names.official("minister", Language.EN) == "His Excellency the Minister"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a" * 160,
        "a" * 161,
        "a" * 152 + "[" + "a" * 152,
        "ب" * 70,
        "ب" * 135,
        "ب" * 66 + "😀" + "ب" * 66,
        "a" * 159 + "ب",
    ],
)
def test_split_parts_cuts_where_the_count_does(text: str) -> None:
    encoding, parts = split_parts(text)
    length = sms_length(text)
    assert encoding == length.encoding
    assert len(parts) == length.parts
    assert "".join(parts) == text
    if len(parts) > 1:
        # No part over its size, and no pair cut in two.
        assert all(sms_length(part).units <= length.per_part for part in parts)
        assert all(sms_length(part).encoding == encoding or encoding == "ucs2" for part in parts)


def test_split_parts_keeps_an_escape_pair_whole() -> None:
    _, parts = split_parts("a" * 152 + "[" + "a" * 152)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("[")
