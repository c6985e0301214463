"""The web shell through Flask's test client: sign-in and sign-out with CSRF,
navigation by role, permission pages, the settings form, a report page, search."""
from __future__ import annotations

import re
from typing import Any

import pytest

from core.types import Chart, Column, ReportResult
from core.web.charts import svg_chart
from tests.conftest import PASSWORD

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """The test client as a browser would use it: asks for HTML and sends the page's
    CSRF token with every form."""

    def __init__(self, client: Any) -> None:
        self.client = client
        client.environ_base["HTTP_ACCEPT"] = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
        self.token = ""

    def get(self, path: str, **kw: Any) -> Any:
        resp = self.client.get(path, **kw)
        found = TOKEN_RE.search(resp.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        return self.client.post(path, data=form)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        self.get("/")  # the session (and its CSRF token) is new after sign-in
        return resp


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


def html(resp: Any) -> str:
    return resp.get_data(as_text=True)


def menu_keys(page: str) -> set[str]:
    return set(re.findall(r'data-menu="([^"]+)"', page))


# ------------------------------------------------------------ sign-in/out

def test_sign_in_lands_on_the_dashboard(browser, make_user):
    make_user("owner", username="olive")
    resp = browser.sign_in("olive")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    home = browser.get("/")
    assert home.status_code == 200
    assert "Good to see you, olive" in html(home)
    assert 'id="search-box"' in html(home) and 'id="sign-out"' in html(home)
    assert 'data-card="jobs"' in html(home)     # the kernel's card, for who may see jobs


def test_wrong_password_says_so_with_401(browser, make_user):
    make_user("cashier", username="carl")
    resp = browser.post("/login", {"username": "carl", "password": "nope nope"}, csrf=False)
    assert resp.status_code == 400                  # no CSRF token: refused outright
    browser.get("/login")
    resp = browser.post("/login", {"username": "carl", "password": "wrong password"})
    assert resp.status_code == 401
    assert "Wrong username or password." in html(resp)
    assert 'value="carl"' in html(resp)             # the username is kept for a retry
    assert browser.get("/").status_code == 302      # still signed out


def test_sign_out_takes_a_post_with_the_csrf_token(browser, make_user):
    make_user("cashier", username="cara")
    browser.sign_in("cara")
    assert browser.client.get("/logout").status_code == 405
    refused = browser.post("/logout", csrf=False)
    assert refused.status_code == 400 and "CSRF" in html(refused)
    assert browser.get("/").status_code == 200       # a forged sign-out did nothing
    out = browser.post("/logout")
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    page = browser.get("/login")
    assert "You are signed out." in html(page)
    assert browser.get("/").status_code == 302


def test_signed_out_visitor_is_sent_to_sign_in_and_back(browser, make_user):
    resp = browser.get("/admin/users?q=a")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=/admin/users")
    make_user("owner", username="otto")
    browser.get("/login")
    back = browser.post("/login?next=/admin/users", {"username": "otto", "password": PASSWORD})
    assert back.headers["Location"] == "/admin/users"
    browser.get("/admin/users")
    assert browser.post("/logout").status_code == 302
    browser.get("/login")
    offsite = browser.post("/login?next=//evil.example/", {"username": "otto", "password": PASSWORD})
    assert offsite.headers["Location"] == "/"


# -------------------------------------------------------------- navigation

@pytest.mark.parametrize("role, shown, hidden", [
    ("cashier", set(), {"reports", "users", "roles", "settings", "audit", "plugins", "jobs"}),
    ("owner", {"reports", "users", "settings", "audit", "plugins", "jobs"}, {"roles"}),
    ("admin", {"reports", "users", "roles", "settings", "audit", "plugins", "jobs"}, set()),
])
def test_navigation_shows_only_what_the_role_may_use(browser, make_user, role, shown, hidden):
    make_user(role, username="someone")
    browser.sign_in("someone")
    keys = menu_keys(html(browser.get("/")))
    assert shown <= keys
    assert not keys & hidden
    for key in shown:   # every link it shows opens
        url = re.search(rf'href="([^"]+)" data-menu="{key}"', html(browser.get("/"))).group(1)
        assert browser.get(url).status_code == 200, url


def test_a_page_the_role_lacks_is_a_403_page(browser, make_user):
    make_user("cashier", username="cami")
    browser.sign_in("cami")
    for path in ("/admin/settings", "/admin/users", "/admin/audit", "/reports"):
        resp = browser.get(path)
        assert resp.status_code == 403, path
        assert resp.mimetype == "text/html" and 'data-status="403"' in html(resp)
    refused = browser.post("/admin/settings/core", {"shop_name": "Mine now"})
    assert refused.status_code == 403


# ---------------------------------------------------------------- settings

def _audit(api_token: str, client: Any, action: str) -> list[dict]:
    resp = client.get(f"/api/v1/audit?action={action}", headers={
        "Authorization": f"Bearer {api_token}", "Accept": "application/json"})
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def _setting(runtime: Any, key: str) -> Any:
    from core import settings
    with runtime.unit_of_work(write=False) as s:
        return settings.values(s, runtime.registry.settings, "core")[key]


def test_settings_form_stores_and_audits_the_change(browser, make_user, runtime):
    _uid, token = make_user("owner", username="oona")
    browser.sign_in("oona")
    page = browser.get("/admin/settings")
    assert 'name="shop_name"' in html(page) and "Counterdesk Demo Shop" in html(page)
    resp = browser.post("/admin/settings/core", {
        "shop_name": "Spoke & Fret", "currency": "EUR",
        "prices_include_tax": "true", "timezone": "UTC"})
    assert resp.status_code == 302
    assert "Settings saved." in html(browser.get(resp.headers["Location"]))
    assert _setting(runtime, "shop_name") == "Spoke & Fret"
    assert _setting(runtime, "prices_include_tax") is True
    [entry] = _audit(token, browser.client, "settings.changed")
    assert entry["actor_name"] == "oona" and entry["record_id"] == "core"
    assert entry["before"] == {"shop_name": "Counterdesk Demo Shop", "currency": "USD",
                               "prices_include_tax": False}
    assert entry["after"] == {"shop_name": "Spoke & Fret", "currency": "EUR",
                              "prices_include_tax": True}
    # An unticked checkbox sends the hidden "false" and turns the setting off.
    browser.post("/admin/settings/core", {"prices_include_tax": "false"})
    assert _setting(runtime, "prices_include_tax") is False


def test_an_invalid_setting_re_renders_with_a_message_and_stores_nothing(browser, make_user, runtime):
    _uid, token = make_user("owner", username="odile")
    browser.sign_in("odile")
    resp = browser.post("/admin/settings/core", {"shop_name": "Half Saved", "currency": "XXX"})
    assert resp.status_code == 422
    page = html(resp)
    assert "Some settings are not valid." in page
    assert 'id="currency-error"' in page and "Must be one of" in page
    assert 'value="Half Saved"' in page                 # what was typed is kept
    assert _setting(runtime, "shop_name") == "Counterdesk Demo Shop"
    assert _setting(runtime, "currency") == "USD"
    assert _audit(token, browser.client, "settings.changed") == []


def test_a_viewer_sees_settings_but_cannot_save_them(browser, make_user):
    make_user("manager", username="mona")
    browser.sign_in("mona")
    page = html(browser.get("/admin/settings"))
    assert 'name="shop_name"' in page and "disabled" in page
    assert "Save core settings" not in page


# ----------------------------------------------------------------- reports

def test_report_page_has_table_chart_and_csv(browser, make_user):
    make_user("owner", username="oskar")          # its creation is audited: one row today
    browser.sign_in("oskar")
    listing = html(browser.get("/reports"))
    assert 'href="/reports/core.audit_activity"' in listing
    resp = browser.get("/reports/core.audit_activity")
    assert resp.status_code == 200
    page = html(resp)
    assert 'id="report-table"' in page and "Audited changes" in page
    assert "<svg" in page and 'class="bar"' in page
    assert 'name="start"' in page and 'type="date"' in page
    csv_url = re.search(r'<a class="csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert csv_url.startswith("/api/v1/reports/core.audit_activity?") and "format=csv" in csv_url
    csv = browser.get(csv_url)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert html(csv).splitlines()[0] == "Day,Audited changes,Failed sign-ins"
    bad = browser.get("/reports/core.audit_activity?start=2024-02-10&end=2024-02-01")
    assert bad.status_code == 422
    assert "start must not be after end" in html(bad) and 'id="report-table"' not in html(bad)


def test_a_report_needs_its_own_permission(browser, make_user):
    make_user("read_only", username="rory")        # may open reports, not audit ones
    browser.sign_in("rory")
    assert "core.audit_activity" not in html(browser.get("/reports"))
    assert browser.get("/reports/core.audit_activity").status_code == 403
    assert browser.get("/reports/no.such").status_code == 404


def test_svg_chart_draws_lines_and_says_when_empty():
    result = ReportResult([Column("day", "Day"), Column("n", "Sales <net>", "money")],
                          [("2024-01-01", "10.50"), ("2024-01-02", 3)])
    line = svg_chart(Chart("line", "day", ("n",)), result, "Sales")
    assert line.startswith("<svg") and "<polyline" in line and "Sales &lt;net&gt;" in line
    empty = svg_chart(Chart("bar", "day", ("n",)), ReportResult(result.columns, []))
    assert "No data" in empty


# ------------------------------------------------------------------ search

def test_search_for_a_username_opens_that_user(browser, make_user):
    make_user("owner", username="olga")
    uid, _ = make_user("technician", username="wrench")
    make_user("cashier", username="wrenchette")
    browser.sign_in("olga")
    resp = browser.get("/search?q=Wrench")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/users/{uid}"
    user_page = browser.get(resp.headers["Location"])
    assert user_page.status_code == 200 and 'data-user="wrench"' in html(user_page)
    several = html(browser.get("/search?q=wren"))     # no exact hit: a list
    assert "2 results" in several and "wrenchette" in several
    assert "Nothing found" in html(browser.get("/search?q=zzz"))


def test_search_shows_only_what_the_user_may_see(browser, make_user):
    make_user("technician", username="tina")
    make_user("cashier", username="tess")
    browser.sign_in("tess")
    resp = browser.get("/search?q=tina")
    assert resp.status_code == 200 and "Nothing found" in html(resp)


# ------------------------------------------------------------ users, roles

def test_admin_grants_a_role_a_permission_and_its_menu_appears(browser, make_user, runtime):
    make_user("admin", username="ada")
    make_user("cashier", username="cy")
    browser.sign_in("ada")
    matrix = html(browser.get("/admin/roles"))
    assert 'form="role-cashier"' in matrix
    resp = browser.post("/admin/roles/cashier", {"permissions": "core.reports.view"})
    assert resp.status_code == 302
    refused = browser.post("/admin/roles/cashier", {"permissions": "no.such.thing"})
    assert refused.status_code == 422 and "unknown: no.such.thing" in html(refused)
    browser.post("/logout")
    browser.sign_in("cy")
    assert "reports" in menu_keys(html(browser.get("/")))


def test_users_are_created_and_changed_through_the_forms(browser, make_user):
    make_user("owner", username="opal")
    browser.sign_in("opal")
    created = browser.post("/admin/users", {"username": "newbie", "password": "long enough pw",
                                            "display_name": "New Bie", "roles": "cashier"})
    assert created.status_code == 302
    page = html(browser.get(created.headers["Location"]))
    assert "New Bie" in page and "cashier" in page
    dup = browser.post("/admin/users", {"username": "newbie", "password": "long enough pw"})
    assert dup.status_code == 409 and "already exists" in html(dup)
    short = browser.post("/admin/users", {"username": "shorty", "password": "short"})
    assert short.status_code == 422 and 'id="password-error"' in html(short)
    escalate = browser.post("/admin/users", {"username": "boss", "password": "long enough pw",
                                             "roles": "admin"})
    assert escalate.status_code == 403                  # only an admin makes admins
    changed = browser.post(created.headers["Location"], {
        "display_name": "Newbie Two", "active": "true", "roles_shown": "1",
        "roles": ["cashier", "technician"]})
    assert changed.status_code == 302
    page = html(browser.get(created.headers["Location"]))
    assert "Newbie Two" in page and "cashier, technician" in page


def test_audit_jobs_and_plugins_pages(browser, make_user):
    make_user("admin", username="adm")
    browser.sign_in("adm")
    audit = html(browser.get("/admin/audit?action=user.created"))
    assert 'data-action="user.created"' in audit
    verified = html(browser.get("/admin/audit?verify=1"))
    assert "The chain is intact" in verified
    assert browser.get("/admin/audit?actor_id=abc").status_code == 422
    assert 'id="jobs"' in html(browser.get("/admin/jobs?status=failed"))
    assert 'id="plugins"' in html(browser.get("/admin/plugins"))
