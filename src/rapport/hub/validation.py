"""Normalising what people type: emails, phone numbers (E.164), countries (ISO 3166), domains.

Each function returns the canonical form or raises ValueError with a sentence for the user.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import cache

import idna
import phonenumbers
import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from rapidfuzz.distance import OSA

# Plain ASCII addresses (nearly all of them) skip the full parser: same answer, 10x faster.
# Anything unusual (quotes, IDN, special-use domains…) goes through email-validator.
_PLAIN_EMAIL = re.compile(
    r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)
_SPECIAL_USE = tuple(f".{d}" for d in SPECIAL_USE_DOMAIN_NAMES)


def normalise_email(value: str) -> str:
    """The address in canonical form (lower-cased, IDN handled)."""
    value = value.strip()
    if not value:
        raise ValueError("email is empty")
    lowered = value.lower()
    if len(lowered) <= 254 and _PLAIN_EMAIL.match(lowered) and not lowered.endswith(_SPECIAL_USE):
        local = lowered.split("@", 1)[0]
        if len(local) <= 64:
            return lowered
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def normalise_phone(value: str, region: str | None = "US") -> str:
    """The number in E.164 (``+14155550123``); national numbers are read in ``region``
    (refused without one: guessing a country reads a German number as American)."""
    number, doubt = read_phone(value, region)
    if doubt:
        raise ValueError(f"{value!r} is not a valid phone number ({doubt})")
    return number


def read_phone(value: str, region: str | None) -> tuple[str, str | None]:
    """A number in E.164 and, when it is only *possible* (right length for its country, but
    not in a range assigned today), why it is doubtful. Raises ValueError with what to do
    when it is not a phone number at all or cannot be read without a country."""
    raw = value.strip()
    if not raw:
        raise ValueError("phone number is empty")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    international = raw.startswith("+")
    if not international and not region:
        raise ValueError(
            f"no country to read {value.strip()}: add a country column, set the workspace's "
            "default country, or write the number with its +country code"
        )
    try:
        parsed = phonenumbers.parse(raw, None if international else region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number ({exc})") from exc
    where = region if not international else "its country code"
    if phonenumbers.is_valid_number(parsed):
        doubt = None
    elif phonenumbers.is_possible_number_with_reason(parsed) == _POSSIBLE:
        doubt = f"not a number range in use in {_phone_region(parsed) or where}"
    else:
        raise ValueError(f"{value!r} is not a phone number of {where} (wrong length)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), doubt


_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def _phone_region(parsed: phonenumbers.PhoneNumber) -> str | None:
    return phonenumbers.region_code_for_country_code(parsed.country_code or 0) or None


# Names people write for countries that neither ISO 3166 nor its translations hold: sports
# and licence-plate codes, the UK's nations, old or informal names. Keys as :func:`_key`
# makes them; everything else comes from pycountry's names and their translations.
COUNTRY_ALIASES = {
    "uk": "GB", "gb": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "united kingdom": "GB",
    "usa": "US", "us": "US", "america": "US", "united states": "US",
    "united states of america": "US",
    "holland": "NL", "the netherlands": "NL", "ger": "DE", "west germany": "DE",
    "ned": "NL", "sui": "CH", "suisse": "CH", "schweiz": "CH", "svizzera": "CH", "den": "DK",
    "por": "PT", "gre": "GR", "cro": "HR", "rsa": "ZA", "uae": "AE", "emirates": "AE",
    "russia": "RU", "south korea": "KR", "korea": "KR", "north korea": "KP", "iran": "IR",
    "vietnam": "VN", "syria": "SY", "laos": "LA", "bolivia": "BO", "venezuela": "VE",
    "tanzania": "TZ", "moldova": "MD", "taiwan": "TW", "czech republic": "CZ", "czechia": "CZ",
    "ivory coast": "CI", "macedonia": "MK", "burma": "MM", "swaziland": "SZ", "turkey": "TR",
    "vatican": "VA", "palestine": "PS", "brasil": "BR", "espana": "ES", "italia": "IT",
}  # fmt: skip
# The languages whose country names are recognised (pycountry ships their ISO 3166 names).
COUNTRY_LANGUAGES = (
    "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb_NO", "fi", "cs",
    "ro", "hu", "el", "tr", "ru", "ca", "hr", "sk", "sl", "et", "lv", "lt",
)  # fmt: skip


def _key(text: str) -> str:
    """A country name reduced for comparison: no accents, dots or punctuation, lower case
    ('U.S.A.' → 'usa', 'République française' → 'republique francaise')."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).replace(".", "")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@cache
