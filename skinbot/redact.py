"""Keeps secrets out of every log line: a logging filter that replaces the bot token and the webhook secret (also
URL-encoded) in the message, its arguments, tracebacks and stack traces, at every level.

It sits on the root logger's handlers, so it also covers the libraries' own loggers (httpx logs every request URL,
which contains the token; python-telegram-bot logs the API URL and `setWebhook`'s parameters at DEBUG).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter values would blank out ordinary words; secrets are far longer


class RedactingFilter(logging.Filter):
    """Replaces each secret (and its URL-encoded form) with `REDACTED` in whatever a record will print."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for secret in secrets if len(secret) >= MIN_SECRET_LENGTH
                 for form in (secret, quote(secret, safe=""), quote(secret))}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first, so no secret is left half-replaced

    def redact(self, text: str) -> str:
        """`text` with every secret replaced."""
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place (the message is formatted once here); never drops it."""
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str], logger: logging.Logger | None = None) -> RedactingFilter:
    """Put a RedactingFilter for `secrets` on every handler of `logger` (the root logger by default). A token's
    secret part (after the colon) is redacted on its own too."""
    values = set()
    for secret in secrets:
        if secret:
            values.add(secret)
            values.add(secret.split(":", 1)[-1])
    redactor = RedactingFilter(values)
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(redactor)
    return redactor
