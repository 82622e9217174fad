"""Splink (DuckDB) linking questions against records, in its own process so that its peak
memory is its own: ``python -m bench.splink_link <folder> <threshold>``.

The folder holds ``records.parquet`` and ``questions.parquet`` (bench/benchmarks/matching.py
writes them: names normalized and blocking codes made the way matching does, so both systems see
the same data and the same blocking keys). Writes the pairs at or above the match probability
``threshold`` to ``splink_pairs.json`` there and prints one JSON object: seconds (training and
prediction), peak RSS, the number of pairs, and what the training did (``training``: one line
per step, a rule that found no pairs and the one used instead included).
"""

import json
import logging
import resource
import sys
import time
from pathlib import Path

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.exceptions import SplinkException

PRIOR_RULES = (
    ("SSN and dob", block_on("ssn", "dob")),
    ("SSN and names", block_on("ssn", "first_name", "last_name")),
    ("names and dob", block_on("first_name", "last_name", "dob")),
)
"""Deterministic rules for the prior (the probability that two random records match), in order
of preference: the first that finds pairs, at an assumed recall of 0.6."""
EM_RULES = (
    ("dob", block_on("dob")),
    ("first and last name codes", block_on("last_code", "first_code")),
    ("SSN last four", block_on("ssn_last4")),
    ("last name code", block_on("last_code")),
)
"""EM's blocking rules in order of preference: the first two that give pairs train the model (a
rule that gives none on a small data set is skipped, and the report says so)."""
EM_RUNS = 2


def _question(condition: str) -> str:
    """``condition`` about a question ``{q}``, whichever side it is on."""
    return (
        f"((l.side = 'question' AND {condition.format(q='l')}) OR "
        f"(r.side = 'question' AND {condition.format(q='r')}))"
    )


BLOCKING_RULES: list[BlockingRuleCreator] = [
    # matching's blocking keys (matches/scoring.py, record_blocking_keys; repository.py's
    # _BRANCHES), each a record sharing the key with the question
    block_on("last_code", "first_code"),
    block_on("dob", "ssn_last4"),
    block_on("dob", "last_code"),
    block_on("dob", "first_code"),
    block_on("ssn_last4", "last_code"),
    block_on("ssn_last4", "first_code"),
    # the same keys of the question with its names swapped (question_blocking_keys): a key and
    # its mirror, so whichever side the question is on
    CustomRule("l.last_code = r.first_code AND l.first_code = r.last_code"),
    CustomRule("l.dob = r.dob AND l.last_code = r.first_code"),
    CustomRule("l.dob = r.dob AND l.first_code = r.last_code"),
    CustomRule("l.ssn_last4 = r.ssn_last4 AND l.last_code = r.first_code"),
    CustomRule("l.ssn_last4 = r.ssn_last4 AND l.first_code = r.last_code"),
    # the last name alone, only for a question that gives nothing else
    CustomRule(
        "l.last_code = r.last_code AND "
        + _question("{q}.first_code IS NULL AND {q}.dob IS NULL AND {q}.ssn_last4 IS NULL")
    ),
]


def _ssn_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="ssn",
        comparison_levels=[
            cll.NullLevel("ssn"),
            cll.ExactMatchLevel("ssn"),
            cll.DamerauLevenshteinLevel("ssn", 1),
            cll.CustomLevel("right(ssn_l, 4) = right(ssn_r, 4)", label_for_charts="last four"),
            cll.ElseLevel(),
        ],
    )


def _train(linker: Linker) -> list[str]:
    """The prior from the first of PRIOR_RULES that finds pairs, u by random sampling, m by EM
    on the first EM_RUNS rules of EM_RULES that give pairs; what it did, step by step."""
    steps = []
    for label, rule in PRIOR_RULES:
        linker.training.estimate_probability_two_random_records_match([rule], recall=0.6)
        if linker.misc.save_model_to_json()["probability_two_random_records_match"] > 0:
            steps.append(f"prior from {label}")
            break
        steps.append(f"no pairs agree on {label}")
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    trained = 0
    for label, rule in EM_RULES:
        if trained == EM_RUNS:
            break
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except (SplinkException, ValueError) as error:  # no pairs, or too few for EM's logs
            steps.append(f"EM on {label} failed ({str(error).splitlines()[0].split('.  ')[0]})")
            continue
        steps.append(f"EM on {label}")
        trained += 1
    return steps


def link(folder: Path, threshold: float) -> dict[str, object]:
    started = time.perf_counter()
    connection = duckdb.connect()
    for table in ("records", "questions"):
        source = connection.read_parquet(str(folder / f"{table}.parquet"))
        source.create(table)
    database = DuckDBAPI(connection)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            _ssn_comparison(),
        ],
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
    )
    linker = Linker(
        [database.register("records"), database.register("questions")],
        settings,
        log_level=logging.WARNING,
    )
    training = _train(linker)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predictions.as_duckdbpyrelation().select("uid_l, uid_r").fetchall()
    seconds = time.perf_counter() - started
    (folder / "splink_pairs.json").write_text(json.dumps(pairs))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mib": peak_mib, "pairs": len(pairs), "training": training}


if __name__ == "__main__":
    print(json.dumps(link(Path(sys.argv[1]), float(sys.argv[2]))))
