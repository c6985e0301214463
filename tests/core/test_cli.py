"""The command line: demo, run (a real gunicorn server), backup and restore."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from tests.core.test_plugins import CLI, DIST, ROOT, run_cli
from tests.services.common import free_port


def test_demo_prints_credentials_that_sign_in(tmp_path):
    env = {"COUNTERDESK_PLUGINS": "pos", "COUNTERDESK_PASSWORD_METHOD": "pbkdf2:sha256:1000"}
    first = run_cli("demo", env=env, instance=tmp_path)  # initialises the database itself
    assert first.returncode == 0, first.stderr
    password = first.stdout.strip().split()[-1]
    again = run_cli("demo", env=env, instance=tmp_path)
    assert again.returncode == 0 and again.stdout.strip().split()[-1] == password  # idempotent
    users = run_cli("users", "list", env=env, instance=tmp_path).stdout
    for name in ("admin", "owner", "cashier", "technician", "warranty", "finance", "read_only"):
        assert f"\t{name}\t" in users


def test_run_serves_http_on_the_given_port(tmp_path):
    env = dict(os.environ, COUNTERDESK_INSTANCE=str(tmp_path), COUNTERDESK_PLUGINS="pos",
               COUNTERDESK_PASSWORD_METHOD="pbkdf2:sha256:1000",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(DIST)]))
    demo = subprocess.run([CLI, "demo", "--admin-password", "demo password 1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    server = subprocess.Popen([CLI, "run", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as r:
                    assert r.status == 200 and b"Sign in" in r.read()
                break
            except OSError:  # refused, reset or timed out while workers start
                assert time.time() < deadline, "server did not come up"
                time.sleep(0.2)
        req = urllib.request.Request(base + "/api/v1/auth/tokens", method="POST",
                                     data=json.dumps({"username": "admin", "password": "demo password 1"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            token = json.loads(r.read())["token"]
        me = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(me, timeout=5) as r:
            assert json.loads(r.read())["user"]["username"] == "admin"
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_run_refuses_an_uninitialised_database(tmp_path):
    r = run_cli("run", "--port", str(free_port()), instance=tmp_path)
    assert r.returncode != 0 and "counterdesk init" in r.stderr


def test_backup_and_restore_sqlite(tmp_path):
    env = {"COUNTERDESK_PLUGINS": "pos"}
    inst = tmp_path / "inst"
    assert run_cli("init", env=env, instance=inst).returncode == 0
    run_cli("users", "create", "keep", "--role", "cashier", "--password-stdin", env=env, instance=inst,
            input="long enough pw\n")
    backup = tmp_path / "backup.db"
    assert run_cli("backup", str(backup), env=env, instance=inst).returncode == 0
    run_cli("users", "create", "later", "--role", "cashier", "--password-stdin", env=env, instance=inst,
            input="long enough pw\n")
    r = run_cli("restore", str(backup), "--yes", env=env, instance=inst)
    assert r.returncode == 0, r.stderr
    users = run_cli("users", "list", env=env, instance=inst).stdout
    assert "\tkeep\t" in users and "\tlater\t" not in users