def _country_names() -> dict[str, str]:
    """Every name and code of every country, in English and :data:`COUNTRY_LANGUAGES`,
    as :func:`_key` makes them → alpha-2."""
    names: dict[str, str] = {}
    english: list[tuple[str, str]] = []
    for country in pycountry.countries:
        code = str(country.alpha_2)
        names[code.lower()] = code
        names[str(country.alpha_3).lower()] = code
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                english.append((name, code))
    for name, code in english:
        names.setdefault(_key(name), code)
    for language in COUNTRY_LANGUAGES:
        try:
            translate = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
            ).gettext
        except OSError:
            continue
        for name, code in english:
            names.setdefault(_key(translate(name)), code)
    names |= COUNTRY_ALIASES
    return names


def normalise_country(value: str) -> str:
    """ISO 3166-1 alpha-2 from a code (alpha-2 or alpha-3), a name in English or a main
    European language, in any case, with or without dots and accents ('U.S.A.' → 'US',
    'Deutschland' → 'DE'); a one-letter slip in a long name is forgiven ('Germnay').
    Anything else is refused: a wrong country would misread the row's phone numbers."""
    key = _key(value)
    if not key:
        raise ValueError("country is empty")
    names = _country_names()
    found = names.get(key) or names.get(key.removeprefix("the "))
    if found:
        return found
    if len(key) >= 6:
        close = [
            code
            for name, code in names.items()
            if abs(len(name) - len(key)) <= 1 and OSA.distance(name, key, score_cutoff=1) <= 1
        ]
        if len(set(close)) == 1:
            return close[0]
    raise ValueError(f"unknown country {value.strip()!r}: write its name or ISO code (DE, DEU)")


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def normalise_domain(value: str) -> str:
    """A bare lower-case host name from a domain or URL ('https://www.Acme.com/x' → 'acme.com',
    'acme.com.' → 'acme.com'); international names in their ASCII form ('bücher.de' →
    'xn--bcher-kva.de'), so one company has one spelling."""
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = re.split(r"[/?#]", host, maxsplit=1)[0].rpartition("@")[2].split(":", 1)[0]
    host = host.rstrip(".").removeprefix("www.")
    try:
        host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"{value!r} is not a domain name") from exc
    if not _DOMAIN.match(host) or host.rsplit(".", 1)[-1].isdigit():
        raise ValueError(f"{value!r} is not a domain name")
    return host


# Family-name prefixes written lower case inside a name ('Ludwig van der Berg', 'de la Cruz').
NAME_PARTICLES = frozenset(
    ("van", "von", "der", "den", "de", "la", "le", "du", "des", "da", "di", "del", "della",
     "dos", "das", "do", "ten", "ter", "af", "zu", "vom")
)  # fmt: skip
# Surnames whose "Mac" is a prefix (MacLeod); in others it is not (Macey, Mackie, Machado).
MAC_NAMES = frozenset(
    ("donald", "leod", "kenzie", "gregor", "arthur", "intyre", "millan", "neil", "neill",
     "pherson", "aulay", "allister", "alister", "kay", "lean", "lachlan", "lennan", "laren",
     "kinnon", "intosh", "farlane", "dougall", "queen", "rae", "innes", "ewan", "gill", "guire",
     "mahon", "namara", "carthy", "bride", "cormack", "dermott", "dowell", "iver", "kenna",
     "lellan", "nab", "nally", "master", "kinlay", "kinley", "crae", "crimmon")
)  # fmt: skip


def clean_name(value: str | None) -> str:
    """Trim and collapse inner whitespace; a name written all in capitals or all in lower
    case is re-cased the way names are written ('O'BRIEN' → 'O'Brien', 'MCDONALD' →
    'McDonald', 'VAN DER BERG' → 'van der Berg'); any other casing is the person's own."""
    text = " ".join((value or "").split())
    if len(text) > 1 and (text.isupper() or text.islower()):
        words = text.lower().split(" ")
        return " ".join(
            word if word in NAME_PARTICLES and i < len(words) - 1 else _cased(word)
            for i, word in enumerate(words)
        )
    return text


def _cased(word: str) -> str:
    """One lower-case word of a name re-cased: each part after a hyphen, the name after an
    O' / D' prefix, and Mc/Mac prefixes."""
    if "-" in word:
        return "-".join(_cased(part) for part in word.split("-"))
    for mark in ("'", "\u2019"):  # straight or typographic apostrophe
        head, sep, rest = word.partition(mark)
        if sep and len(head) == 1 and rest:
            return head.upper() + sep + _cased(rest)
    if word.startswith("mc") and len(word) > 3:
        return "Mc" + word[2:].capitalize()
    if word.startswith("mac") and word[3:] in MAC_NAMES:
        return "Mac" + word[3:].capitalize()
    return word.capitalize()


def normalise_currency(value: str) -> str:
    """An ISO 4217 code, upper-cased ('eur' → 'EUR'); unknown codes are refused."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code
