"""PIN rules and hashing: Argon2id with its parameters in the stored string."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from callqueue.queue import pins


@pytest.mark.parametrize("pin", ["1234", "00000000", "9081726"])
def test_four_to_eight_ascii_digits_are_pins(pin: str) -> None:
    assert pins.check_pin(pin) == pin


@pytest.mark.parametrize(
    "pin", ["", "123", "123456789", "12a4", "12 34", " 1234", "1234\n", "１２３４", "١٢٣٤", "12.4"]
)
def test_anything_else_is_refused_in_chinese(pin: str) -> None:
    with pytest.raises(pins.PinRefused, match="PIN 须为 4–8 位数字"):
        pins.check_pin(pin)
    with pytest.raises(pins.PinRefused):
        pins.hash_pin(pin)


def test_the_stored_string_names_the_kdf_its_parameters_and_a_fresh_salt() -> None:
    first, second = pins.hash_pin("2580"), pins.hash_pin("2580")
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert first != second  # a random salt per hash
    assert "2580" not in first
    assert pins.verify_pin(first, "2580") and pins.verify_pin(second, "2580")
    assert not pins.verify_pin(first, "2581")
    assert not pins.verify_pin(first, "")
    assert not pins.needs_rehash(first)


def test_no_hash_or_a_damaged_hash_never_verifies() -> None:
    good = pins.hash_pin("1357")
    assert not pins.verify_pin(None, "1357")
    assert not pins.verify_pin("", "1357")
    assert not pins.verify_pin("not a hash", "1357")
    assert not pins.verify_pin(good[:-6], "1357")
    assert pins.needs_rehash("not a hash")


def test_a_hash_made_with_weaker_parameters_still_verifies_and_asks_for_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("4321")
    assert pins.verify_pin(weak, "4321")
    assert pins.needs_rehash(weak)


@given(st.text(max_size=10))
def test_check_pin_accepts_exactly_the_rule(text: str) -> None:
    expected = 4 <= len(text) <= 8 and all(c in "0123456789" for c in text)
    try:
        pins.check_pin(text)
    except pins.PinRefused:
        assert not expected
    else:
        assert expected
