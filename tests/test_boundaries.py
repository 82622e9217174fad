"""Layout rules: services talk over HTTP only, common knows no service, domain code has no web."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "src").is_dir())


def imported_top_level_modules(folder: Path) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for source in folder.rglob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[source] = names
    return found


def test_there_are_five_services() -> None:
    assert SERVICES == ["appointments", "customers", "matching", "occupancy", "points"]


def test_common_imports_no_service() -> None:
    for source, names in imported_top_level_modules(ROOT / "libs" / "common").items():
        assert not names & set(SERVICES), f"{source} imports {names & set(SERVICES)}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = set(SERVICES) - {service}
    for source, names in imported_top_level_modules(ROOT / "services" / service).items():
        assert not names & others, f"{source} imports {names & others}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_rules_do_not_import_the_web_framework(service: str) -> None:
    for source in (ROOT / "services" / service / "src").rglob("service.py"):
        names = imported_top_level_modules(source.parent)[source]
        assert not names & {"fastapi", "starlette"}, f"{source} imports {names}"
