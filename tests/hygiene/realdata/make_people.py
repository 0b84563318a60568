"""A realistic, adversarial CRM extract of people for the duplicate scan, with its truth.

    uv run python -m tests.hygiene.realdata.make_people            # the committed set
    uv run python -m tests.hygiene.realdata.make_people --rows 20000 --out /tmp/people20k

Writes ``people.csv`` (what a CRM export holds: no labels) and ``truth.csv`` (record id ->
the person it is, and the look-alike group it belongs to: ``family``, ``colleague`` or
``namesake``). People come from four countries (Faker's en_US, en_GB, de_DE and fr_FR pools).
A third of them have one or two more records, changed the way real duplicates are: typos,
nicknames (Bob/Robert), given and family name swapped, a married name, a move (new address,
same phone), a new employer (new email, company and title), phones written another way,
fields missing. Emails stay unique across the extract (the CRM enforces it: two records of
one person never share an email, they differ in it or lack one). The hard cases are planted
on purpose: namesakes (a common name, a different person elsewhere), families at one address
(same surname, street and often home phone) and colleagues (same company, domain, office
address and switchboard).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import phonenumbers
from faker import Faker

HERE = Path(__file__).parent
SEED = 15
COLUMNS = ("record_id", "given_name", "family_name", "email", "phone", "company",
           "company_domain", "job_title", "street", "city", "postcode", "country")  # fmt: skip
COUNTRIES = {"US": ("en_US", 0.4), "GB": ("en_GB", 0.25), "DE": ("de_DE", 0.2),
             "FR": ("fr_FR", 0.15)}  # fmt: skip
PROVIDERS = {"US": ["gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"],
             "GB": ["gmail.com", "btinternet.com", "hotmail.co.uk", "outlook.com"],
             "DE": ["gmx.de", "web.de", "t-online.de", "gmail.com"],
             "FR": ["orange.fr", "free.fr", "laposte.net", "gmail.com"]}  # fmt: skip
TOP_LEVEL = {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr"}
# Nicknames as people write them (the generator's own list, not the model's).
NICKNAMES = {
    "robert": ["Bob", "Rob", "Bobby"], "william": ["Bill", "Will", "Billy"],
    "elizabeth": ["Liz", "Beth", "Betty", "Eliza"], "richard": ["Rick", "Dick", "Rich"],
    "james": ["Jim", "Jimmy"], "john": ["Johnny", "Jack"], "michael": ["Mike", "Mick"],
    "thomas": ["Tom", "Tommy"], "christopher": ["Chris"], "daniel": ["Dan", "Danny"],
    "joseph": ["Joe", "Joey"], "charles": ["Charlie", "Chuck"], "david": ["Dave"],
    "matthew": ["Matt"], "anthony": ["Tony"], "andrew": ["Andy", "Drew"],
    "steven": ["Steve"], "stephen": ["Steve"], "edward": ["Ed", "Eddie", "Ted"],
    "margaret": ["Maggie", "Peggy", "Meg"], "katherine": ["Kate", "Kathy", "Katie"],
    "catherine": ["Cathy", "Kate"], "jennifer": ["Jen", "Jenny"], "patricia": ["Pat", "Patty"],
    "susan": ["Sue", "Susie"], "rebecca": ["Becky"], "samantha": ["Sam"], "alexander": ["Alex"],
    "nicholas": ["Nick"], "jessica": ["Jess"], "deborah": ["Debbie", "Deb"],
    "benjamin": ["Ben"], "samuel": ["Sam"], "victoria": ["Vicky"], "kimberly": ["Kim"],
    "johannes": ["Hans"], "josef": ["Sepp"], "friedrich": ["Fritz"], "wolfgang": ["Wolf"],
    "franziska": ["Franzi"], "alexandra": ["Alex"], "christian": ["Chris"],
    "jean-pierre": ["JP"], "dominique": ["Dom"], "frederic": ["Fred"], "frédéric": ["Fred"],
    "nathalie": ["Nath"], "timothy": ["Tim"], "kenneth": ["Ken"], "ronald": ["Ron"],
    "donald": ["Don"], "gregory": ["Greg"], "jonathan": ["Jon"], "joshua": ["Josh"],
    "jacqueline": ["Jackie"], "pamela": ["Pam"], "cynthia": ["Cindy"], "barbara": ["Barb"],
}  # fmt: skip


@dataclass
class Person:
    """One real person, from whom one or more records are drawn."""

    pid: int
    country: str
    given: str
    family: str
    female: bool
    email: str
    phone: str
    company: str = ""
    domain: str = ""
    title: str = ""
    street: str = ""
    city: str = ""
    postcode: str = ""
    group: str = ""  # look-alike group: family:K, colleague:K, namesake:K


@dataclass
class Company:
    name: str
    domain: str
    country: str
    street: str
    city: str
    postcode: str
    switchboard: str
    staff: list[Person] = field(default_factory=list)


class Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        Faker.seed(seed)
        self.fake = {c: Faker(loc) for c, (loc, _) in COUNTRIES.items()}
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.people: list[Person] = []
        self.companies: list[Company] = []

    # -- values ---------------------------------------------------------------------------

    def country(self) -> str:
        return self.rng.choices(list(COUNTRIES), [w for _, w in COUNTRIES.values()])[0]

    def phone(self, country: str, mobile: bool = True) -> str:
        """A valid, unused number (E.164), built from the country's example number."""
        kind = (
            phonenumbers.PhoneNumberType.MOBILE
            if mobile
            else phonenumbers.PhoneNumberType.FIXED_LINE
        )
        example = phonenumbers.example_number_for_type(country, kind)
        digits = str(example.national_number)
        while True:
            keep = 3 if country == "US" else 2
            if country == "US":
                area = self.rng.choice(["212", "312", "415", "617", "206", "303", "404", "512"])
                number = (
                    area
                    + str(self.rng.randrange(2, 10))
                    + "".join(self.rng.choice("0123456789") for _ in range(6))
                )
            else:
                number = digits[:keep] + "".join(
                    self.rng.choice("0123456789") for _ in range(len(digits) - keep)
                )
            parsed = phonenumbers.parse(f"+{example.country_code}{number}")
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(parsed) and e164 not in self.used_phones:
                self.used_phones.add(e164)
                return e164

    def address(self, country: str) -> tuple[str, str, str]:
        fake = self.fake[country]
        street = fake.street_address().replace("\n", " ")
        return street, fake.city(), fake.postcode()

    def email(self, given: str, family: str, domain: str) -> str:
        """A free mailbox at ``domain`` in one of the usual shapes."""
        g, f = _ascii(given), _ascii(family)
        shapes = [f"{g}.{f}", f"{g}{f}", f"{g[:1]}{f}", f"{g}_{f}", f"{f}.{g}", f"{g}.{f}"]
        base = re.sub(r"[._-]{2,}", ".", self.rng.choice(shapes)).strip("._-") or "contact"
        for n in range(100):
            email = f"{base}{'' if n == 0 else self.rng.randrange(2, 99)}@{domain}"
            if email not in self.used_emails:
                self.used_emails.add(email)
                return email
        raise RuntimeError("no free mailbox")

    def name(self, country: str, female: bool | None = None) -> tuple[str, str, bool]:
        fake = self.fake[country]
        female = self.rng.random() < 0.5 if female is None else female
        given = fake.first_name_female() if female else fake.first_name_male()
        return given, fake.last_name(), female

    # -- people ---------------------------------------------------------------------------

    def person(self, country: str | None = None, **fixed: object) -> Person:
        country = country or self.country()
        given, family, female = self.name(country)
        street, city, postcode = self.address(country)
        values: dict[str, object] = {
            "pid": len(self.people), "country": country, "given": given, "family": family,
            "female": female, "street": street, "city": city, "postcode": postcode,
        }  # fmt: skip
        values.update(fixed)
        g, f = str(values["given"]), str(values["family"])
        values.setdefault("email", self.email(g, f, self.rng.choice(PROVIDERS[country])))
        values.setdefault("phone", self.phone(country))
        person = Person(**values)  # type: ignore[arg-type]
        if not person.company and self.companies and self.rng.random() < 0.5:
            company = self.rng.choice(self.companies)
            person.company, person.domain = company.name, company.domain
            person.title = self.fake[company.country].job()
        self.people.append(person)
        return person

    def company(self) -> Company:
        country = self.country()
        fake = self.fake[country]
        name = fake.company()
        slug = "".join(ch for ch in _ascii(name.split()[0]) if ch.isalnum()) or "firm"
        domain = f"{slug}{len(self.companies)}.{TOP_LEVEL[country]}"
        street, city, postcode = self.address(country)
        company = Company(name, domain, country, street, city, postcode,
                          self.phone(country, mobile=False))  # fmt: skip
        self.companies.append(company)
        return company

    def family(self, k: int) -> None:
        """2-4 people of one household: surname, street, city, postcode, often the home phone."""
        country = self.country()
        _, surname, _ = self.name(country)
        street, city, postcode = self.address(country)
        home = self.phone(country, mobile=False)
        given_seen: set[str] = set()
        for _ in range(self.rng.choice([2, 2, 3, 3, 4])):
            given, _, female = self.name(country)
            while given in given_seen:
                given, _, female = self.name(country)
            given_seen.add(given)
            phone = home if self.rng.random() < 0.6 else self.phone(country)
            self.person(country, given=given, family=surname, female=female, street=street,
                        city=city, postcode=postcode, phone=phone, group=f"family:{k}")  # fmt: skip

    def colleagues(self, company: Company, k: int) -> None:
        """4-12 people of one company: its domain, office address and often its switchboard."""
        for _ in range(self.rng.randrange(4, 13)):
            given, family, female = self.name(company.country)
            phone = company.switchboard if self.rng.random() < 0.5 else self.phone(company.country)
            at_office = self.rng.random() < 0.8
            street, city, postcode = (
                (company.street, company.city, company.postcode)
                if at_office else self.address(company.country)
            )  # fmt: skip
            person = self.person(
                company.country, given=given, family=family, female=female, phone=phone,
                email=self.email(given, family, company.domain), company=company.name,
                domain=company.domain, title=self.fake[company.country].job(), street=street,
                city=city, postcode=postcode, group=f"colleague:{k}",
            )  # fmt: skip
            company.staff.append(person)

    def namesakes(self, k: int) -> None:
        """2-3 different people with one common name."""
        country = self.country()
        fake = self.fake[country]
        female = self.rng.random() < 0.5
        common = (fake.first_name_female() if female else fake.first_name_male(), fake.last_name())
        for _ in range(self.rng.choice([2, 2, 3])):
            self.person(country, given=common[0], family=common[1], female=female,
                        group=f"namesake:{k}")  # fmt: skip

    # -- records --------------------------------------------------------------------------

    def records(self, person: Person) -> list[dict[str, str]]:
        """The person's first record, and with some luck one or two duplicates."""
        out = [self.record(person)]
        if self.rng.random() < 0.33:
            for _ in range(1 if self.rng.random() < 0.8 else 2):
                out.append(self.duplicate(person))
        return out

    def record(self, p: Person) -> dict[str, str]:
        return {
            "given_name": p.given, "family_name": p.family, "email": p.email,
            "phone": self.written(p.phone, p.country), "company": p.company,
            "company_domain": p.domain, "job_title": p.title, "street": p.street,
            "city": p.city, "postcode": p.postcode, "country": p.country,
        }  # fmt: skip

    def written(self, e164: str, country: str) -> str:
        """A phone number the way someone typed it."""
        parsed = phonenumbers.parse(e164)
        style = self.rng.random()
        if style < 0.4:
            return e164
        if style < 0.8:
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if country == "US":
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "00" + e164[1:]

    def duplicate(self, person: Person) -> dict[str, str]:
        """Another record of ``person``: one to three realistic changes."""
        p = replace(person)
        rng = self.rng
        changes = rng.sample(
            ["typo", "nickname", "swap", "married", "move", "employer", "phone", "missing",
             "email", "street"],
            k=rng.choice([1, 2, 2, 3]),
        )  # fmt: skip
        if "typo" in changes:
            if rng.random() < 0.5:
                p.given = _typo(p.given, rng)
            else:
                p.family = _typo(p.family, rng)
        if "nickname" in changes and p.given.lower() in NICKNAMES:
            p.given = rng.choice(NICKNAMES[p.given.lower()])
        if "married" in changes and p.female and rng.random() < 0.5:
            p.family = self.name(p.country)[1]
        if "move" in changes:
            p.street, p.city, p.postcode = self.address(p.country)
        if "employer" in changes and self.companies:
            company = rng.choice(self.companies)
            p.company, p.domain = company.name, company.domain
            p.title = self.fake[company.country].job()
        if "phone" in changes and "move" not in changes:
            p.phone = self.phone(p.country)  # a new mobile (someone who moves keeps theirs)
        if "street" in changes and p.street:
            p.street = _abbreviate(p.street, rng)
        # The CRM holds each email once: a second record has another or none.
        if "employer" in changes and p.domain:
            p.email = self.email(p.given, p.family, p.domain)
        elif rng.random() < 0.35:
            p.email = ""
        else:
            p.email = self.email(person.given, person.family, rng.choice(PROVIDERS[p.country]))
        record = self.record(p)
        if "swap" in changes:
            record["given_name"], record["family_name"] = p.family, p.given
        if "missing" in changes:
            for name in rng.sample(["phone", "street", "company", "job_title", "postcode"], 2):
                record[name] = ""
                if name == "company":
                    record["company_domain"] = ""
        return record


