"""Display names: configured per branch and official in Arabic and English, refused when missing."""

from __future__ import annotations

import pytest

from tawasul.config import Settings, load_settings
from tawasul.display_names import DisplayNames
from tawasul.errors import ConfigError
from tawasul.models import Language, MeetingMode, RequesterCategory
from tawasul.workflow import RequestStatus


def test_the_defaults_name_every_default_branch_and_official() -> None:
    names = DisplayNames.configured()
    assert names.branch("riyadh", Language.AR) == "الرياض"
    assert names.branch("jeddah", Language.AR) == "جدة"
    assert names.branch("medina", Language.AR) == "المدينة المنورة"
    assert names.place("medina", Language.EN) == "Medina branch"
    assert names.place("jeddah", Language.AR) == "فرع جدة"
    for official in Settings().officials:
        assert names.official(official, Language.AR) != official
        assert names.official(official, Language.EN) != official


def test_names_come_from_the_settings_file_and_the_environment(tmp_path) -> None:
    config = tmp_path / "tawasul.toml"
    config.write_text(
        'branches = ["dammam"]\nbranch_names = ["dammam=الدمام|Dammam"]\n', encoding="utf-8"
    )
    settings = load_settings(config, environ={})
    assert DisplayNames.configured(settings).place("dammam", Language.AR) == "فرع الدمام"
    environ = {"TAWASUL_BRANCHES": "abha", "TAWASUL_BRANCH_NAMES": "abha=أبها|Abha"}
    settings = load_settings(config, environ=environ)
    assert DisplayNames.configured(settings).branch("abha", Language.EN) == "Abha"


def test_a_branch_without_names_is_refused() -> None:
    with pytest.raises(ConfigError, match="dammam"):
        DisplayNames.from_settings(("riyadh", "dammam"), ("riyadh=الرياض|Riyadh",), (), ())


@pytest.mark.parametrize("entry", ["riyadh=الرياض", "=الرياض|Riyadh", "riyadh", "riyadh=|Riyadh"])
def test_a_malformed_entry_is_refused(entry: str) -> None:
    with pytest.raises(ConfigError, match="branch_names"):
        DisplayNames.from_settings(("riyadh",), (entry,), (), ())


def test_every_category_mode_and_status_has_both_names() -> None:
    for language in Language:
        for category in RequesterCategory:
            assert DisplayNames.category(category, language)
        for mode in MeetingMode:
            assert DisplayNames.meeting_mode(mode, language)
        for status in RequestStatus:
            assert DisplayNames.status(status, language)
    assert DisplayNames.status(RequestStatus.IN_REVIEW, Language.AR) == "قيد المراجعة"
