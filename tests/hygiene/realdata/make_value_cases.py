"""Generate ``value_cases.csv`` and ``truth.json``: an Outlook-style contacts export of a few
hundred people with the messy values real exports hold, and what an import must make of them.

    uv run python -m tests.hygiene.realdata.make_value_cases

Countries come in many spellings (codes, dots, other languages, capitals); phones in national
and international formats, with and without a country, some in ranges not assigned today
(kept, with a warning) and some no phone number at all; names in capitals or lower case;
a few emails and countries that must be refused. The truth is written from what the
generator *meant* (the proper spelling of a name, the country code it picked, the number it
formatted), never from Rapport's own functions. Fixed seed: rerunning gives the same files.
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from pathlib import Path
from typing import Any

import phonenumbers

HERE = Path(__file__).parent
SEED = 20261207
ROWS = 300

HEADERS = [
    "Title", "First Name", "Last Name", "Company", "Job Title", "Business Street",
    "Business City", "Business Postal Code", "Business Country/Region", "Business Phone",
    "E-mail Address", "Contact ID", "Notes",
]  # fmt: skip
EMAIL, COUNTRY, PHONE = "E-mail Address", "Business Country/Region", "Business Phone"

# Each country as people write it: codes, dots, capitals, its own and its neighbours' names.
SPELLINGS = {
    "DE": ["Germany", "Deutschland", "DEUTSCHLAND", "GER", "DEU", "de", "Allemagne", "Alemania",
           "Germania", "Duitsland"],
    "FR": ["France", "République française", "FRANCE", "FRA", "fr", "Frankreich", "Francia",
           "Frankrijk", "republique francaise"],
    "GB": ["United Kingdom", "U.K.", "UK", "Great Britain", "England", "GBR", "Royaume-Uni",
           "Vereinigtes Königreich", "Regno Unito", "gb"],
    "US": ["USA", "U.S.A.", "United States", "United States of America", "US", "usa",
           "Vereinigte Staaten", "États-Unis", "Estados Unidos"],
    "NL": ["Netherlands", "Holland", "the Netherlands", "NLD", "Niederlande", "Pays-Bas",
           "Nederland", "Países Bajos"],
    "ES": ["Spain", "España", "ESPAÑA", "Espagne", "Spanien", "ESP", "Spagna"],
    "IT": ["Italy", "Italia", "Italie", "Italien", "ITA"],
    "AT": ["Austria", "Österreich", "Autriche", "AUT"],
    "CH": ["Switzerland", "Schweiz", "Suisse", "Svizzera", "CHE"],
    "BE": ["Belgium", "Belgique", "België", "Belgien", "BEL"],
}  # fmt: skip
NOWHERE = ["Middle-earth", "Narnia", "Atlantis", "Gondor", "Westeros"]
NO_PHONES = ["n/a", "12", "call me", "tbd", "-"]
NO_EMAILS = ["not-an-email", "john@", "@example.com", "mary at example.com"]
# Names as the person writes them: the import must give these back from capitals too.
FIRST = ["Anna", "Jean-Luc", "Mary-Kate", "Sean", "Zoë", "Lars", "Chiara", "Pieter", "José",
         "Siobhan", "Ingrid", "Tomás"]  # fmt: skip
LAST = ["O'Brien", "McDonald", "MacLeod", "Macey", "Smith-Jones", "D'Angelo", "van der Berg",
        "de la Cruz", "Müller", "García", "Nguyen", "Kowalski", "Rossi", "Dupont", "Jansen",
        "MacKenzie", "Mackie"]  # fmt: skip
CITIES = {"DE": "Berlin", "FR": "Paris", "GB": "London", "US": "Boston", "NL": "Utrecht",
          "ES": "Madrid", "IT": "Roma", "AT": "Wien", "CH": "Zürich", "BE": "Gent"}  # fmt: skip


def _valid_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A number valid in ``region``: its example number with other last digits."""
    kind = rng.choice(
        [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    digits = str(example.national_number)
    for _ in range(1000):
        tail = "".join(rng.choice("0123456789") for _ in range(3))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(digits[:-3] + tail),
            italian_leading_zero=example.italian_leading_zero,
        )
        if phonenumbers.is_valid_number(number):
            return number
    return example


def _written(rng: random.Random, proper: str) -> str:
    """A name as an export may hold it: capitals, lower case, or as the person writes it."""
    style = rng.random()
    if style < 0.4:
        return proper.upper()
    if style < 0.6:
        return proper.lower()
    return proper


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii() and c.isalnum()).lower()


