"""Estimating the model's m and u from records and questions, in memory (no database).

As Splink does, m is trained once per training rule: the pairs that agree exactly on the rule's
fields, EM over the other fields only. Names come from the pairs with equal dates of birth, the
date of birth from the pairs with equal name codes, the SSN from both (averaged).
"""

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from matching.matches.comparison import FIELDS, Identity, Levels, compare
from matching.matches.fellegi_sunter import (
    FellegiSunterModel,
    FieldParameters,
    estimate_prior,
    estimate_u,
    exact_agreement_share,
    expectation_maximisation,
)
from matching.matches.scoring import BlockingValues, question_blocking_keys, record_blocking_keys

KeyOf = Callable[[Identity], Hashable | None]


def same_dob(identity: Identity) -> Hashable | None:
    return identity.dob


def same_name_codes(identity: Identity) -> Hashable | None:
    values = BlockingValues.of(identity)
    return (values.last_code, values.first_code) if values.first_code else None


# (the pairs a rule makes, the fields whose m it estimates)
TRAINING_RULES: tuple[tuple[KeyOf, tuple[str, ...]], ...] = (
    (same_dob, ("first_name", "last_name", "ssn")),
    (same_name_codes, ("dob", "ssn")),
)


def candidate_pairs(
    questions: Sequence[Identity], records: Sequence[Identity]
) -> list[tuple[int, int]]:
    """(question, record) index pairs sharing a blocking key, each pair once."""
    index: dict[object, list[int]] = defaultdict(list)
    for number, record in enumerate(records):
        for key in record_blocking_keys(BlockingValues.of(record)):
            index[key].append(number)
    pairs: set[tuple[int, int]] = set()
    for number, question in enumerate(questions):
        for key in question_blocking_keys(question):
            pairs.update((number, record) for record in index.get(key, ()))
    return sorted(pairs)


def rule_pairs(
    questions: Sequence[Identity], records: Sequence[Identity], key_of: KeyOf
) -> list[tuple[int, int]]:
    index: dict[Hashable, list[int]] = defaultdict(list)
    for number, record in enumerate(records):
        key = key_of(record)
        if key is not None:
            index[key].append(number)
    return [
        (number, record)
        for number, question in enumerate(questions)
        if (key := key_of(question)) is not None
        for record in index.get(key, ())
    ]


def random_pair_levels(
    questions: Sequence[Identity], records: Sequence[Identity], count: int, seed: int = 0
) -> list[Levels]:
    chooser = random.Random(seed)  # noqa: S311 (sampling, not secrets)
    return [compare(chooser.choice(questions), chooser.choice(records)) for _ in range(count)]


def keeping_only(levels: Levels, fields: tuple[str, ...]) -> Levels:
    """``levels`` with every field but ``fields`` left out (None)."""
    kept = [level if name in fields else None for name, level in zip(FIELDS, levels, strict=True)]
    return (kept[0], kept[1], kept[2], kept[3])


def estimate_model(
    questions: Sequence[Identity],
    records: Sequence[Identity],
    *,
    random_pairs: int = 200_000,
) -> FellegiSunterModel:
    """u from random pairs (exact levels from value frequencies), m by EM per training rule,
    then the prior among the candidate pairs."""
    exact_u = {
        "first_name": exact_agreement_share(record.first_key for record in records),
        "last_name": exact_agreement_share(record.last_key for record in records),
        "dob": exact_agreement_share(record.dob for record in records),
    }
    u = estimate_u(random_pair_levels(questions, records, random_pairs), exact_u)
    trained: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for key_of, fields in TRAINING_RULES:
        pairs = rule_pairs(questions, records, key_of)
        levels = [keeping_only(compare(questions[q], records[r]), fields) for q, r in pairs]
        model = expectation_maximisation(levels, u)
        for name in fields:
            trained[name].append(model.fields[name].m)
    fields_parameters = {
        name: FieldParameters(
            tuple(sum(values) / len(values) for values in zip(*trained[name], strict=True)),
            tuple(u[name]),
        )
        for name in FIELDS
    }
    model = FellegiSunterModel(fields_parameters, prior=0.5)
    candidates = [compare(questions[q], records[r]) for q, r in candidate_pairs(questions, records)]
    return replace(model, prior=estimate_prior(candidates, model))
