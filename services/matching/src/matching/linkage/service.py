"""Learning the model from the enrollments held, and the model a question is scored with.

What the data says is learned from it: ``u`` of each exact level (how often two different people
share a first name, a last name, a date of birth: the sum of squared shares of the values the
enrollments hold) and each name's own frequency (term frequency: agreeing on a rare surname is
stronger evidence than agreeing on a common one, as Splink adjusts). ``m``, the near-miss levels'
shape and the prior come from the starting model (``matching estimate-model`` on the generator).
With few enrollments their counts say little, so each learned ``u`` is shrunk toward the starting
model's as if ``scoring.SHRINKAGE_PEOPLE`` people had agreed with it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from matching.linkage.models import TrainedModel
from matching.linkage.repository import LinkageRepository
from matching.matches.comparison import Identity
from matching.matches.fellegi_sunter import FellegiSunterModel, FieldParameters
from matching.matches.scoring import NameFrequencies, shrunk

NAME_FIELDS = ("first_name", "last_name")
STARTING_VERSION = 0
"""The version of the starting model, before anything was learned."""


def with_exact_u(parameters: FieldParameters, exact: float) -> FieldParameters:
    """The same field with ``exact`` as its exact level's u, the other levels rescaled."""
    rest = sum(parameters.u[1:])
    scale = (1 - exact) / rest
    return FieldParameters(parameters.m, (exact, *(u * scale for u in parameters.u[1:])))


def learned_model(
    starting: FellegiSunterModel, counts: Mapping[str, tuple[float, float]]
) -> FellegiSunterModel:
    """``starting`` with each exact level's u from (people, sum of squared counts) per field."""
    fields = dict(starting.fields)
    for name, (people, squares) in counts.items():
        if people > 0 and name in fields:
            observed = squares / (people * people)
            fields[name] = with_exact_u(fields[name], shrunk(observed, people, fields[name].u[0]))
    return FellegiSunterModel(fields, starting.prior)


@dataclass(frozen=True)
class LinkageModel:
    version: int
    model: FellegiSunterModel
    name_totals: Mapping[str, float]


def starting_model() -> LinkageModel:
    return LinkageModel(STARTING_VERSION, FellegiSunterModel.default(), {})


def _parameters(model: FellegiSunterModel, totals: Mapping[str, float]) -> dict[str, Any]:
    return {**model.to_json(), "name_totals": dict(totals)}


def _linkage_model(row: TrainedModel) -> LinkageModel:
    assert row.id is not None
    model = FellegiSunterModel.from_json(row.parameters)
    return LinkageModel(row.id, model, row.parameters.get("name_totals", {}))


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
        model = learned_model(starting, counts)
        totals = {name: counts[name][0] for name in NAME_FIELDS if name in counts}
        row.parameters = _parameters(model, totals)
        await self.linkage.session.flush()
        await self.linkage.drop_older_than(row.id)
        return LinkageModel(row.id, model, totals)

    async def train_if_grown(self) -> LinkageModel | None:
        """Train again when the enrollments changed since the newest model (None: unchanged)."""
        newest = await self.linkage.newest()
        enrollments, _ = await self.linkage.counts()
        if newest is not None and newest.enrollments == enrollments:
            return None
        return await self.train()

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
