"""Take the admin screenshots of docs/admin.md and the dashboard's of docs/reports.md (a
script, not a test).

Seeds the demo world into a temporary SQLite database, brings two orders to a step (one
waiting for the seller's trader to confirm, one for the seller's keeper to dispatch) and
picks a proposal a trader decides on, starts
``runserver`` on it and, with headless Chromium through Selenium, signs in as a trader, a
warehouse keeper and a park operator and saves 1400 px-wide pages here.

Needs: ``pip install -e '.[dev]'`` (Selenium) and Chromium with its driver and a
Chinese font (Debian: ``apt-get install chromium chromium-driver fonts-wqy-zenhei``).
Run from the repository root: ``python docs/screenshots/make.py`` (every screenshot) or
``python docs/screenshots/make.py pools`` (the joint stockpiles' admin pages only) or
``python docs/screenshots/make.py dashboard`` (the dashboard's only: the city's regulator's
parks and their comparison, a park's overview, energy and safety pages and its monthly
report, in zh and en).
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1400, 1000

# Run inside ``manage.py shell`` (one function: the shell runs code with separate globals
# and locals): two orders at a step, the usernames that take them.
PREPARE = r"""
def prepare():
    import json
    from matching.models import Match
    from matching.services.decisions import match_accept
    from orders.services import order_confirm, order_from_match
    from access.rules import people_of
    from access.scope import resolve_scope

    def member(enterprise_id, role):
        m = people_of(enterprise_id=enterprise_id, roles=frozenset({role}))
        return m.first().user if m.exists() else None

    orders = []
    for match in Match.objects.filter(status="proposed").order_by("id"):
        seller = member(match.seller_id, "trader")
        buyer = member(match.buyer_id, "trader") or member(match.buyer_id, "enterprise_admin")
        if seller is None or buyer is None or member(match.seller_id, "warehouse_keeper") is None:
            continue
        try:
            seller_scope, buyer_scope = resolve_scope(seller), resolve_scope(buyer)
            match_accept(actor=seller_scope, match=match)
            match_accept(actor=buyer_scope, match=match)
            orders.append((order_from_match(actor=buyer_scope, match=match), seller))
        except Exception as exc:  # a proposal the demo cannot agree (permits, quantities)
            print("skipped", match.pk, exc)
        if len(orders) == 2:
            break
    (waiting, trader), (to_dispatch, _) = orders
    proposal = next(
        m for m in Match.objects.filter(status="proposed").order_by("id")
        if member(m.seller_id, "trader") is not None
    )
    order_confirm(actor=resolve_scope(member(to_dispatch.seller_id, "trader")), order=to_dispatch)
    print("PREPARED " + json.dumps({
        "trader": trader.username,
        "trader_order": waiting.pk,
        "keeper": member(to_dispatch.seller_id, "warehouse_keeper").username,
        "keeper_order": to_dispatch.pk,
        "proposal": proposal.pk,
        "proposal_trader": member(proposal.seller_id, "trader").username,
    }))

prepare()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stderr}")
    return result.stdout


def browser() -> Any:
    from selenium import webdriver

    os.environ.setdefault("SE_AVOID_STATS", "true")
    service = None
    for driver in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"):
        if Path(driver).is_file():  # the system's driver: no download by Selenium Manager
            service = webdriver.ChromeService(executable_path=driver)
            break
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    return webdriver.Chrome(options=options, service=service)


