"""Idempotency-Key: a replay returns the first answer; another body with the same key
is 409; concurrent duplicates create one record."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

import tests.testplugin as testplugin
from tests.testplugin.models import Note


@pytest.fixture
def notes_api(app_factory):
    from core.auth import create_user, issue_token
    from tests.conftest import TEST_PASSWORD_METHOD, ApiClient
    app = app_factory(plugins=(testplugin,))
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = create_user(s, username="till", password="long enough pw", roles=["cashier"],
                           actor=None, password_method=TEST_PASSWORD_METHOD)
        _t, token = issue_token(s, user)
    api = ApiClient(app.test_client(), token)
    api.rt = rt
    return api


def _count(rt, kind="note"):
    rt._jobs_runner and rt._jobs_runner.wait_idle()
    with rt.unit_of_work(write=False) as s:
        return s.scalar(select(func.count()).select_from(Note).where(Note.kind == kind))


def test_replay_returns_the_first_answer(notes_api):
    h = {"Idempotency-Key": "sale-42"}
    first = notes_api.post("testplugin/notes", json={"body": "a"}, headers=h)
    again = notes_api.post("testplugin/notes", json={"body": "a"}, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(notes_api.rt) == 1
    assert _count(notes_api.rt, "echo") == 1  # and the job was not queued twice


def test_same_key_with_another_body_is_409(notes_api):
    h = {"Idempotency-Key": "k1"}
    assert notes_api.post("testplugin/notes", json={"body": "a"}, headers=h).status_code == 201
    r = notes_api.post("testplugin/notes", json={"body": "b"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "idempotency_key_reused"
    assert _count(notes_api.rt) == 1


def test_a_failed_request_is_not_remembered_and_writes_nothing(notes_api):
    h = {"Idempotency-Key": "k2"}
    bad = notes_api.post("testplugin/notes", json={"body": "a", "fail_after_write": True}, headers=h)
    assert bad.status_code == 422
    assert _count(notes_api.rt) == 0 and _count(notes_api.rt, "echo") == 0
    ok = notes_api.post("testplugin/notes", json={"body": "a", "fail_after_write": True}, headers=h)
    assert ok.status_code == 422  # same request, same outcome, still nothing written
    good = notes_api.post("testplugin/notes", json={"body": "a"}, headers={"Idempotency-Key": "k3"})
    assert good.status_code == 201


def test_keys_belong_to_their_user(notes_api, make_user):
    h = {"Idempotency-Key": "shared"}
    assert notes_api.post("testplugin/notes", json={"body": "a"}, headers=h).status_code == 201
    from tests.conftest import ApiClient
    from core.auth import create_user, issue_token
    from tests.conftest import TEST_PASSWORD_METHOD
    with notes_api.rt.unit_of_work() as s:
        other = create_user(s, username="till2", password="long enough pw", roles=["cashier"],
                            actor=None, password_method=TEST_PASSWORD_METHOD)
        _t, token = issue_token(s, other)
    other_api = ApiClient(notes_api.client, token)
    assert other_api.post("testplugin/notes", json={"body": "b"}, headers=h).status_code == 201
    assert _count(notes_api.rt) == 2


def test_concurrent_duplicates_create_one_record(notes_api):
    n = 6
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def post(i):
        client = notes_api.client.application.test_client()
        barrier.wait()
        results[i] = client.post("/api/v1/testplugin/notes", json={"body": "rush"},
                                 headers={"Idempotency-Key": "race",
                                          "Authorization": f"Bearer {notes_api.token}"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every copy answers with the one note created: the copies that lost the race
    # rolled their own work back and replayed the winner's answer
    assert [r.status_code for r in results] == [201] * n, [r.get_json() for r in results]
    assert len({r.json["id"] for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == n - 1
    assert _count(notes_api.rt) == 1
