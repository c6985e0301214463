"""Shared fixtures: ``app`` (SQLite by default; ``backend`` switches to PostgreSQL),
``client``, ``api`` (a JSON client with an admin's token), ``make_user``,
``app_factory`` (an app with throwaway plugins registered) and the real services in
``tests/services``."""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any, Callable, Iterator

import pytest

pytest_plugins = ["tests.services.postgres",
                  "tests.services.redis",
                  "tests.services.browser"]

# CI runs property tests with a fixed seed, so a landing never depends on luck;
# developers' runs keep exploring (and keep what they find in .hypothesis/).
try:
    from hypothesis import settings as _hypothesis_settings
    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI", "").lower() == "true":
        _hypothesis_settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass

# Fast hashing in tests only; test_auth checks the production default separately.
TEST_PASSWORD_METHOD = "pbkdf2:sha256:1000"
PASSWORD = "correct horse battery"


def _build_runtime(url: str, instance: str, plugins: tuple = ()) -> Any:
    from core.config import Config
    from core.runtime import Runtime
    return Runtime(Config.load({"instance_path": instance, "database_url": url,
                                "password_method": TEST_PASSWORD_METHOD, "testing": True}),
                   extra_plugins=plugins)


def _migrate(url: str, instance: str, plugins: tuple = ()) -> None:
    from core import migrate
    from core.auth import seed_roles
    rt = _build_runtime(url, instance, plugins)
    try:
        migrate.upgrade(rt)
        with rt.unit_of_work() as s:
            seed_roles(s, rt.registry.permissions.values())
    finally:
        rt.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database, copied for each test."""
    d = tmp_path_factory.mktemp("sqlite-template")
    path = d / "template.db"
    _migrate(f"sqlite:///{path}", str(d))
    return str(path)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = postgres_server.create_database(name=f"template_{os.getpid()}")
    _migrate(postgres_server.url(name), str(tmp_path_factory.mktemp("pg-template")))
    return name


@pytest.fixture
def backend() -> str:
    """Which database the test runs on; tests/core parametrizes it over both."""
    return "sqlite"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Any) -> Iterator[str]:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "counterdesk.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = server.create_database(template=template)
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def app_factory(database_url: str, tmp_path: Any) -> Iterator[Callable[..., Any]]:
    """``app_factory(plugins=(...), **config)``: an app on this test's database with
    throwaway plugins registered (their migrations applied); closed after the test."""
    from core import migrate
    from core.app import create_app
    from core.runtime import set_current
    apps: list[Any] = []

    def make(plugins: tuple = (), **config: Any) -> Any:
        cfg = {"instance_path": str(tmp_path / "instance"), "database_url": database_url,
               "password_method": TEST_PASSWORD_METHOD, "testing": True, **config}
        app = create_app(cfg, plugins=plugins)
        rt = app.extensions["counterdesk"]
        if plugins:
            migrate.upgrade(rt)
            from core.auth import seed_roles
            with rt.unit_of_work() as s:
                seed_roles(s, rt.registry.permissions.values())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["counterdesk"].close()
    set_current(None)


@pytest.fixture
def app(app_factory: Callable[..., Any]) -> Any:
    return app_factory()


@pytest.fixture
def runtime(app: Any) -> Any:
    return app.extensions["counterdesk"]


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class ApiClient:
    """JSON calls under /api/v1 with a bearer token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return h

    def _path(self, path: str) -> str:
        return path if path.startswith("/") else "/api/v1/" + path

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(self._path(path), headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(self._path(path), json=json,
                                headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(self._path(path), json=json,
                               headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(self._path(path), json=json,
                                 headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(self._path(path), headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def make_user(app: Any) -> Callable[..., Any]:
    """``make_user("cashier")`` → (user id, bearer token) for a new user with that role."""
    from core.auth import create_user, issue_token
    rt = app.extensions["counterdesk"]
    counter = {"n": 0}

    def make(*roles: str, username: str | None = None, password: str = PASSWORD) -> tuple[int, str]:
        counter["n"] += 1
        name = username or f"{'_'.join(roles) or 'norole'}{counter['n']}"
        with rt.unit_of_work() as s:
            user = create_user(s, username=name, password=password, roles=list(roles),
                               actor=None, password_method=TEST_PASSWORD_METHOD)
            _token, clear = issue_token(s, user, name="tests")
            return user.id, clear
    return make


@pytest.fixture
def api(client: Any, make_user: Callable[..., Any]) -> ApiClient:
    _uid, token = make_user("admin", username="root")
    return ApiClient(client, token)


@pytest.fixture
def api_as(client: Any, make_user: Callable[..., Any]) -> Callable[..., ApiClient]:
    """``api_as("cashier")``: a JSON client signed in as a new user with those roles."""
    def make(*roles: str) -> ApiClient:
        return ApiClient(client, make_user(*roles)[1])
    return make


@contextlib.contextmanager
def write_transactions(runtime: Any, thread: str | None = None) -> Iterator[list[int]]:
    """Count the writing transactions begun inside the block by the thread named
    ``thread`` (this thread by default)."""
    import threading

    from sqlalchemy import event
    count = [0]
    name = thread or threading.current_thread().name

    def begun(conn: Any) -> None:
        if threading.current_thread().name == name and \
                conn.get_execution_options().get("counterdesk_write"):
            count[0] += 1

    event.listen(runtime.db.engine, "begin", begun)
    try:
        yield count
    finally:
        event.remove(runtime.db.engine, "begin", begun)
