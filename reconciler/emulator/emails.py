"""Which email addresses the emulator accepts: HubSpot refuses invalid ones, per input.

The rule is deliberately the same as hsprefs' own (``reconciler.model.valid_email``),
written here a second time so that the emulator stays a witness of its own rather than
an echo of the code it tests: an address is trimmed and lower-cased, then it must be a
dot-atom local part of at most 64 characters, one ``@``, and a domain of at least two
labels, each 1 to 63 letters, digits or hyphens that neither starts nor ends with a
hyphen; 254 characters at most in all. Control characters, spaces, quoted local parts,
empty or repeated dots, and non-ASCII addresses are refused.

``tests/emulator/test_emails.py`` holds the two rules equal on generated strings, so
neither can drift from the other unnoticed: the emulator never refuses an address
``hsprefs validate`` accepts, and never stores one it rejects.
"""

from __future__ import annotations

import string

__all__ = ["is_email"]

# RFC 5322 "atext", lower case (addresses are compared lower-cased).
_ATEXT = frozenset(string.ascii_lowercase + string.digits + "!#$%&'*+/=?^_`{|}~-")
_LABEL = frozenset(string.ascii_lowercase + string.digits + "-")
_MAX_ADDRESS = 254
_MAX_LOCAL = 64
_MAX_LABEL = 63


def _dot_atom(text: str) -> bool:
    atoms = text.split(".")
    return all(atom and set(atom) <= _ATEXT for atom in atoms)


def _domain(text: str) -> bool:
    labels = text.split(".")
    if len(labels) < 2:
        return False
    return all(
        0 < len(label) <= _MAX_LABEL
        and set(label) <= _LABEL
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def is_email(value: str) -> bool:
    """Whether HubSpot (as emulated) accepts ``value`` as an email address."""
    address = value.strip().lower()
    if len(address) > _MAX_ADDRESS or address.count("@") != 1:
        return False
    local, _, domain = address.partition("@")
    return len(local) <= _MAX_LOCAL and _dot_atom(local) and _domain(domain)
