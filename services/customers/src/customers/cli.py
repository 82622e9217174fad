"""``uv run customers ...``: migrate, create-admin, import, service-client, outbox."""

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

from common.cli import ServiceCli
from common.database import Database, resolve_database_url
from common.errors import ProblemError
from common.schemas import error_summary
from common.sql import DriverPool, Transaction
from customers.auth.notifier import masked
from customers.auth.schemas import AdminCredentials
from customers.auth.service import AuthComponents, AuthService, PasswordNotReplaced
from customers.config import SERVICE_DIR, Settings
from customers.passwords import PasswordHasher
from customers.records.service import CustomerImport, CustomerService, ImportReport

T = TypeVar("T")
EXIT_REJECTED_ROWS = 1
EXIT_BAD_INPUT = 2
MAX_LISTED_MESSAGES = 1000


def _in_transaction(
    settings: Settings, work: Callable[[Transaction, DriverPool], Awaitable[T]]
) -> T:
    """Run ``work`` as one unit of work on the database ``make dev`` uses (DATABASE_URL or
    embedded): committed when it returns, rolled back when it raises (the driver's pool for
    the steps an AuthService commits on their own)."""

    async def run() -> T:
        database = Database(resolve_database_url(settings), schema="customers")
        try:
            async with database.driver.transaction() as transaction:
                return await work(transaction, database.driver)
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
    components = AuthComponents.from_settings(settings)

    def ensure(replace_password: bool) -> str:
        return _in_transaction(
            settings,
            lambda transaction, driver: AuthService(transaction, components, driver).ensure_admin(
                given.email, given.password, replace_password=replace_password
            ),
        )

    try:
        try:
            outcome = ensure(args.reset_password)
        except PasswordNotReplaced as exc:
            question = f"{exc.detail}. Replace it (every session of the account ends)? [y/N] "
            if not _confirmed(question):
                print(f"{given.email}: unchanged; --reset-password replaces it", file=sys.stderr)
                return EXIT_BAD_INPUT
            outcome = ensure(True)
    except ProblemError as exc:
        print(exc.detail, file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{given.email}: {outcome}")
    return 0


def _confirmed(question: str) -> bool:
    """Ask on the terminal; without one (a script, CI) the answer is no."""
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in {"y", "yes"}


def list_outbox(args: argparse.Namespace) -> int:
    """The development mail sink: the newest outbox messages, reset tokens included."""
    settings = Settings()
    components = AuthComponents.from_settings(settings)
    messages = _in_transaction(
        settings,
        lambda transaction, driver: AuthService(transaction, components, driver).outbox(args.limit),
    )
    if not messages:
        print("the outbox is empty")
    confirm_url = f"{settings.auth_issuer.rstrip('/')}/password-reset/confirm"
    for message in messages:
        state = f"sent {message.sent_at:%Y-%m-%d %H:%M:%S}" if message.sent_at else "pending"
        print(
            f"#{message.id} {message.created_at:%Y-%m-%d %H:%M:%S} {message.kind} "
            f"to {message.recipient} ({state})"
        )
        token = message.payload.get("token")
        if isinstance(token, str):
            shown = masked(token) if settings.env == "production" else token
            print(f"    token {shown} (expires {message.payload.get('expires_at')})")
            print(f'    POST {confirm_url} {{"token": "{shown}", "new_password": "..."}}')
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

    async def work(transaction: Transaction, _: DriverPool) -> ImportReport:
        service = CustomerService(transaction, offered_languages=settings.allowed_languages)
        return await CustomerImport(service).run(rows, progress=_show_progress)

    report = _in_transaction(settings, work)
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


def _message_count(value: str) -> int:
    count = int(value)
    if not 1 <= count <= MAX_LISTED_MESSAGES:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_LISTED_MESSAGES}")
    return count


def _show_progress(done: int, total: int) -> None:
    print(f"upserted {done}/{total} valid rows", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    cli = ServiceCli("customers", SERVICE_DIR)
    admin = cli.command(
        "create-admin",
        create_admin,
        help="create an admin, or make an account one (asks before replacing a password)",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="asked for when not given")
    admin.add_argument(
        "--reset-password",
        action="store_true",
        help="replace the password of an existing account without asking",
    )
    outbox = cli.command(
        "outbox", list_outbox, help="list the newest outbox messages (the dev mail sink)"
    )
    outbox.add_argument("--limit", type=_message_count, default=20, help="how many (default 20)")
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
