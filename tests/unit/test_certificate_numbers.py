"""C4: a granted certificate is numbered from its CB's template (``grc.numbering.render_number``); a CB saves
only templates ``check_template`` accepts. The counter behind ``{seq}`` (``next_value``) is one database upsert,
covered by the certification tests."""
from __future__ import annotations

import pytest

from grc.numbering import check_template, render_number
from grc.tenants.service import POLICY_DEFAULTS

DEFAULT = POLICY_DEFAULTS["numbering_template"]


def number(template: str, *, cb: str = "cb-a", scheme: str = "ISO 9001", year: int = 2026, seq: int = 42) -> str:
    return render_number(template, cb=cb, scheme=scheme, year=year, seq=seq)


def test_C4_the_default_template_gives_cb_scheme_year_and_a_five_digit_sequence() -> None:
    assert DEFAULT == "{cb}-{scheme}-{yyyy}-{seq:05}"
    assert number(DEFAULT) == "CB-A-ISO9001-2026-00042"


def test_C4_the_scheme_keeps_only_its_letters_and_digits_and_the_cb_is_upper_case() -> None:
    assert number("{cb}/{scheme}", cb="tüv-nord", scheme="ISO/IEC 27001:2022") == "TÜV-NORD/ISOIEC270012022"


@pytest.mark.parametrize(("template", "seq", "expected"), [
    ("{seq}", 7, "7"),
    ("{seq:03}", 7, "007"),
    ("{seq:03}", 12345, "12345"),  # the width is a minimum: numbers never wrap or clash
    ("{seq:09}", 1, "000000001"),
])
def test_C4_the_sequence_is_padded_to_the_width_the_template_asks_for(template: str, seq: int, expected: str) -> None:
    assert number(template, seq=seq) == expected


def test_C4_the_year_has_four_digits() -> None:
    assert number("{yyyy}", year=2026) == "2026"
    assert number("{yyyy}", year=999) == "0999"


def test_C4_text_around_the_placeholders_is_kept_as_written_slashes_included() -> None:
    assert number("CERT/{cb}/{scheme}/{yyyy}/{seq:05}") == "CERT/CB-A/ISO9001/2026/00042"
    assert number("{seq}{seq}") == "4242"


def test_C4_two_sequence_values_never_give_the_same_number() -> None:
    assert len({number(DEFAULT, seq=seq) for seq in range(1, 2000)}) == 1999


@pytest.mark.parametrize("template", [DEFAULT, "{seq}", "{cb}/{scheme}/{yyyy}/{seq:05}", "CERT-{seq:07}-{yyyy}"])
def test_C4_a_cb_may_save_a_template_with_a_sequence_and_known_placeholders(template: str) -> None:
    check_template(template)


@pytest.mark.parametrize("template", [
    "{cb}-{scheme}-{yyyy}",  # no sequence: two certificates would share a number
    "{cb}-{client}-{seq}",  # unknown placeholder
    "{seq:5}",  # a width without its leading zero
    "{seq}-{",  # a stray brace
    "{seq}}",
])
def test_C4_a_template_without_a_sequence_or_with_an_unknown_placeholder_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match=r"\{seq\} is required"):
        check_template(template)
