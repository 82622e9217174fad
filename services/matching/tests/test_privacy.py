"""No plaintext SSN anywhere: not in the tables, not in the logs, not in any answer."""

import logging

import pytest

from .conftest import MARIA, MatchingApi, enrollment

SSN_FORMS = ("123456789", "123-45-6789", "123 45 6789", "45-6789")
TABLES = ("organizations", "organization_members", "enrollments", "audit_log")


async def test_no_plaintext_ssn_in_the_database_logs_or_answers(
    api: MatchingApi, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    answers = []
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1), enrollment(2, ssn="123 45 6789", client_id="C1")])
    bad = await api.client.post(
        "/matching/enrollments",
        json={"enrollments": [enrollment(3, ssn="123-45-6789x")]},
        headers=api.provider(),
    )
    answers.append(bad.text)
    for path in ("/matching/enrollments", "/matching/enrollments/E1"):
        answers.append((await api.client.get(path, headers=api.provider())).text)
    for body in (
        {"people": [MARIA, {**MARIA, "ssn": "123-45-6798"}]},
        {"people": [{**MARIA, "ssn": "123-45-678"}]},
    ):
        answers.append(
            (await api.client.post("/matching/matches", json=body, headers=api.utility)).text
        )
    answers.append(
        (
            await api.client.post(
                "/matching/return_user_info",
                json={"last_name": ["García-López"], "ssn": ["123-45-6789"]},
                headers=api.utility,
            )
        ).text
    )
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    stored = "\n".join([await api.table_text(table) for table in TABLES])
    assert "García-López" in stored  # names are stored: the search below does find text
    logs = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    output = capsys.readouterr()
    for form in SSN_FORMS:
        assert form not in stored
        assert form not in logs
        assert form not in output.out + output.err
        for answer in answers:
            assert form not in answer
    assert await api.count("enrollments", "ssn_hash IS NOT NULL") == 2
    assert await api.count("audit_log") == 3  # the short SSN is left out, the person asked


async def test_a_different_key_gives_different_hashes(api: MatchingApi) -> None:
    from matching.ssn import SsnHasher

    one, other = SsnHasher(b"a" * 32), SsnHasher(b"b" * 32)
    assert one.hashes("123456789").full != other.hashes("123456789").full
    assert one.hashes("123456789").last4 == one.hashes("6789").last4