def shoot(driver: Any, url: str, name: str, *, whole: bool = True, charts: bool = False) -> None:
    """Save ``url`` as ``name``.png, 1400 px wide: the whole page (up to 2400 px high) or,
    for long lists, the first screen; with ``charts``, once its charts are drawn."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    if charts:
        wait_for_charts(driver)
    height = driver.execute_script("return document.body.scrollHeight") if whole else HEIGHT
    driver.set_window_size(WIDTH, max(HEIGHT, min(int(height) + 140, 2400)))
    body = driver.find_element(By.TAG_NAME, "body")
    body.screenshot(str(OUT / f"{name}.png"))
    driver.set_window_size(WIDTH, HEIGHT)
    print("saved", OUT / f"{name}.png")


def sign_in(driver: Any, base: str, username: str, language: str) -> None:
    """Sign in through the admin's form; returns once signed in (the next page loaded)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/admin/login/")
    driver.add_cookie({"name": "django_language", "value": language})
    driver.get(f"{base}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys("parkshare-demo")
    driver.find_element(By.CSS_SELECTOR, "#login-form input[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: "/admin/login/" not in d.current_url)


def wait_for_charts(driver: Any) -> None:
    """Until every chart of the page is drawn (ECharts draws after the page's load)."""
    from selenium.webdriver.support.ui import WebDriverWait

    drawn = (
        "return Array.from(document.querySelectorAll('.chart[data-chart]')).every("
        "function (el) { return window.echarts && echarts.getInstanceByDom(el) "
        "&& el.querySelector('canvas'); });"
    )
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(drawn))


def shoot_dashboard(driver: Any, base: str, accounts: list[dict[str, Any]]) -> None:
    """The dashboard of the city's regulator (several parks) and of one park's regulator."""
    city = next(a for a in accounts if a["role"] == "regulator" and len(a["parks"]) > 1)
    one = next(a for a in accounts if a["role"] == "regulator" and len(a["parks"]) == 1)
    for language, suffix in (("zh-hans", "zh"), ("en", "en")):
        sign_in(driver, base, city["username"], language)
        driver.get(f"{base}/reports/")
        wait_for_charts(driver)
        shoot(driver, f"{base}/reports/", f"reports-index-{suffix}", charts=True)
        shoot(driver, f"{base}/reports/compare/", f"reports-comparison-{suffix}", charts=True)
        sign_in(driver, base, one["username"], language)
        driver.get(f"{base}/reports/")
        found = re.search(r'href="(/reports/parks/\d+/)"', driver.page_source)
        assert found is not None, "no park on the regulator's index"
        shoot(driver, f"{base}{found[1]}", f"reports-park-{suffix}", charts=True)
        shoot(driver, f"{base}{found[1]}energy/", f"reports-energy-{suffix}", charts=True)
        shoot(driver, f"{base}{found[1]}safety/", f"reports-safety-{suffix}", charts=True)
        # This month's report (so far): the demo's stock and orders are all of this month.
        month = time.strftime("%Y-%m")
        shoot(driver, f"{base}{found[1]}monthly/{month}/", f"reports-monthly-{suffix}", charts=True)


def shoot_pools(driver: Any, base: str, accounts: list[dict[str, Any]]) -> None:
    """The joint stockpiles in the admin as park operators see them (docs/stockpiling.md),
    with the unread notifications' badge in the header: Shangyu's pools (one below its
    target, with the engine's proposal for it) and Hangzhou Bay's draws (an emergency draw
    and its replenishment)."""
    operators = {a["username"]: a for a in accounts if a["role"] == "park_operator"}
    shangyu = operators.get("shangyu.operator") or next(iter(operators.values()))
    hzbay = operators.get("hzbay.operator") or shangyu
    pools = f"{base}/admin/pools"
    for language, suffix in (("zh-hans", "zh"), ("en", "en")):
        sign_in(driver, base, shangyu["username"], language)
        shoot(driver, f"{pools}/pool/", f"pools-list-{suffix}")
        shoot(driver, f"{pools}/poolproposal/", f"pools-proposals-{suffix}")
        sign_in(driver, base, hzbay["username"], language)
        shoot(driver, f"{pools}/draw/", f"pools-draws-{suffix}")
        shoot(driver, f"{pools}/obligation/", f"pools-obligations-{suffix}")


def main() -> None:
    only = sys.argv[1:2]
    only_dashboard = only == ["dashboard"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
        }
        manage(env, "migrate", "-v0")
        manage(env, "seed_demo", "-v0", "--accounts-json", f"{tmp}/accounts.json")
        accounts = json.loads(Path(f"{tmp}/accounts.json").read_text(encoding="utf-8"))
        operator = next(a["username"] for a in accounts if a["role"] == "park_operator")
        prepared = manage(env, "shell", "-c", PREPARE)
        line = next(x for x in prepared.splitlines() if x.startswith("PREPARED "))
        demo = json.loads(line.removeprefix("PREPARED "))
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            driver = browser()
            try:
                if only in ([], ["pools"]):
                    shoot_pools(driver, base, accounts)
                if only == ["pools"]:
                    return
                shoot_dashboard(driver, base, accounts)
                if only_dashboard:
                    return
                order = f"{base}/admin/orders/order"
                sign_in(driver, base, demo["trader"], "zh-hans")
                shoot(driver, f"{base}/admin/", "trader-home-zh")
                shoot(driver, f"{order}/{demo['trader_order']}/change/", "trader-order-zh")
                shoot(driver, f"{order}/{demo['trader_order']}/step/confirm/", "trader-confirm-zh")
                shoot(driver, f"{order}/", "orders-list-zh")
                shoot(driver, f"{base}/admin/matching/match/", "matches-list-zh")
                shoot(driver, f"{base}/admin/marketplace/listing/", "listings-list-zh", whole=False)
                sign_in(driver, base, demo["proposal_trader"], "zh-hans")
                match = f"{base}/admin/matching/match/{demo['proposal']}/change/"
                shoot(driver, match, "trader-match-zh")
                sign_in(driver, base, demo["keeper"], "en")
                shoot(driver, f"{base}/admin/", "keeper-home-en")
                shoot(driver, f"{order}/{demo['keeper_order']}/change/", "keeper-order-en")
                sign_in(driver, base, operator, "zh-hans")
                shoot(driver, f"{base}/admin/", "operator-home-zh")
            finally:
                driver.quit()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
