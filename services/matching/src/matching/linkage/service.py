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
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from matching.linkage.models import TrainedModel
from matching.linkage.repository import LinkageRepository, SsnPairs
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


def _linkage_model(row: TrainedModel) -> LinkageModel:
    assert row.id is not None
    model = FellegiSunterModel.from_json(row.parameters)
    return LinkageModel(row.id, model, row.parameters.get("name_totals", {}), row.people)


class LinkageService:
    def __init__(self, session: AsyncSession) -> None:
        self.linkage = LinkageRepository(session)

    async def train(self) -> LinkageModel:
        """A new version learned from the enrollments held now; older versions are dropped."""
        enrollments, people = await self.linkage.counts()
        starting = FellegiSunterModel.default()
        row = await self.linkage.add(enrollments, people, _parameters(starting, {}))
        assert row.id is not None
        counts = await self.linkage.count_names(row.id)
        learned_u = learned_model(starting, counts, await self.linkage.ssn_pairs())
        model = learned_m(learned_u, await self.linkage.patterns())
        totals = {name: counts[name][0] for name in NAME_FIELDS if name in counts}
        row.parameters = _parameters(model, totals)
        await self.linkage.session.flush()
        await self.linkage.drop_older_than(row.id)
        return LinkageModel(row.id, model, totals, people)

    async def train_if_grown(self) -> LinkageModel | None:
        """Train again when the enrollments changed since the newest model (None: unchanged)."""
        newest = await self.linkage.newest()
        enrollments, _ = await self.linkage.counts()
        if newest is not None and newest.enrollments == enrollments:
            await self.linkage.compact_patterns()
            return None
        return await self.train()

    async def remember(self, patterns: Mapping[Levels, int]) -> None:
        """Count the pairs a question was compared with, by their levels (no identifiers)."""
        await self.linkage.remember(patterns)

    async def current(self) -> LinkageModel:
        """The newest model, or the starting one when nothing was learned yet."""
        newest = await self.linkage.newest()
        return starting_model() if newest is None else _linkage_model(newest)

    async def frequencies(
        self, model: LinkageModel, identities: Iterable[Identity | None]
    ) -> NameFrequencies:
        """The frequencies of every name the questions hold (either order: names swap)."""
        if model.version == STARTING_VERSION:
            return NameFrequencies()
        keys = {
            key
            for identity in identities
            if identity is not None
            for key in (identity.first_key, identity.last_key)
            if key is not None
        }
        counts = await self.linkage.frequencies(model.version, keys)
        return NameFrequencies(counts, model.name_totals)
