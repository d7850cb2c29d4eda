"""Faults the emulator injects into Bot API calls on demand: rate limits, server errors, slow and dropped replies.

A fault matches one method (or every method when `method` is empty) and fires `count` times, oldest rule first.
Errors and drops happen before the call is carried out, so a client that retries does not cause duplicates; a
delayed call is carried out afterwards only if the client is still connected (as if it never reached Telegram).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

FaultKind = Literal["429", "500", "502", "503", "delay", "drop"]
FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "delay", "drop")

_DESCRIPTIONS = {
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
}


class FaultSpecError(ValueError):
    """A fault request is malformed."""


@dataclass
class Fault:
    kind: FaultKind
    method: str = ""            # Bot API method name, case-insensitive; "" matches all methods
    count: int = 1              # how many calls it still affects
    retry_after: int = 1        # seconds, for 429
    delay: float = 0.0          # seconds, for "delay"

    def matches(self, method: str) -> bool:
        return self.count > 0 and (not self.method or self.method.lower() == method.lower())

    def error(self) -> tuple[int, dict[str, Any]]:
        """HTTP status and Telegram-shaped body of an error fault."""
        if self.kind == "429":
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {self.retry_after}",
                         "parameters": {"retry_after": self.retry_after}}
        code = int(self.kind)
        return code, {"ok": False, "error_code": code, "description": _DESCRIPTIONS[self.kind]}

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def fault_from_json(raw: Any) -> Fault:
    """Validate a fault request body such as {"kind": "429", "method": "sendMessage", "count": 2}."""
    if not isinstance(raw, dict):
        raise FaultSpecError("a fault is a JSON object")
    unknown = set(raw) - {"kind", "method", "count", "retry_after", "delay"}
    if unknown:
        raise FaultSpecError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = str(raw.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    try:
        fault = Fault(kind=cast(FaultKind, kind), method=str(raw.get("method", "")), count=int(raw.get("count", 1)),
                      retry_after=int(raw.get("retry_after", 1)), delay=float(raw.get("delay", 0.0)))
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"bad number: {exc}") from exc
    if fault.count < 1 or fault.retry_after < 0 or not 0 <= fault.delay <= 300:
        raise FaultSpecError("count must be >= 1, retry_after >= 0, delay between 0 and 300 seconds")
    return fault


class FaultPlan:
    """The active faults of one emulator, and how many each kind has fired."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.fired: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def active(self) -> list[Fault]:
        return [f for f in self._faults if f.count > 0]

    def take(self, method: str) -> Fault | None:
        """The first fault matching `method`, used up by one; None if the call should go through."""
        for fault in self._faults:
            if fault.matches(method):
                fault.count -= 1
                self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
                self._faults = self.active()
                return fault
        return None
