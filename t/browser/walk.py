#!/usr/bin/python3
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
"""The demo in a real browser: headless Chromium, driven by Selenium,
against the demo's nginx, Stytch emulator and application (scripts/demo
--serve; scripts/test-browser starts it and runs this).

    walk.py --env DEMO_DIR/demo.env --out DIR

Each step is checked and leaves a screenshot in DIR; their paths are
printed.  Exits 1 at the first step that does not behave (with a
screenshot of it), 0 when all do.
"""

import argparse
import base64
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Without the background-networking ones, Chromium's own connections to
# Google are refused by a closed network and slow everything down.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1000",
]

EMAIL = "ada@example.com"


class Failed(Exception):
    pass


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                env[key] = value
    return env


def jwt_exp(jwt):
    payload = jwt.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["exp"]


class Walk:
    def __init__(self, env, out, flags=()):
        self.base = env["DEMO_URL"]
        self.emulator = env["STYTCH_EMULATOR_URL"]
        self.project = env["STYTCH_PROJECT_ID"]
        with open(env["STYTCH_SECRET_FILE"], encoding="utf-8") as f:
            self.secret = f.read().strip()
        self.tls = ssl.create_default_context(cafile=env["STYTCH_CA_FILE"])
        self.out = out
        self.shots = []
        self.started = time.monotonic()

        self.profile = tempfile.mkdtemp(prefix="browser-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + list(flags):
            options.add_argument(flag)
        options.add_argument("--user-data-dir=" + self.profile)
        service = Service(executable_path=CHROMEDRIVER,
                          log_path=os.path.join(out, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(20)

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def say(self, text):
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", flush=True)

    def check(self, condition, text):
        if not condition:
            raise Failed(text)
        self.say("ok - " + text)

    def shot(self, name, what):
        path = os.path.join(self.out, f"{len(self.shots) + 1:02d}-{name}.png")
        self.driver.save_screenshot(path)
        self.shots.append((path, what))
        self.say(f"screenshot {path}: {what}")

    def wait_for(self, condition, text, timeout=10):
        try:
            WebDriverWait(self.driver, timeout).until(lambda d: condition())
        except TimeoutException:
            raise Failed(text + f" (waited {timeout} s; at {self.driver.current_url})")
        self.say("ok - " + text)

    def at(self, path):
        return urlsplit(self.driver.current_url).path == path

    def query(self):
        return parse_qs(urlsplit(self.driver.current_url).query)

    def text(self, element_id):
        return self.driver.find_element(By.ID, element_id).text

    def cookies(self):
        return {c["name"]: c["value"] for c in self.driver.get_cookies()}

    def api(self, method, path, body=None, auth=False):
        headers = {"content-type": "application/json"}
        if auth:
            pair = f"{self.project}:{self.secret}".encode()
            headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.emulator + path, data=data,
                                     headers=headers, method=method)
        with urllib.request.urlopen(req, context=self.tls, timeout=10) as res:
            return json.load(res)

    def sign_in_form(self, method):
        email = self.driver.find_element(By.ID, "email")
        email.clear()
        email.send_keys(EMAIL)
        self.driver.find_element(By.ID, method).click()

    # ------------------------------------------------------------ the walk

    def run(self):
        d = self.driver

        # no session: the page asked for sends the browser to sign in
        asked = "/docs/guide.html?chapter=2"
        d.get(self.base + asked)
        self.wait_for(lambda: self.at("/login"),
                      "no session: the browser is sent to the sign-in page")
        self.check(self.query().get("return_to") == [asked],
                   f"return_to is {asked}")
        self.check(self.text("asked-for") == asked,
                   "the sign-in page says where the user is taken after")
        self.shot("sign-in-page", f"no session: the sign-in page, {asked} kept in return_to")

        # an emailed code (Stytch's email OTP)
        self.sign_in_form("send-code")
        self.wait_for(lambda: d.find_elements(By.ID, "mailbox-code"),
                      "the emulator's mailbox shows the code")
        code = self.text("mailbox-code")
        self.check(len(code) == 6 and code.isdigit(), f"a six-digit code ({code})")
        self.shot("mailbox-code", "the code page, the emulator's mailbox showing the code")
        d.find_element(By.ID, "code").send_keys(code)
        d.find_element(By.ID, "verify").click()
        self.wait_for(lambda: self.at("/docs/guide.html")
                      and d.find_elements(By.ID, "guide"),
                      "signed in: back at the page asked for")
        self.check(self.text("request-uri") == asked, f"at {asked}, query and all")
        cookies = self.cookies()
        self.check("stytch_session_jwt" in cookies and "stytch_session" in cookies,
                   "the browser has the session JWT and session token cookies")
        self.check(self.text("user-id").startswith("user-test-"),
                   "the page names the user (the module's variables, by SSI)")
        self.shot("page-asked-for", f"signed in, at {asked}")

        # who is signed in, and when the JWT and the session expire
        d.get(self.base + "/app/")
        self.wait_for(lambda: d.find_elements(By.ID, "auth-source"), "the application's page")
        self.check(self.text("email") == EMAIL, f"signed in as {EMAIL}")
        session_id = self.text("session-id")
        self.check(session_id.startswith("session-test-"), f"session {session_id}")
        self.check(self.text("session-expires") != "", "the session's expiry is shown")
        jwt = self.cookies()["stytch_session_jwt"]
        exp = jwt_exp(jwt)
        self.wait_for(lambda: self.driver.find_element(By.ID, "jwt-exp")
                      .get_attribute("data-exp") == str(exp),
                      "the page shows when the browser's JWT expires")
        self.shot("who-is-signed-in", "the application: who is signed in, when the JWT and the session expire")

        # the JWT expires: nginx refreshes it on the same response
        wait = exp + 1 - time.time()
        self.say(f"waiting {wait:.1f} s for the JWT to expire")
        time.sleep(max(wait, 0))
        d.refresh()
        self.wait_for(lambda: d.find_elements(By.ID, "auth-source"),
                      "after the JWT expired, the page still answers")
        self.check(self.at("/app/"), "still signed in, no sign-in page")
        self.check(self.text("auth-source") == "api",
                   "nginx asked Stytch for this request (auth source api)")
        new_jwt = self.cookies().get("stytch_session_jwt", "")
        self.check(new_jwt and new_jwt != jwt, "a new JWT cookie came with the answer")
        self.check(jwt_exp(new_jwt) > exp, "the new JWT expires later")
        self.check(self.text("session-id") == session_id, "the same session")
        self.shot("jwt-refreshed", "after the JWT expired: still signed in, a new JWT from nginx")

        # sign-out: stytch_logout
        d.find_element(By.ID, "sign-out-button").click()
        self.wait_for(lambda: self.at("/login") and d.find_elements(By.ID, "notice"),
                      "sign-out: the sign-in page")
        self.check(self.text("notice") == "You are signed out.", "it says so")
        left = [n for n in self.cookies() if n.startswith("stytch_")]
        self.check(not left, "no session cookie is left")
        state = self.api("GET", f"/emulator/sessions/{session_id}")
        self.check(state["revoked"] is True, "the session is revoked at Stytch")
        self.shot("signed-out", "signed out: the sign-in page, no cookies, the session revoked at Stytch")
        d.get(self.base + "/app/")
        self.wait_for(lambda: self.at("/login"), "after sign-out, /app/ sends to sign in")

        # an email magic link
        self.sign_in_form("send-link")
        self.wait_for(lambda: d.find_elements(By.ID, "mailbox-link"),
                      "the emulator's mailbox shows the magic link")
        self.shot("mailbox-link", "the magic link page, the emulator's mailbox showing the link")
        d.find_element(By.ID, "mailbox-link").click()
        self.wait_for(lambda: self.at("/app/") and d.find_elements(By.ID, "session-id"),
                      "the magic link signs in and brings the browser back to /app/")
        session_id = self.text("session-id")
        jwt = self.cookies()["stytch_session_jwt"]
        self.shot("magic-link-signed-in", "signed in again with the magic link")

        # the session revoked at Stytch, elsewhere: once the JWT expired
        self.api("POST", "/v1/sessions/revoke", {"session_id": session_id}, auth=True)
        self.say(f"session {session_id} revoked through Stytch's API")
        revoked_at = time.time()
        wait = jwt_exp(jwt) + 1 - time.time()
        self.say(f"waiting {max(wait, 0):.1f} s for its JWT to expire")
        time.sleep(max(wait, 0))

        def sent_to_sign_in():
            d.refresh()
            return self.at("/login")

        # at most the JWT's life and the API-result cache's 5 s
        self.wait_for(sent_to_sign_in, "the revoked session: the browser is sent to sign in",
                      timeout=12)
        self.say(f"sent to sign in {time.time() - revoked_at:.1f} s after the revocation")
        self.check(self.query().get("return_to") == ["/app/"], "return_to is /app/")
        self.check(d.find_elements(By.ID, "sign-in"), "the sign-in form")
        left = [n for n in self.cookies() if n.startswith("stytch_")]
        self.check(not left, "the dead session's cookies are cleared")
        self.shot("revoked-sign-in", "the revoked session: the sign-in page, /app/ kept in return_to")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="the demo's demo.env")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    walk = Walk(read_env(args.env), args.out)
    status = 0
    try:
        walk.run()
    except Failed as e:
        walk.say("FAILED - " + str(e))
        walk.shot("failed", "the page when the step failed")
        status = 1
    finally:
        walk.close()

    print()
    print("screenshots:")
    for path, what in walk.shots:
        print(f"  {path}  {what}")
    print("browser walk: " + ("all steps as expected" if status == 0 else "a step failed"))
    return status


if __name__ == "__main__":
    sys.exit(main())
