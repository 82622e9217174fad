"""Layout rules: services talk over HTTP only, common knows no service, domain code has no web."""

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

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
def test_domain_rules_and_settings_do_not_import_the_web_framework(service: str) -> None:
    for source in (ROOT / "services" / service / "src").rglob("*.py"):
        if source.name in {"service.py", "config.py", "repository.py", "models.py"}:
            names = imported_top_level_modules(source.parent)[source]
            assert not names & {"fastapi", "starlette"}, f"{source} imports {names}"


def _sources(service: str) -> list[Path]:
    return sorted((ROOT / "services" / service / "src").rglob("*.py"))


def _tree(source: Path) -> ast.Module:
    return ast.parse(source.read_text(), filename=str(source))


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Calls of ``name(...)`` or ``something.name(...)``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_dependencies_are_declared_in_dependencies_py_only(service: str) -> None:
    """Routes name Annotated aliases; ``Depends(...)`` is written in a dependencies.py."""
    for source in _sources(service):
        if source.name != "dependencies.py":
            assert not _calls(_tree(source), "Depends"), f"{source} declares a dependency"


@pytest.mark.parametrize("service", SERVICES)
def test_models_py_holds_tables_only(service: str) -> None:
    """Every class of a models.py is a table, or the service's one base naming its schema."""
    for source in _sources(service):
        if source.name != "models.py":
            continue
        for node in _tree(source).body:
            if isinstance(node, ast.ClassDef):
                keywords = {keyword.arg for keyword in node.keywords}
                assert keywords & {"table", "registry"}, f"{source}: {node.name} is no table"


@pytest.mark.parametrize("service", SERVICES)
def test_database_errors_are_mapped_by_common_only(service: str) -> None:
    """No SQLSTATE reading or savepoints in a service: ``constraint_problems`` maps them."""
    for source in _sources(service):
        text = source.read_text()
        assert "sqlstate" not in text.lower(), f"{source} reads SQLSTATE codes"
        assert "begin_nested" not in text, f"{source} wraps statements in savepoints"


@pytest.mark.parametrize("service", SERVICES)
def test_pages_are_built_with_page_of(service: str) -> None:
    """``Page.of(items, total, query)``, not ``Page(items=..., total=..., ...)`` by hand."""
    for source in _sources(service):
        for call in ast.walk(_tree(source)):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Subscript | ast.Name):
                target = call.func.value if isinstance(call.func, ast.Subscript) else call.func
                name = target.id if isinstance(target, ast.Name) else ""
                assert not name.endswith("Page"), f"{source}:{call.lineno} builds a Page by hand"


def _models_inside(annotation: Any, seen: set[type[BaseModel]]) -> None:
    """``annotation``'s models, and the models of their fields, into ``seen``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        origin = annotation.__pydantic_generic_metadata__["origin"]
        if origin is not None:
            seen.add(origin)  # Page[X] is answered: so is Page
        for field in annotation.model_fields.values():
            _models_inside(field.annotation, seen)
    for argument in get_args(annotation):
        _models_inside(argument, seen)


def _routes(service: str) -> Iterator[APIRoute]:
    src = ROOT / "services" / service / "src"
    for source in _sources(service):
        if source.name.endswith("routes.py"):
            name = ".".join(source.relative_to(src).with_suffix("").parts)
            module = importlib.import_module(name)
            for router in vars(module).values():
                if isinstance(router, APIRouter):
                    yield from (route for route in router.routes if isinstance(route, APIRoute))


def answered_models(service: str) -> set[type[BaseModel]]:
    """The models a service's routes answer with, and every model inside them."""
    answered: set[type[BaseModel]] = set()
    for route in _routes(service):
        _models_inside(route.response_model, answered)
        for response in route.responses.values():
            _models_inside(response.get("model"), answered)
    return answered


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_py_builds_no_answer(service: str) -> None:
    """Routes shape the answers: a service.py returns domain objects and imports none of the
    models the routes answer with (nor their parts)."""
    answered = answered_models(service)
    assert len(answered) > 3, "the search for answered models finds too few"
    for source in _sources(service):
        if source.name != "service.py":
            continue
        for node in ast.walk(_tree(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    imported = getattr(module, alias.name, None)
                    assert all(imported is not model for model in answered), (
                        f"{source} imports {alias.name}, a model the routes answer with"
                    )


def test_common_lists_no_roles() -> None:
    """Roles belong to the services that check them and to customers, which grants them."""
    for source in (ROOT / "libs" / "common" / "src").rglob("*.py"):
        assert "ROLES" not in source.read_text(), f"{source} lists the platform's roles"


def test_only_settings_name_the_login_url() -> None:
    """The identity provider's URLs are configuration (AUTH_LOGIN_URL, AUTH_JWKS_URL...)."""
    for source in (ROOT / "libs" / "common" / "src").rglob("*.py"):
        if source.name != "settings.py":
            assert "/auth/" not in source.read_text(), f"{source} names customers' URLs"


def _required_roles(service: str) -> set[str]:
    roles: set[str] = set()
    for source in _sources(service):
        for name in ("require_roles", "caller_with_roles"):
            for call in _calls(_tree(source), name):
                roles |= {arg.value for arg in call.args if isinstance(arg, ast.Constant)}
    return roles


@pytest.mark.parametrize("service", SERVICES)
def test_every_role_a_service_requires_is_one_customers_grants(service: str) -> None:
    from customers.records.models import ROLES

    assert _required_roles(service) <= ROLES
    assert _required_roles("appointments"), "the search for required roles finds none"
