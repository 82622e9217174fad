"""`make dev` and `make stack` give appointments a client secret that customers accepts."""

import json
import os

import pytest
from passlib.hash import argon2

from gateway.devserver import wire_service_clients

WIRED = ("CUSTOMERS_SERVICE_CLIENTS", "APPOINTMENTS_CLIENT_SECRET", "APPOINTMENTS_CUSTOMERS_URL")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No client configured; whatever the test sets is undone afterwards."""
    for variable in WIRED:
        monkeypatch.setenv(variable, "")  # recorded, so the undo removes what the test sets
        monkeypatch.delenv(variable)
    return monkeypatch


def test_an_unconfigured_client_gets_a_secret_and_customers_its_hash(environment) -> None:
    wire_service_clients(8123)
    secret = os.environ["APPOINTMENTS_CLIENT_SECRET"]
    clients = json.loads(os.environ["CUSTOMERS_SERVICE_CLIENTS"])
    assert clients["appointments"].startswith("$argon2id$")
    assert argon2.verify(secret, clients["appointments"])
    assert os.environ["APPOINTMENTS_CUSTOMERS_URL"] == "http://127.0.0.1:8123"


def test_a_configured_client_is_left_alone(environment) -> None:
    configured = json.dumps({"appointments": "$argon2id$configured", "billing": "$argon2id$x"})
    environment.setenv("CUSTOMERS_SERVICE_CLIENTS", configured)
    environment.setenv("APPOINTMENTS_CLIENT_SECRET", "kept")
    wire_service_clients(8123)
    assert json.loads(os.environ["CUSTOMERS_SERVICE_CLIENTS"]) == json.loads(configured)
    assert os.environ["APPOINTMENTS_CLIENT_SECRET"] == "kept"
