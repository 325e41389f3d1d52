"""Staff PINs: the rule for what a PIN may be, and hashing with Argon2id.

The stored string is argon2's PHC form (`$argon2id$v=19$m=65536,t=3,p=4$salt$hash`): the
algorithm, its parameters and a random per-PIN salt travel with the hash, so the parameters can
be raised later and old hashes are upgraded at the next good sign-in (`needs_rehash`).
Verification is libargon2's own constant-time comparison. A PIN is never logged or stored.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_DIGITS, MAX_DIGITS = 4, 8
PIN_FORMAT = f"{MIN_DIGITS}–{MAX_DIGITS} 位数字"
PIN_RULE = f"PIN 须为 {PIN_FORMAT}"
_PIN = re.compile(rf"[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}")
_HASHER = PasswordHasher()  # RFC 9106's second recommended profile: 64 MiB, 3 passes, 4 lanes


class PinRefused(ValueError):
    """A PIN that breaks the rule; the message is for staff."""


def check_pin(pin: str) -> str:
    """The PIN, if it is 4–8 ASCII digits.

    Raises:
        PinRefused: anything else (letters, spaces, full-width digits, too short or long).
    """
    if not _PIN.fullmatch(pin):
        raise PinRefused(PIN_RULE)
    return pin


def hash_pin(pin: str) -> str:
    """The stored form of a valid PIN: Argon2id with a fresh random salt.

    Raises:
        PinRefused: the PIN breaks the rule.
    """
    return _HASHER.hash(check_pin(pin))


def verify_pin(stored: str | None, pin: str) -> bool:
    """Tell whether `pin` matches the stored hash (False for no hash or a damaged one)."""
    if not stored:
        return False
    try:
        return _HASHER.verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Tell whether a hash was made with weaker parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
