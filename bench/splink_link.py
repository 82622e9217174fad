"""Splink (DuckDB) linking a cohort against enrollments, in its own process so that its peak
memory is its own: ``python -m bench.splink_link <folder with the parquet files>``.

Prints one JSON object: seconds (training included), predicted pairs above the threshold.
The inputs are the benchmark's generated records, names normalized and blocking codes made the
way matching does, so both see the same data and the same blocking keys.
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

THRESHOLD = 0.9


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


def link(folder: Path) -> dict[str, float]:
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
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            _ssn_comparison(),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("last_code", "first_code"),
            block_on("dob", "ssn_last4"),
            block_on("dob", "last_code"),
            block_on("dob", "first_code"),
            block_on("ssn_last4", "last_code"),
        ],
    )
    linker = Linker(
        [database.register("records"), database.register("questions")],
        settings,
        log_level=logging.WARNING,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("ssn", "dob")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("last_code", "first_code")
    )
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    pairs = predictions.as_duckdbpyrelation().select("uid_l, uid_r").fetchall()
    seconds = time.perf_counter() - started
    (folder / "splink_pairs.json").write_text(json.dumps(pairs))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mib": peak_mib, "pairs": len(pairs)}


if __name__ == "__main__":
    print(json.dumps(link(Path(sys.argv[1]))))
