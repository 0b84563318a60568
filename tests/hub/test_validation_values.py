"""The hub's normalisers on values as real exports write them: countries in many spellings,
national phone numbers, names in capitals, domains with dots and schemes."""

from __future__ import annotations

import pytest

from rapport.hub.validation import (
    clean_name,
    normalise_country,
    normalise_domain,
    normalise_phone,
    read_phone,
)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("U.S.A.", "US"), ("USA", "US"), ("united states", "US"), ("U.K.", "GB"), ("UK", "GB"),
        ("Great Britain", "GB"), ("England", "GB"), ("Holland", "NL"), ("GER", "DE"),
        ("Deutschland", "DE"), ("DEUTSCHLAND", "DE"), ("deu", "DE"), ("DE", "DE"),
        ("République française", "FR"), ("republique francaise", "FR"), ("Frankreich", "FR"),
        ("España", "ES"), ("Espagne", "ES"), ("Países Bajos", "NL"), ("Niederlande", "NL"),
        ("Pays-Bas", "NL"), ("Royaume-Uni", "GB"), ("Vereinigtes Königreich", "GB"),
        ("Österreich", "AT"), ("Schweiz", "CH"), ("Italia", "IT"), ("Polska", "PL"),
        ("Sverige", "SE"), ("Belgique", "BE"), ("the Netherlands", "NL"), ("Germnay", "DE"),
        (" france ", "FR"), ("Brasil", "BR"), ("Czechia", "CZ"),
    ],
)  # fmt: skip
def test_countries_as_people_write_them(written: str, code: str) -> None:
    assert normalise_country(written) == code


@pytest.mark.parametrize("written", ["Middle-earth", "Narnia", "Atlantis", "XX", "Moon", "-"])
def test_unknown_countries_are_refused_with_a_reason(written: str) -> None:
    with pytest.raises(ValueError, match=r"unknown country|country is empty"):
        normalise_country(written)


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("030 1234567", "DE", "+49301234567"),
        ("0171 1234567", "DE", "+491711234567"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+49 30 1234567", None, "+49301234567"),
        ("0049 30 1234567", "", "+49301234567"),
        ("(415) 555-0123", "US", "+14155550123"),
    ],
)
def test_phones_are_read_in_the_rows_region(written: str, region: str | None, e164: str) -> None:
    assert read_phone(written, region) == (e164, None)


def test_a_national_number_without_a_country_is_not_guessed_as_american() -> None:
    with pytest.raises(ValueError, match="no country to read 030 1234567: add a country column"):
        read_phone("030 1234567", None)
    with pytest.raises(ValueError, match="no country"):
        normalise_phone("030 1234567", "")


def test_a_possible_number_outside_todays_ranges_is_kept_with_a_doubt() -> None:
    number, doubt = read_phone("+1 555 010 0000", None)
    assert number == "+15550100000"
    assert doubt is not None and "not a number range in use" in doubt
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalise_phone("+1 555 010 0000", "US")  # the hub's own forms stay strict


@pytest.mark.parametrize("written", ["12", "0301234567890123456", "call me"])
def test_what_is_no_phone_number_at_all_is_refused(written: str) -> None:
    with pytest.raises(ValueError):
        read_phone(written, "DE")


@pytest.mark.parametrize(
    ("written", "cased"),
    [
        ("O'BRIEN", "O'Brien"), ("o'brien", "O'Brien"), ("MCDONALD", "McDonald"),
        ("MACLEOD", "MacLeod"), ("MACEY", "Macey"), ("mackie", "Mackie"),
        ("SMITH-JONES", "Smith-Jones"), ("VAN DER BERG", "van der Berg"),
        ("de la cruz", "de la Cruz"), ("D'ANGELO", "D'Angelo"), ("JEAN-LUC", "Jean-Luc"),
        ("  ANNA   MARIA ", "Anna Maria"), ("DE", "De"),
        # Mixed case is the person's own spelling: kept as written.
        ("McDonald", "McDonald"), ("DeShawn", "DeShawn"), ("Macey", "Macey"),
        ("van Gogh", "van Gogh"), ("MacEwan", "MacEwan"), ("d'Alembert", "d'Alembert"),
    ],
)  # fmt: skip
def test_names_are_recased_only_when_written_in_one_case(written: str, cased: str) -> None:
    assert clean_name(written) == cased


@pytest.mark.parametrize(
    ("written", "domain"),
    [
        ("acme.com.", "acme.com"), ("ACME.COM", "acme.com"), ("www.acme.com", "acme.com"),
        ("https://www.acme.com/path?q=1", "acme.com"), ("http://Acme.com:8080/", "acme.com"),
        ("bücher.de", "xn--bcher-kva.de"), ("https://BÜCHER.de/", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"), ("sub.acme.co.uk", "sub.acme.co.uk"),
    ],
)  # fmt: skip
def test_domains_are_stored_in_one_form(written: str, domain: str) -> None:
    assert normalise_domain(written) == domain


@pytest.mark.parametrize("written", ["acme", "not a domain", "http://", "1.2.3.4", "a..b.com"])
def test_what_is_no_domain_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match="not a domain name"):
        normalise_domain(written)
