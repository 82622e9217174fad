"""Learning the model from the enrollments held, and the model a question is scored with.

What the data says is learned from it: ``u`` of each exact level (how often two different people
share a first name, a last name, a date of birth: the sum of squared shares of the values the
enrollments hold), each name's own frequency (term frequency: agreeing on a rare surname is
stronger evidence than agreeing on a common one, as Splink adjusts), and ``m`` (how often the
same person agrees at a level) by expectation maximisation over the pairs the service compared
(their levels only, counted); the SSN's levels' u from the pairs of people whose held SSNs agree
at each level (hash to hash). The names' and date of birth's near-miss levels' u and the prior
come from the starting model (``matching estimate-model`` on the generator). With few
enrollments counts say little, so each learned ``u`` is shrunk toward the starting model's as if
``scoring.SHRINKAGE_PEOPLE`` people had agreed with it.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.sql import Transaction
from matching.linkage.repository import LinkageRepository, NewestModel, SsnPairs
from matching.matches.comparison import Identity, Levels
from matching.matches.estimation import keeping_only
from matching.matches.fellegi_sunter import (
    FellegiSunterModel,
    FieldParameters,
    expectation_maximisation,
)
from matching.matches.scoring import SHRINKAGE_PEOPLE, NameFrequencies, shrunk

NAME_FIELDS = ("first_name", "last_name")
STARTING_VERSION = 0
"""The version of the starting model, before anything was learned."""


def with_exact_u(parameters: FieldParameters, exact: float) -> FieldParameters:
    """The same field with ``exact`` as its exact level's u, the other levels rescaled."""
    rest = sum(parameters.u[1:])
    scale = (1 - exact) / rest
    return FieldParameters(parameters.m, (exact, *(u * scale for u in parameters.u[1:])))


def pair_share(agreeing: float, people: float, starting: float) -> float:
    """The share of pairs of ``people`` that agree (``agreeing`` of them), pulled toward
    ``starting`` as if SHRINKAGE_PEOPLE people's pairs had agreed with it."""
    pairs = people * (people - 1) / 2
    prior_pairs = SHRINKAGE_PEOPLE * (SHRINKAGE_PEOPLE - 1) / 2
    return (agreeing + starting * prior_pairs) / (pairs + prior_pairs)


def learned_ssn_u(starting: FieldParameters, pairs: SsnPairs) -> FieldParameters:
    """u of the SSN's levels from the pairs of people the held SSNs make (the starting model's
    are those of SSNs spread evenly over all 10^9, which real data, or a short id made an SSN,
    need not be: near misses between different people may be far more common)."""
    full = pair_share(pairs.full, pairs.full_people, starting.u[0])
    one_digit = pair_share(pairs.one_digit, pairs.full_people, starting.u[1])
    last4 = pair_share(pairs.last4, pairs.last4_people, starting.u[2])
    return FieldParameters(starting.m, (full, one_digit, last4, 1 - full - one_digit - last4))


def learned_model(
    starting: FellegiSunterModel, counts: Mapping[str, tuple[float, float]], ssn: SsnPairs
) -> FellegiSunterModel:
    """``starting`` with each exact level's u from (people, sum of squared counts) per field,
    and the SSN's levels' u from the pairs of its values."""
    fields = dict(starting.fields)
    for name, (people, squares) in counts.items():
        if people > 0 and name in fields:
            observed = squares / (people * people)
            fields[name] = with_exact_u(fields[name], shrunk(observed, people, fields[name].u[0]))
    fields["ssn"] = learned_ssn_u(fields["ssn"], ssn)
    return FellegiSunterModel(fields, starting.prior)


MIN_PAIRS_PER_RULE = 1000
"""Fewer compared pairs than this in a training rule's share leave its fields' m as they were."""


SAME_LAST_FOUR = (0, 2)
"""SSN levels that mean equal last fours (full; last four only): one digit off may differ there."""


def _equal_dob_and_last_four(levels: Levels) -> bool:
    return levels[2] == 0 and levels[3] in SAME_LAST_FOUR


def _equal_names(levels: Levels) -> bool:
    return levels[0] == 0 and levels[1] == 0


# (the pairs a rule keeps, the fields whose m it learns), as Splink trains m once per blocking
# rule over the fields the rule leaves free. A rule's pairs must be all the pairs its fields
# find, whatever the other fields, so that its non-matches agree on those by chance alone (as u
# says): the candidate search finds every pair agreeing on the date of birth and last four
# (one of its keys) or on both names, but pairs agreeing on the date of birth alone only when
# a name agrees too. Learning the names' m from those (tried) taught EM that the same person
# often has another surname: at 1,000,000 enrollments precision fell from 0.994 to 0.966.
TRAINING_RULES: tuple[tuple[Callable[[Levels], bool], tuple[str, ...]], ...] = (
    (_equal_dob_and_last_four, ("first_name", "last_name")),
    (_equal_names, ("dob", "ssn")),
)