def _ascii(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value.lower().replace("ß", "ss"))
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch in "-."))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]


def _abbreviate(street: str, rng: random.Random) -> str:
    for long, short in (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("straße", "str."),
                        ("rue", "r."), ("Lane", "Ln")):  # fmt: skip
        if long in street:
            return street.replace(long, short)
    return _typo(street, rng)


def make(rows: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """About ``rows`` records and their truth."""
    maker = Maker(seed)
    scale = rows / 4000
    for k in range(max(3, round(40 * scale))):
        maker.colleagues(maker.company(), k)
    for k in range(max(3, round(150 * scale))):
        maker.family(k)
    for k in range(max(3, round(100 * scale))):
        maker.namesakes(k)
    while len(maker.people) * 1.4 < rows:
        maker.person()
    records: list[dict[str, str]] = []
    truth: list[dict[str, str]] = []
    for person in maker.people:
        for record in maker.records(person):
            records.append(record)
            truth.append({"person": str(person.pid), "group": person.group})
    order = list(range(len(records)))
    maker.rng.shuffle(order)  # duplicates are not next to each other in an export
    out, out_truth = [], []
    for n, k in enumerate(order[:rows]):
        rid = f"r{n:06d}"
        out.append({"record_id": rid, **records[k]})
        out_truth.append({"record_id": rid, **truth[k]})
    return out, out_truth


def write(folder: Path, rows: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    records, truth = make(rows, seed)
    with (folder / "people.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    with (folder / "truth.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ("record_id", "person", "group"))
        writer.writeheader()
        writer.writerows(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    write(args.out, args.rows, args.seed)


if __name__ == "__main__":
    main()
