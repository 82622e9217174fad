"""The command line every service shares: ``<service> migrate``; services add their own commands."""

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from common.logging import configure_logging
from common.migrations import upgrade

Handler = Callable[[argparse.Namespace], int]


class ServiceCli:
    """An argparse program with one sub-command per handler; ``migrate`` is always there."""

    def __init__(self, service: str, service_dir: Path) -> None:
        self.service = service
        self.service_dir = service_dir
        self.parser = argparse.ArgumentParser(prog=service, description=f"{service} admin commands")
        self.commands = self.parser.add_subparsers(dest="command", required=True)
        migrate = self.command("migrate", self._migrate, help="migrate the schema to a revision")
        migrate.add_argument("revision", nargs="?", default="head")

    def command(self, name: str, handler: Handler, *, help: str) -> argparse.ArgumentParser:
        sub = self.commands.add_parser(name, help=help)
        sub.set_defaults(handler=handler)
        return sub

    def _migrate(self, args: argparse.Namespace) -> int:
        upgrade(self.service_dir, revision=args.revision)
        logging.getLogger(self.service).info("migrated", extra={"revision": args.revision})
        return 0

    def run(self, argv: Sequence[str] | None = None) -> int:
        configure_logging(default_service=self.service)
        args = self.parser.parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