def case(rng: random.Random, i: int) -> tuple[list[str], dict[str, Any]]:
    """One row of the file and its truth."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    code = rng.choice(list(SPELLINGS))
    truth: dict[str, Any] = {"external_id": f"C{i:04d}", "first_name": first, "last_name": last}
    problems: list[str] = []  # columns whose value fails its check
    doubts: list[str] = []  # columns kept with a warning
    # The country: a spelling of it, none, or a place that is no country.
    roll = rng.random()
    if roll < 0.05:
        country_cell, country = rng.choice(NOWHERE), None
        problems.append(COUNTRY)
    elif roll < 0.20:
        country_cell, country = "", None
    else:
        country_cell, country = rng.choice(SPELLINGS[code]), code
    # The phone: national (read in the row's country), international, not assigned, none…
    roll = rng.random()
    phone_cell, phone = "", None
    if roll < 0.12:
        pass
    elif roll < 0.19:
        phone_cell = rng.choice(NO_PHONES)
        problems.append(PHONE)
    elif roll < 0.26:
        phone_cell = f"+1 555 01{rng.randint(0, 9)} {rng.randint(0, 9999):04d}"
        phone = "+1" + "".join(c for c in phone_cell[3:] if c.isdigit())
        doubts.append(PHONE)
    else:
        number = _valid_number(rng, code)
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        style = rng.choice(["national", "national", "international", "e164", "00"])
        if style == "national" and country is None and COUNTRY in problems:
            style = "international"  # a refused country would refuse the phone with it
        if style == "national":
            phone_cell = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            if country is None:  # no country to read it in, and the workspace has none
                problems.append(PHONE)
                phone = None
        elif style == "international":
            fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
            phone_cell = phonenumbers.format_number(number, fmt)
        elif style == "e164":
            phone_cell = phone
        else:
            phone_cell = "00" + phone[1:]
    # The email: mostly good (in any case), a few that are no address.
    if rng.random() < 0.05:
        email_cell, email = rng.choice(NO_EMAILS), None
        problems.append(EMAIL)
    else:
        email = f"{_ascii(first)}.{_ascii(last)}.{i}@example.com"
        email_cell = email.upper() if rng.random() < 0.2 else email
    # A refused country refuses the row: its phone is not looked at then.
    refused = sorted(set(problems) - ({PHONE} if COUNTRY in problems else set()))
    truth |= {
        "email": email,
        "country": country,
        "phone": None if PHONE in problems else phone,
        "city": CITIES[code],
        "strict": {"refused": refused, "warnings": [] if problems else doubts},
        "lenient": {"warnings": sorted(set(problems + doubts))},
    }
    row = [
        rng.choice(["Mr.", "Ms.", "Dr.", ""]), _written(rng, first), _written(rng, last),
        rng.choice(["Acme GmbH", "Globex", "Initech", ""]), rng.choice(["CEO", "Buyer", ""]),
        f"{rng.randint(1, 200)} Main Street", CITIES[code], f"{rng.randint(10000, 99999)}",
        country_cell, phone_cell, email_cell, truth["external_id"],
        rng.choice(["", "met at the fair", "VIP; call after 5"]),
    ]  # fmt: skip
    return row, truth


def main() -> None:
    rng = random.Random(SEED)
    rows, truths = [], []
    for i in range(ROWS):
        row, truth = case(rng, i)
        truth["line"] = i + 2  # after the header
        rows.append(row)
        truths.append(truth)
    with (HERE / "value_cases.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    (HERE / "truth.json").write_text(json.dumps(truths, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
