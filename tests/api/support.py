"""Helpers of the API tests (importable as ``tests.api.support``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tawasul.ids import luhn_valid
from tawasul.ports import CallLeg, DeliveryError

PASSWORD = "correct horse battery"
_serial = itertools.count(100_000_01)


def valid_national_id() -> str:
    """A fresh national ID with a valid Luhn check digit."""
    body = f"1{next(_serial):08d}"
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@dataclass
class RecordingCallControl:
    """A ``CallControl`` that records what it was asked and answers as told."""

    answer: CallLeg = field(default_factory=lambda: CallLeg(True, "ANSWER"))
    fail: bool = False
    calls: list[tuple[str, str, dict[str, str], float]] = field(default_factory=list)

    def connect(
        self, first: str, second_number: str, variables: dict[str, str], timeout_s: float
    ) -> CallLeg:
        self.calls.append((first, second_number, dict(variables), timeout_s))
        if self.fail:
            raise DeliveryError("AMI down", permanent=False)
        return self.answer
