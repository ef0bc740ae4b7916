"""Masking email addresses in what people see (``--redact``, docs/architecture.md#consent-rules).

A mask is stable within a run (one key per :class:`Redactor`) and cannot be reversed by
guessing addresses, since the key is random and never shown. The domain is kept: it
helps a reviewer and says little about a person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["EMAIL_PATTERN", "Redactor"]

EMAIL_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")


class Redactor:
    """Maps each email address to a mask such as ``subscriber-3f2a9c1b@redacted``.

    ``enabled=False`` makes every method the identity, so renderers need no branches.
    """

    def __init__(self, *, enabled: bool = True, key: bytes | None = None) -> None:
        self.enabled = enabled
        self._key = key if key is not None else secrets.token_bytes(32)
        self._cache: dict[str, str] = {}

    def email(self, address: str) -> str:
        if not self.enabled:
            return address
        cached = self._cache.get(address)
        if cached is None:
            digest = hmac.new(self._key, address.lower().encode(), hashlib.sha256).hexdigest()
            # The domain is masked too: a one-person company's domain names its owner.
            cached = f"subscriber-{digest[:8]}@redacted"
            self._cache[address] = cached
        return cached

    def text(self, text: str) -> str:
        """Mask every email address inside free text (reasons, error messages)."""
        if not self.enabled:
            return text
        return EMAIL_PATTERN.sub(lambda m: self.email(m.group(0)), text)
