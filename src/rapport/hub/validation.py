"""Normalising what people type: emails, phone numbers (E.164), countries (ISO 3166), domains.

Each function returns the canonical form or raises ValueError with a sentence for the user.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from rapidfuzz import fuzz, process

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


def normalise_phone(value: str, region: str = "US") -> str:
    """The number in E.164 (``+14155550123``); national numbers are read in ``region``."""
    raw = value.strip()
    if not raw:
        raise ValueError("phone number is empty")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        parsed = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number for region {region}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "usa": "US", "america": "US", "holland": "NL"}


def normalise_country(value: str) -> str:
    """ISO 3166-1 alpha-2 from a code (alpha-2 or alpha-3) or a name ('Germany' → 'DE')."""
    key = value.strip()
    if not key:
        raise ValueError("country is empty")
    if key.lower() in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key.lower()]
    country = pycountry.countries.get(alpha_2=key.upper()) if len(key) == 2 else None
    if country is None and len(key) == 3:
        country = pycountry.countries.get(alpha_3=key.upper())
    if country is None:
        try:
            country = pycountry.countries.lookup(key)
        except LookupError:
            names = _country_names()
            best = process.extractOne(key, list(names), scorer=fuzz.WRatio, score_cutoff=88)
            if best is None:
                raise ValueError(f"unknown country {value!r}") from None
            return names[best[0]]
    return str(country.alpha_2)


@cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                names[name] = country.alpha_2
    return names


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(value: str) -> str:
    """A bare lower-case host name from a domain or URL ('https://www.Acme.com/x' → 'acme.com')."""
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{value!r} is not a domain name") from exc
    if not _DOMAIN.match(host):
        raise ValueError(f"{value!r} is not a domain name")
    return host


def clean_name(value: str | None) -> str:
    """Trim and collapse inner whitespace; keep the user's casing unless it is all one case."""
    text = re.sub(r"\s+", " ", (value or "").strip())
    if text and (text.isupper() or text.islower()) and len(text) > 1:
        return " ".join(part[:1].upper() + part[1:].lower() for part in text.split(" "))
    return text


def normalise_currency(value: str) -> str:
    """An ISO 4217 code, upper-cased ('eur' → 'EUR'); unknown codes are refused."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code