def learned_m(model: FellegiSunterModel, patterns: Mapping[Levels, int]) -> FellegiSunterModel:
    """``model`` with m learned by expectation maximisation over the pairs compared, u held
    fixed, once per training rule (a field trained by several rules: their mean)."""
    u = {name: parameters.u for name, parameters in model.fields.items()}
    trained: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for keeps, fields in TRAINING_RULES:
        share: Counter[Levels] = Counter()
        for levels, pairs in patterns.items():
            if keeps(levels):
                share[keeping_only(levels, fields)] += pairs
        if share.total() < MIN_PAIRS_PER_RULE:
            continue
        estimated = expectation_maximisation(share, u)
        for name in fields:
            trained[name].append(estimated.fields[name].m)
    parameters = dict(model.fields)
    for name, estimates in trained.items():
        m = tuple(sum(values) / len(values) for values in zip(*estimates, strict=True))
        parameters[name] = FieldParameters(m, parameters[name].u)
    return FellegiSunterModel(parameters, model.prior)


@dataclass(frozen=True)
class LinkageModel:
    version: int
    model: FellegiSunterModel
    name_totals: Mapping[str, float]
    people: int
    """The people (organization and client) held when it was learned; 0 for the starting one."""


def starting_model() -> LinkageModel:
    return LinkageModel(STARTING_VERSION, FellegiSunterModel.default(), {}, people=0)


def _parameters(model: FellegiSunterModel, totals: Mapping[str, float]) -> dict[str, Any]:
    return {**model.to_json(), "name_totals": dict(totals)}


@dataclass(frozen=True)
class HeldModel:
    """A model as parsed, and the (id, trained_at) of the row it was parsed from."""

    key: tuple[int, datetime]
    model: LinkageModel


@dataclass
class ModelCache:
    """The newest model this process read, parsed once per version.

    A model's parameters change only when it is trained (its row is written once, in the
    training's transaction), so a request sends the key of the model held and gets the
    parameters back only when the newest model is another: every request still scores with the
    newest model committed when it asks (each worker and replica checks on every request, in
    the statement that reads the names' frequencies; nothing expires late), and parses it only
    once per version. ``trained_at`` beside the id: a version number may come back (a database
    restored, or emptied with its identities restarted)."""

    held: HeldModel | None = None

    def newest(self, row: NewestModel, held: HeldModel | None) -> LinkageModel:
        """The model of the newest row: ``held`` (what the request asked with) when the row
        left its parameters out, else the row's, parsed and held from now on."""
        if row.parameters is None:
            assert held is not None, "parameters are left out only for the model held"
            return held.model
        model = FellegiSunterModel.from_json(row.parameters)
        totals = row.parameters.get("name_totals", {})
        linkage = LinkageModel(row.id, model, totals, row.people)
        self.held = HeldModel((row.id, row.trained_at), linkage)
        return linkage


MODELS = ModelCache()
"""This process's (one per worker: each reads the newest version on every request)."""


def name_keys(identities: Iterable[Identity | None]) -> list[str]:
    """Every name key the questions hold, in either field (names swap), sorted."""
    return sorted(
        {
            key
            for identity in identities
            if identity is not None
            for key in (identity.first_key, identity.last_key)
            if key is not None
        }
    )


class LinkageService:
    def __init__(self, transaction: Transaction, models: ModelCache = MODELS) -> None:
        self.linkage = LinkageRepository(transaction)
        self.models = models

    async def train(self) -> LinkageModel:
        """A new version learned from the enrollments held now; older versions are dropped."""
        enrollments, people = await self.linkage.counts()
        starting = FellegiSunterModel.default()
        version = await self.linkage.add(enrollments, people, _parameters(starting, {}))
        counts = await self.linkage.count_names(version)
        learned_u = learned_model(starting, counts, await self.linkage.ssn_pairs())
        model = learned_m(learned_u, await self.linkage.patterns())
        totals = {name: counts[name][0] for name in NAME_FIELDS if name in counts}
        await self.linkage.set_parameters(version, _parameters(model, totals))
        await self.linkage.drop_older_than(version)
        return LinkageModel(version, model, totals, people)

    async def train_if_grown(self) -> LinkageModel | None:
        """Train again when the enrollments changed since the newest model (None: unchanged)."""
        trained_from = await self.linkage.newest_enrollments()
        enrollments, _ = await self.linkage.counts()
        if trained_from == enrollments:
            await self.linkage.compact_patterns()
            return None
        return await self.train()

    async def remember(self, patterns: Mapping[Levels, int]) -> None:
        """Count the pairs a question was compared with, by their levels (no identifiers)."""
        await self.linkage.remember(patterns)

    async def current(
        self, identities: Iterable[Identity | None]
    ) -> tuple[LinkageModel, NameFrequencies]:
        """The newest model (the starting one when nothing was learned yet) and the
        frequencies of every name the questions hold, as it counted them: one statement."""
        held = self.models.held  # what this request asks with, whatever others do meanwhile
        known = None if held is None else held.key
        newest = await self.linkage.current(known, name_keys(identities))
        if newest is None:
            return starting_model(), NameFrequencies()
        model = self.models.newest(newest, held)
        return model, NameFrequencies(newest.holders, model.name_totals)
