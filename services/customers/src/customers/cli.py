"""``uv run customers ...``: migrate, create-admin, import, service-client."""

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from common.cli import ServiceCli
from common.database import Database, resolve_database_url
from common.errors import ProblemError
from common.schemas import error_summary
from customers.auth.schemas import AdminCredentials
from customers.auth.service import ensure_admin
from customers.config import SERVICE_DIR, Settings
from customers.passwords import PasswordHasher, PasswordPolicy
from customers.records.service import CustomerImport, CustomerService, ImportReport

T = TypeVar("T")
EXIT_REJECTED_ROWS = 1
EXIT_BAD_INPUT = 2


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` as one unit of work on the database ``make dev`` uses (DATABASE_URL or
    embedded): committed when it returns, rolled back when it raises."""

    async def run() -> T:
        database = Database(resolve_database_url(settings), schema="customers")
        try:
            async with database.sessions.begin() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def create_admin(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("password: ")
    try:
        given = AdminCredentials(email=args.email, password=password)
    except ValidationError as exc:
        print(error_summary(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = Settings()
    hasher = PasswordHasher.from_settings(settings)
    policy = PasswordPolicy(settings.password_min_score)
    try:
        outcome = _in_session(
            settings,
            lambda session: ensure_admin(session, hasher, policy, given.email, given.password),
        )
    except ProblemError as exc:
        print(exc.detail, file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{given.email}: {outcome}")
    return 0


def import_customers(args: argparse.Namespace) -> int:
    try:
        rows = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not isinstance(rows, list):
        print(f"{args.file} must hold a JSON list of customers", file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = Settings()

    async def work(session: AsyncSession) -> ImportReport:
        service = CustomerService(session, offered_languages=settings.allowed_languages)
        return await CustomerImport(service).run(rows, progress=_show_progress)

    report = _in_session(settings, work)
    print(
        f"{report.total} rows: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
    )
    for rejected in report.rejected:
        print(f"row {rejected.row}: {rejected.reason}")
    return EXIT_REJECTED_ROWS if report.rejected else 0


def service_client(args: argparse.Namespace) -> int:
    """Make a secret for a service client and print it with the hash to configure."""
    secret = secrets.token_urlsafe(32)
    hasher = PasswordHasher.from_settings(Settings())
    secret_hash = asyncio.run(hasher.hash(secret))
    print(f"client id:     {args.client_id}")
    print(f"client secret: {secret}   (give it to the client; it is not kept anywhere)")
    print(f"CUSTOMERS_SERVICE_CLIENTS entry: {json.dumps({args.client_id: secret_hash})}")
    return 0


def _show_progress(done: int, total: int) -> None:
    print(f"upserted {done}/{total} valid rows", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    cli = ServiceCli("customers", SERVICE_DIR)
    admin = cli.command(
        "create-admin", create_admin, help="create an admin, or make an account one (idempotent)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="asked for when not given")
    importer = cli.command(
        "import", import_customers, help="upsert the customers of a JSON export (idempotent)"
    )
    importer.add_argument(
        "file", type=Path, help="a JSON list of {customer_id, email, country, language}"
    )
    client = cli.command(
        "service-client", service_client, help="make a secret for a client-credentials client"
    )
    client.add_argument("client_id")
    return cli.run(argv)
