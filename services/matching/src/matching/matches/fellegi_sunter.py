"""The Fellegi-Sunter model: m and u probabilities per comparison level, estimated from data.

``u`` (how often unrelated people agree at a level) comes from random pairs, except the SSN levels,
which random pairs almost never reach (see ``analytic_ssn_u``). ``m`` (how often the same person
agrees at a level) and the share of matches among the candidate pairs come from expectation
maximisation over the blocked candidate pairs, with ``u`` held fixed, as Splink does.
"""

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matching.matches.comparison import FIELD_LEVELS, FIELDS, Levels

DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.json")
MIN_PROBABILITY = 1e-9


@dataclass(frozen=True)
class FieldParameters:
    m: tuple[float, ...]
    u: tuple[float, ...]

    def weight(self, level: int) -> float:
        """log2(m/u): the evidence, in bits, that agreement at ``level`` brings."""
        return float(math.log2(self.m[level] / self.u[level]))


@dataclass(frozen=True)
class FellegiSunterModel:
    fields: Mapping[str, FieldParameters]
    prior: float
    """The share of candidate pairs that are matches (lambda)."""

    def field_weights(self, levels: Levels) -> tuple[float | None, ...]:
        return tuple(
            None if level is None else self.fields[name].weight(level)
            for name, level in zip(FIELDS, levels, strict=True)
        )

    def match_weight(self, levels: Levels) -> float:
        """The sum of the field weights (bits); a missing field adds nothing."""
        return sum(weight for weight in self.field_weights(levels) if weight is not None)

    def probability(self, match_weight: float) -> float:
        """P(match | levels) with the prior of the estimation data."""
        odds = math.pow(2.0, match_weight + math.log2(self.prior / (1 - self.prior)))
        return odds / (1 + odds)

    def to_json(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "fields": {
                name: {
                    "levels": list(FIELD_LEVELS[name]),
                    "m": list(parameters.m),
                    "u": list(parameters.u),
                }
                for name, parameters in self.fields.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FellegiSunterModel":
        fields = {
            name: FieldParameters(tuple(values["m"]), tuple(values["u"]))
            for name, values in data["fields"].items()
        }
        return cls(fields, float(data["prior"]))

    @classmethod
    def default(cls) -> "FellegiSunterModel":
        """The parameters estimated on the generator's data (``matching estimate-model``)."""
        return cls.from_json(json.loads(DEFAULT_MODEL_PATH.read_text()))


def analytic_ssn_u() -> tuple[float, ...]:
    """u of the SSN levels for SSNs spread over the 10^9 possible: full, one digit off or two
    adjacent digits swapped (9*9 + 8 neighbours), last four only (1 in 10^4)."""
    full = 1e-9
    one_off = (9 * 9 + 8) * 1e-9
    last4 = 1e-4
    return (full, one_off, last4, 1 - full - one_off - last4)


def level_shares(
    observed: Iterable[int | None], level_count: int, smoothing: float = 0.5
) -> tuple[float, ...]:
    """How often each level occurs among the non-missing ones (additive smoothing)."""
    counts = Counter(level for level in observed if level is not None)
    total = sum(counts.values()) + smoothing * level_count
    return tuple((counts[level] + smoothing) / total for level in range(level_count))


def estimate_u(
    random_pairs: Sequence[Levels], exact_u: Mapping[str, float] | None = None
) -> dict[str, tuple[float, ...]]:
    """u per field from random pairs; ``exact_u`` replaces the exact level's share by the
    value frequencies' sum of squares, which sampling sees too rarely to measure."""
    u: dict[str, tuple[float, ...]] = {}
    for index, name in enumerate(FIELDS):
        if name == "ssn":
            u[name] = analytic_ssn_u()
            continue
        shares = list(level_shares((pair[index] for pair in random_pairs), len(FIELD_LEVELS[name])))
        if exact_u and name in exact_u:
            shares[0] = exact_u[name]
            rest = sum(shares[1:])
            shares[1:] = [share * (1 - shares[0]) / rest for share in shares[1:]]
        u[name] = tuple(shares)
    return u


def exact_agreement_share(values: Iterable[object]) -> float:
    """The chance that two random records agree exactly: the sum of squared value shares."""
    counts = Counter(value for value in values if value is not None)
    total = sum(counts.values())
    if total == 0:
        return MIN_PROBABILITY
    return max(sum((count / total) ** 2 for count in counts.values()), MIN_PROBABILITY)


def _initial_m(level_count: int) -> np.ndarray:
    """Most of the mass on the strongest level, the rest spread: EM's starting point."""
    rest = 0.1 / (level_count - 1)
    return np.array([0.9] + [rest] * (level_count - 1))


def expectation_maximisation(
    blocked_pairs: Sequence[Levels] | Mapping[Levels, int],
    u: Mapping[str, Sequence[float]],
    *,
    iterations: int = 200,
    tolerance: float = 1e-7,
) -> FellegiSunterModel:
    """m and the prior by EM over the candidate pairs, u held fixed.

    The fields a blocking rule makes agree must be left out (None) of ``blocked_pairs``: their m
    says nothing there, and the non-matches of those pairs do not follow their u. The pairs may
    come counted (levels: pairs).
    """
    patterns = blocked_pairs if isinstance(blocked_pairs, Mapping) else Counter(blocked_pairs)
    matrix = np.array(
        [[-1 if level is None else level for level in pattern] for pattern in patterns],
        dtype=np.int64,
    )
    counts = np.array(list(patterns.values()), dtype=np.float64)
    log_u = [np.log(np.asarray(u[name], dtype=np.float64)) for name in FIELDS]
    m = [_initial_m(len(FIELD_LEVELS[name])) for name in FIELDS]
    prior = 0.1
    for _ in range(iterations):
        log_match = np.full(len(matrix), math.log(prior))
        log_non_match = np.full(len(matrix), math.log(1 - prior))
        for index in range(len(FIELDS)):
            column = matrix[:, index]
            present = column >= 0
            log_match[present] += np.log(m[index])[column[present]]
            log_non_match[present] += log_u[index][column[present]]
        posterior = 1 / (1 + np.exp(log_non_match - log_match))
        weighted = posterior * counts
        new_prior = float(weighted.sum() / counts.sum())
        new_m = []
        for index, name in enumerate(FIELDS):
            column = matrix[:, index]
            level_mass = np.bincount(
                column[column >= 0],
                weights=weighted[column >= 0],
                minlength=len(FIELD_LEVELS[name]),
            )
            new_m.append(
                np.maximum(level_mass / max(level_mass.sum(), MIN_PROBABILITY), MIN_PROBABILITY)
            )
        change = max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True))
        m = new_m
        prior = min(max(new_prior, MIN_PROBABILITY), 1 - MIN_PROBABILITY)
        if change < tolerance:
            break
    fields = {
        name: FieldParameters(tuple(float(x) for x in m[index]), tuple(u[name]))
        for index, name in enumerate(FIELDS)
    }
    return FellegiSunterModel(fields, prior)


def estimate_prior(
    pairs: Sequence[Levels], model: FellegiSunterModel, *, iterations: int = 100
) -> float:
    """The share of matches among ``pairs``, by EM with m and u held fixed."""
    weights = np.array([model.match_weight(levels) for levels in pairs], dtype=np.float64)
    prior = 0.5
    for _ in range(iterations):
        log_odds = weights + math.log2(prior / (1 - prior))
        posterior = 1 / (1 + np.exp2(-np.clip(log_odds, -60, 60)))
        prior = min(max(float(posterior.mean()), MIN_PROBABILITY), 1 - MIN_PROBABILITY)
    return prior
