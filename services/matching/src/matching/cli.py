"""``matching migrate``, ``generate`` (synthetic data), ``estimate-model`` (the starting model)
and ``train-model`` (learn from the enrollments held)."""

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from common.cli import ServiceCli
from common.database import Database, resolve_database_url
from matching.config import SERVICE_DIR, Settings
from matching.generator import Generator
from matching.identities import question_identity
from matching.linkage import training
from matching.matches.comparison import Identity
from matching.matches.estimation import estimate_model
from matching.matches.fellegi_sunter import DEFAULT_MODEL_PATH
from matching.ssn import SsnHasher


def identity_of(hasher: SsnHasher, row: dict[str, Any]) -> Identity:
    """The identity of a generated row (enrollment or cohort member)."""
    return question_identity(
        hasher,
        first_name=row.get("first_name"),
        last_name=row["last_name"],
        dob=date.fromisoformat(row["dob"]) if row.get("dob") else None,
        ssn=row.get("ssn"),
    )


def _generate(args: argparse.Namespace) -> int:
    """Print synthetic enrollments, a cohort and the true links as one JSON document."""
    data = Generator(args.seed, error_rate=args.error_rate).dataset(
        clients=args.clients, cohort=args.cohort
    )
    document = {
        "enrollments": data.enrollments,
        "cohort": data.cohort,
        "links": [sorted(ids) for ids in data.links],
        "errors": data.errors,
    }
    json.dump(document, sys.stdout)
    return 0


def _estimate_model(args: argparse.Namespace) -> int:
    """Estimate m, u and the prior on generated data and write them where the service reads."""
    data = Generator(args.seed).dataset(clients=args.clients, cohort=args.cohort)
    hasher = SsnHasher(Settings().ssn_key_bytes())
    records = [identity_of(hasher, row) for row in data.enrollments]
    questions = [identity_of(hasher, row) for row in data.cohort]
    model = estimate_model(questions, records)
    args.output.write_text(json.dumps(model.to_json(), indent=2) + "\n")
    return 0


def _train_model(args: argparse.Namespace) -> int:
    """Learn the linkage model from the enrollments held now; print its version."""

    async def train() -> int:
        settings = Settings()
        database = Database(resolve_database_url(settings), schema="matching")
        try:
            return await training.train(database)
        finally:
            await database.dispose()

    print(json.dumps({"model_version": asyncio.run(train())}))
    return 0


def main() -> int:
    cli = ServiceCli("matching", SERVICE_DIR)
    generate = cli.command("generate", _generate, help="print synthetic enrollments and a cohort")
    generate.add_argument("--clients", type=int, default=1000)
    generate.add_argument("--cohort", type=int, default=200)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--error-rate", type=float, default=0.5)
    estimate = cli.command(
        "estimate-model", _estimate_model, help="estimate the default model on generated data"
    )
    estimate.add_argument("--clients", type=int, default=50_000)
    estimate.add_argument("--cohort", type=int, default=10_000)
    estimate.add_argument("--seed", type=int, default=1)
    estimate.add_argument("--output", type=Path, default=DEFAULT_MODEL_PATH)
    cli.command("train-model", _train_model, help="learn the model from the enrollments held")
    return cli.run()
