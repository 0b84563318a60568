"""The matching engine on its own: blocking, comparison levels, EM and scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from rapport.hygiene.service import matching

PEOPLE: list[dict[str, Any]] = [
    {"given_name": "Katherine", "surname": "Johnson", "email": "kj@nasa.gov",
     "phone": "+1 (757) 555-0101", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Katherin", "surname": "Jonson", "email": "KJ@NASA.gov",
     "phone": "757.555.0101", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Dorothy", "surname": "Vaughan", "email": "dorothy@nasa.gov",
     "phone": "+1 757 555 0102", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Dorothy", "surname": "Vaughn", "email": "dvaughan@example.org",
     "phone": "(757) 555-0102", "city": "Hampton"},
    {"given_name": "Mary", "surname": "Jackson", "email": "mary@nasa.gov",
     "phone": "+1 757 555 0103", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Mary", "surname": "Jackson", "email": "mjackson@acme.com",
     "phone": "+44 20 7946 0958", "city": "London", "postcode": "SW1A 1AA"},
    {"given_name": "Alan", "surname": "Turing", "email": "alan@bletchley.uk",
     "phone": "+44 1908 640404", "city": "Bletchley", "postcode": "MK3 6EB"},
    {"given_name": "Grace", "surname": "Hopper", "email": "grace@navy.mil",
     "phone": "+1 202 555 0199", "city": "Arlington", "postcode": "22202"},
]  # fmt: skip


def _found(result: matching.Result, threshold: float = 0.5) -> set[tuple[int, int]]:
    return {(i, j) for i, j in result.pairs[result.above(threshold)].tolist()}


class TestNormalise:
    def test_phones_emails_and_names_are_made_comparable(self) -> None:
        a, b = (matching.normalise(PEOPLE[i]) for i in (0, 1))
        assert a["phone"] == b["phone"] == "575550101"
        assert a["email"] == b["email"] == "kj@nasa.gov"
        assert matching.normalise({"given_name": "  José-María "})["given_name"] == "jose maria"


class TestLevels:
    def test_comparators_grade_agreement(self) -> None:
        assert matching.name_level("katherine", "katherine") == 4
        assert matching.name_level("katherine", "katherin") == 3
        assert matching.name_level("katherine", "bob") == 1
        assert matching.name_level("", "bob") == 0
        assert matching.code_level("19560409", "19560904") == 2  # day and month swapped
        assert matching.email_level("katherine.johnson@nasa.gov", "katherine.jonhson@nasa.gov") == 2
        # Mailboxes are made of names: the same name written another way, or at another
        # provider, is a namesake's as often as the person's own.
        assert matching.email_level("kj@nasa.gov", "k.j1@nasa.gov") == 1
        assert matching.email_level("kj@nasa.gov", "kj@gmail.com") == 1
        assert matching.given_level("bob", "robert") == 3  # a nickname is not a disagreement
        assert matching.given_level("liz", "elizabeth") == 3
        assert matching.given_level("anna", "paul") == 1


class TestBlocking:
    def test_pairs_share_a_key_and_giant_blocks_are_windowed(self) -> None:
        records = [matching.normalise(p) for p in PEOPLE]
        pairs = {tuple(p) for p in matching.candidate_pairs(records).tolist()}
        assert {(0, 1), (2, 3), (4, 5)} <= pairs
        assert (6, 7) not in pairs
        crowd = [
            matching.normalise({"given_name": f"ann{i}", "surname": "smith"}) for i in range(300)
        ]
        windowed = matching.candidate_pairs(crowd, max_block=50, window=5)
        assert len(windowed) < 300 * 5 * 2  # not the 44,850 of all-to-all

    def test_linkage_pairs_only_across_sources(self) -> None:
        records = [matching.normalise(p) for p in (PEOPLE[0], PEOPLE[1], PEOPLE[0])]
        pairs = matching.candidate_pairs(records, source=[0, 1, 0]).tolist()
        assert sorted(map(tuple, pairs)) == [(0, 1), (1, 2)]


class TestLink:
    def test_planted_duplicates_are_found_and_distinct_people_are_not(self) -> None:
        result = matching.link([matching.normalise(p) for p in PEOPLE])
        found = _found(result)
        assert {(0, 1), (2, 3)} <= found  # typo'd names, reformatted phones, email case
        assert (4, 5) not in found  # same name, different person
        assert all(i < 6 and j < 6 for i, j in found)

    def test_em_learns_that_agreement_is_evidence_of_a_match(self) -> None:
        rng = np.random.default_rng(7)
        n = 4000
        match = rng.random(n) < 0.2
        # Plain fields (no starting guess, so two classes and nothing held fixed): the people
        # fields keep the names' match probabilities at what defines a match (MATCH_DEFINED_BY).
        fields = tuple(
            matching.Field(f.name, f.compare, f.levels) for f in matching.PEOPLE_FIELDS[:4]
        )
        vectors = np.zeros((n, len(fields)), dtype=np.int8)
        for k, spec in enumerate(fields):
            top = spec.levels
            agree = np.where(match, rng.random(n) < 0.9, rng.random(n) < 0.05)
            vectors[:, k] = np.where(agree, top, 1)
        model = matching.fit(vectors, fields)
        assert abs(model.prior - 0.2) < 0.03
        for k, spec in enumerate(fields):
            assert model.m[k][spec.levels] > 0.8 > model.u[k][spec.levels]
            assert model.m[k][spec.levels] > model.u[k][spec.levels]
        probability = matching.score(model, vectors)
        assert ((probability >= 0.5) == match).mean() > 0.97


class TestLookAlikes:
    HOME = {"street": "12 Elm Street", "city": "Springfield", "postcode": "62701"}
    PEOPLE = [
        {"given_name": "Robert", "surname": "Miller", "phone": "2175550111", **HOME},
        {"given_name": "Bob", "surname": "Miller", "phone": "2175550111", **HOME},
        {"given_name": "Anna", "surname": "Miller", "phone": "2175550111", **HOME},  # his wife
        {"given_name": "Robert", "surname": "Miller", "phone": "3125550123", "city": "Chicago"},
        {"given_name": "Miller", "surname": "Bob", "email": "bob@miller.org", **HOME},  # swapped
    ]

    def _vectors(self) -> dict[tuple[int, int], list[int]]:
        records = [matching.normalise(p) for p in self.PEOPLE]
        pairs = np.array([(0, 1), (0, 2), (0, 3), (1, 4)], dtype=np.int64)
        vectors = matching.compare(records, pairs)
        return {(int(i), int(j)): v for (i, j), v in zip(pairs, vectors.tolist(), strict=True)}

    def test_a_value_three_people_hold_is_shared_and_a_swap_is_undone(self) -> None:
        vectors, fields = self._vectors(), matching.PEOPLE_FIELDS
        names = [f.name for f in fields]
        robert_bob = vectors[(0, 1)]
        assert robert_bob[names.index("given_name")] == 3  # a nickname is close
        assert (
            matching.level_name(fields[names.index("phone")], robert_bob[names.index("phone")])
            == "shared"
        )
        assert (
            matching.level_name(fields[names.index("address")], robert_bob[names.index("address")])
            == "shared"
        )
        swapped = vectors[(1, 4)]
        assert swapped[names.index("given_name")] == 4 and swapped[names.index("surname")] == 4

    def test_auto_merge_is_held_back_for_a_wife_a_namesake_or_shared_evidence_only(self) -> None:
        vectors = self._vectors()
        # Robert and Bob share only what the household shares: a person must look.
        assert matching.held_back(vectors[(0, 1)]) is not None
        assert matching.held_back(vectors[(0, 2)]) == "the first names differ"
        assert matching.held_back(vectors[(0, 3)]) is not None  # a namesake: names only
        family = matching.score(matching.prior_model(), np.array([vectors[(0, 2)]], np.int8))
        assert family[0] < 0.5  # a household explains a shared surname, address and phone
