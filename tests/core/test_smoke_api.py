def test_token_then_me(api, client):
    r = client.post("/api/v1/auth/tokens", json={"username": "root", "password": "correct horse battery"})
    assert r.status_code == 201, r.json
    token = r.json["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["user"]["username"] == "root"
    assert "core.users.manage" in me.json["permissions"]
