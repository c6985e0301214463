"""The example third-party plugin, really installed as its own package, is discovered
by entry point, migrated, and works through the API."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.core.test_plugins import CLI, ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "counterdesk-bulletin"
    shutil.copytree(ROOT / "examples" / "counterdesk-bulletin", source)  # builds leave files behind
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, timeout=300)
    return target


def test_installed_example_plugin_is_discovered_and_works(installed, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed), str(ROOT)]),
               COUNTERDESK_INSTANCE=str(tmp_path), COUNTERDESK_PLUGINS="bulletin",
               COUNTERDESK_PASSWORD_METHOD="pbkdf2:sha256:1000")
    listing = subprocess.run([CLI, "plugins"], env=env, capture_output=True, text=True, timeout=60)
    line = next(l for l in listing.stdout.splitlines() if " bulletin " in l)
    assert "1.0.0" in line and "yes" in line and "counterdesk-bulletin" in line
    init = subprocess.run([CLI, "init"], env=env, capture_output=True, text=True, timeout=60)
    assert "branches: core, bulletin" in init.stdout, init.stderr
    code = """
import json
from core.app import create_app
from core.auth import create_user, issue_token
app = create_app()
rt = app.extensions["counterdesk"]
with rt.unit_of_work() as s:
    u = create_user(s, username="mgr", password="long enough pw", roles=["manager"], actor=None,
                    password_method="pbkdf2:sha256:1000")
    _t, tok = issue_token(s, u)
c = app.test_client(); h = {"Authorization": "Bearer " + tok}
r = c.post("/api/v1/bulletin/notices", json={"title": "Recall: Trailhawk forks"}, headers=h)
print(r.status_code, json.dumps(r.json))
print(json.dumps([n["title"] for n in c.get("/api/v1/bulletin/notices", headers=h).json]))
print(json.dumps([x["title"] for x in c.get("/api/v1/search?q=trailhawk", headers=h).json["results"]]))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("201 ") and '"expires_on": "' in lines[0]  # default 14 days applied
    assert lines[1] == '["Recall: Trailhawk forks"]'
    assert lines[2] == '["Recall: Trailhawk forks"]'
