#!/usr/bin/python3
"""Drive crank serve's page in headless Chromium (t_crank_http.sh).

usage: crank_web.py URL TOKEN RULE_ID NEW_TEXT WORKDIR

Opens URL#token=TOKEN, picks the rule RULE_ID in the list, replaces its
text with NEW_TEXT, saves, runs Check, Plan and Apply, and checks what
the page shows after each.  The browser console must stay free of
errors (a Content-Security-Policy violation would show there).  Prints
one line per step; exits non-zero with the reason on failure.
"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def main():
    url, token, rule_id, new_text, workdir = sys.argv[1:6]
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              "--user-data-dir=" + workdir + "/chromium"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver",
                      log_path=workdir + "/chromedriver.log")
    d = webdriver.Chrome(service=service, options=opts)
    try:
        run(d, url, token, rule_id, new_text)
    finally:
        d.quit()


def wait_text(d, elem_id, text, what):
    try:
        WebDriverWait(d, 20).until(
            EC.text_to_be_present_in_element((By.ID, elem_id), text))
    except Exception:
        got = d.find_element(By.ID, elem_id).text
        status = d.find_element(By.ID, "status").text
        raise SystemExit(f"{what}: no {text!r} in #{elem_id}: {got!r} "
                         f"(status {status!r})")


def run(d, url, token, rule_id, new_text):
    d.get(url + "#token=" + token)
    print("page:", d.title)
    if "token=" in d.current_url:
        raise SystemExit("the token stayed in the address bar")
    # the rules come from the API with the token from the fragment
    wait_text(d, "rules", rule_id, "rule list")
    items = [li for li in d.find_elements(By.CSS_SELECTOR, "#rules li")
             if li.text == rule_id]
    if len(items) != 1:
        raise SystemExit(f"{len(items)} list items named {rule_id!r}")
    items[0].click()
    wait_text(d, "rule-id", rule_id, "selecting the rule")
    area = d.find_element(By.ID, "rule-text")
    if not area.get_attribute("value").startswith(rule_id.split(" ")[0]):
        raise SystemExit("editor: " + area.get_attribute("value"))
    print("editing:", rule_id)
    area.clear()
    area.send_keys(new_text)
    d.find_element(By.ID, "save").click()
    wait_text(d, "status", "saved", "save")
    print("saved")
    d.find_element(By.ID, "check").click()
    wait_text(d, "status", "check: fine", "check")
    print("check:", d.find_element(By.ID, "status").text)
    d.find_element(By.ID, "plan").click()
    wait_text(d, "status", "plan: 0 to add, 1 to modify", "plan")
    out = d.find_element(By.ID, "output").text
    if "modify " not in out or "tlsPoolValidationExpression" not in out:
        raise SystemExit("plan output: " + out)
    print("plan:", d.find_element(By.ID, "status").text)
    d.find_element(By.ID, "apply").click()
    wait_text(d, "status", "apply: 0 added, 1 modified", "apply")
    wait_text(d, "output", ": ok", "apply results")
    print("apply:", d.find_element(By.ID, "status").text)
    # the entries table is refreshed after apply and shows the change
    new_valexp = new_text.split('valexp "')[1].split('"')[0]
    wait_text(d, "entries", "[valexp " + new_valexp + "]", "entries")
    print("entries show valexp", new_valexp)
    bad = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    if bad:
        raise SystemExit("browser console errors: %r" % bad)
    print("console: no errors")


if __name__ == "__main__":
    main()
