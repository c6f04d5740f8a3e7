#!/usr/bin/python3
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
"""Stytch's frontend SDK (@stytch/vanilla-js) and the module in a real
browser: headless Chromium against the demo (scripts/demo --serve;
scripts/test-browser starts it and runs this after walk.py).

    sdk.py --env DEMO_DIR/demo.env --out DIR

The SDK signs in and writes the cookies; nginx serves protected pages
with them; the SDK's refresh (session.authenticate) and nginx's
Set-Cookie refresh leave exactly one cookie of each name; sign-out through
the SDK (session.revoke) and through stytch_logout leave no session cookie
and a revoked session.  Then the same with cookieOptions.availableToSubdomains
on app.demo.test (mapped to 127.0.0.1 by Chromium's host resolver rules).
Exits 1 at the first step that does not behave, 0 when all do.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from walk import EMAIL, Failed, Walk, jwt_exp, read_env  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402

NAMES = ("stytch_session", "stytch_session_jwt")


def jwt_session(jwt):
    payload = jwt.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["https://stytch.com/session"]["id"]


class SdkWalk(Walk):
    def __init__(self, env, out, flags=(), host=None):
        super().__init__(env, out, flags)
        self.public_token = env["STYTCH_PUBLIC_TOKEN"]
        self.html = env["DEMO_HTML"]
        if host:
            port = urlsplit(self.base).port
            self.base = f"http://{host}:{port}"

    # ------------------------------------------------------------ helpers

    def all_cookies(self):
        """Every cookie the browser holds, from CDP, not only those the
        page's URL would send."""
        return self.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]

    def session_cookies(self):
        return [c for c in self.all_cookies() if c["name"] in NAMES]

    def one_of_each(self, what, domain, secure):
        cookies = self.session_cookies()
        desc = "; ".join(
            f"{c['name']} domain={c['domain']} path={c['path']} secure={c['secure']} "
            f"sameSite={c.get('sameSite')} httpOnly={c['httpOnly']}" for c in cookies)
        self.say(f"cookies {what}: {desc}")
        for name in NAMES:
            of_name = [c for c in cookies if c["name"] == name]
            self.check(len(of_name) == 1,
                       f"{what}: exactly one {name} cookie (found {len(of_name)})")
            c = of_name[0]
            self.check(c["domain"] == domain and c["path"] == "/"
                       and c["secure"] is secure and c.get("sameSite") == "Lax",
                       f"{what}: {name} has domain {domain}, path /, secure {secure}, "
                       f"SameSite Lax (has {c['domain']}, {c['path']}, {c['secure']}, "
                       f"{c.get('sameSite')})")
        return {c["name"]: c["value"] for c in cookies}

    def js(self, script):
        """Runs an async script given `done`; a string starting with
        "error" fails the step."""
        self.driver.set_script_timeout(15)
        out = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];" + script)
        if isinstance(out, str) and out.startswith("error"):
            raise Failed(out)
        return out

    def whoami_status(self, cookie):
        req = urllib.request.Request(self.base.replace(urlsplit(self.base).hostname, "127.0.0.1")
                                     + "/app/api/whoami",
                                     headers={"Cookie": cookie, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status
        except urllib.error.HTTPError as e:
            return e.code

    def signed_out(self, how, session_id, token):
        left = [c["name"] for c in self.all_cookies() if c["name"].startswith("stytch_")]
        self.check(not left, f"{how}: no session cookie is left ({left})")
        state = self.api("GET", f"/emulator/sessions/{session_id}")
        self.check(state["revoked"] is True, f"{how}: the session is revoked at Stytch")
        # the module keeps Stytch's answer for a session token up to 5 s
        start = time.time()
        status = None
        while time.time() - start < 8:
            status = self.whoami_status(f"stytch_session={token}")
            if status == 401:
                break
            time.sleep(0.5)
        self.check(status == 401, f"{how}: a request with the old session token gets 401 "
                   f"(got {status}; after {time.time() - start:.1f} s)")

    def sdk_sign_in(self):
        """The demo's sign-in page: the SDK's email OTP."""
        d = self.driver
        d.get(self.base + "/login?return_to=%2Fapp%2F")
        self.wait_for(lambda: d.find_elements(By.ID, "sign-in"), "the sign-in page")
        self.sign_in_form("send-code")
        self.wait_for(lambda: d.find_elements(By.ID, "mailbox-code"),
                      "the SDK sent a code (otps.email.loginOrCreate)")
        d.find_element(By.ID, "code").send_keys(self.text("mailbox-code"))
        d.find_element(By.ID, "verify").click()
        self.wait_for(lambda: self.at("/app/") and d.find_elements(By.ID, "session-id"),
                      "otps.authenticate: the SDK's cookies open /app/")
        self.check(self.text("email") == EMAIL, f"nginx let the application see {EMAIL}")
        return self.text("session-id")

    # ------------------------------------------------------------ the walk

    def run(self):
        d = self.driver
        host = "127.0.0.1"

        session_id = self.sdk_sign_in()
        first = self.one_of_each("after the SDK's sign-in", host, False)
        self.shot("sdk-signed-in", "signed in by the SDK; nginx serves /app/")

        # the SDK's refresh, as its timer makes it (every 3 minutes)
        old_jwt = first["stytch_session_jwt"]
        time.sleep(1.1)  # a new JWT: iat moves by whole seconds
        self.js("window.stytchClient.session.authenticate()"
                ".then(r => done(r.session_jwt), e => done('error ' + e.message));")
        cookies = self.one_of_each("after the SDK's session.authenticate()", host, False)
        self.check(cookies["stytch_session_jwt"] != old_jwt, "the SDK wrote a new JWT")
        self.check(cookies["stytch_session"] == first["stytch_session"], "the same session token")

        # nginx's refresh: the JWT expires, the next request goes to Stytch
        # and the answer brings a Set-Cookie
        exp = jwt_exp(cookies["stytch_session_jwt"])
        wait = exp + 1 - time.time()
        self.say(f"waiting {max(wait, 0):.1f} s for the JWT to expire")
        time.sleep(max(wait, 0))
        status = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/app/api/whoami', {credentials: 'same-origin'})"
            ".then(r => r.json()).then(j => done(j.identity.auth_source), e => done('error ' + e));")
        self.check(status == "api", f"nginx asked Stytch for the expired JWT (auth source {status})")
        cookies = self.one_of_each("after nginx's Set-Cookie refresh", host, False)
        self.check(jwt_exp(cookies["stytch_session_jwt"]) > exp, "nginx's new JWT expires later")
        self.shot("nginx-refreshed", "after nginx's refresh: one cookie of each name")

        # sign-out through the SDK
        d.get(self.base + "/app/")
        self.wait_for(lambda: d.find_elements(By.ID, "sdk-sign-out-button"), "the application's page")
        token = self.cookies()["stytch_session"]
        d.find_element(By.ID, "sdk-sign-out-button").click()
        self.wait_for(lambda: self.at("/login") and d.find_elements(By.ID, "notice"),
                      "session.revoke(): the sign-in page")
        self.signed_out("the SDK's sign-out", session_id, token)
        self.shot("sdk-signed-out", "signed out by the SDK's session.revoke()")

        # sign-out through the module's stytch_logout
        session_id = self.sdk_sign_in()
        self.one_of_each("after signing in again", host, False)
        token = self.cookies()["stytch_session"]
        d.find_element(By.ID, "sign-out-button").click()
        self.wait_for(lambda: self.at("/login") and d.find_elements(By.ID, "notice"),
                      "stytch_logout: the sign-in page")
        self.signed_out("stytch_logout", session_id, token)
        self.shot("logout-signed-out", "signed out by nginx's stytch_logout")


class SubdomainWalk(SdkWalk):
    """cookieOptions {availableToSubdomains, domain}: the SDK writes the
    cookies for the parent domain (Secure: not localhost)."""

    DOMAIN = "demo.test"

    def run(self):
        d = self.driver
        # a page with the SDK alone: the demo's pages make their client with
        # the default cookie options, and the SDK keeps one per window
        page = os.path.join(self.html, "assets", "sdk-subdomains.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write('<!DOCTYPE html><html><head><meta charset="utf-8"><title>SDK</title></head>'
                    '<body><h1 id="sdk">SDK</h1>'
                    '<script src="/assets/stytch/index.headless.js"></script></body></html>')
        d.get(self.base + "/assets/sdk-subdomains.html")
        self.wait_for(lambda: d.find_elements(By.ID, "sdk"), f"a page with the SDK at {self.base}")
        options = json.dumps({
            "endpoints": {"testAPIURL": self.base + "/stytch"},
            "cookieOptions": {"availableToSubdomains": True, "domain": self.DOMAIN},
        })
        self.js(f"""
            const client = new stytch.StytchClient({json.dumps(self.public_token)}, {options});
            window.subdomainClient = client;
            client.otps.email.loginOrCreate({json.dumps(EMAIL)})
              .then(r => done(r.method_id), e => done('error ' + e.message));""")
        msg = self.api("GET", f"/emulator/outbox?email={EMAIL}&type=otp")["messages"][0]
        self.js(f"""
            window.subdomainClient.otps.authenticate({json.dumps(msg['code'])},
                {json.dumps(msg['method_id'])}, {{session_duration_minutes: 60}})
              .then(r => done(r.session.session_id), e => done('error ' + e.message));""")
        domain = "." + self.DOMAIN
        first = self.one_of_each("availableToSubdomains, after the SDK's sign-in", domain, True)
        # a static page, without the SDK (which would write its own options)
        d.get(self.base + "/")
        self.wait_for(lambda: d.find_elements(By.ID, "user-id"), "nginx serves / with them")
        self.check(self.text("user-id").startswith("user-test-"), "the page names the user")
        session_id = jwt_session(first["stytch_session_jwt"])

        exp = jwt_exp(first["stytch_session_jwt"])
        wait = exp + 1 - time.time()
        self.say(f"waiting {max(wait, 0):.1f} s for the JWT to expire")
        time.sleep(max(wait, 0))
        d.refresh()
        self.wait_for(lambda: d.find_elements(By.ID, "user-id"), "the page after the JWT expired")
        self.check(self.text("user-id").startswith("user-test-"), "still signed in")
        after = self.one_of_each("availableToSubdomains, after nginx's Set-Cookie refresh", domain, True)
        self.check(jwt_exp(after["stytch_session_jwt"]) > exp, "nginx's refresh gave a new JWT")

        token = first["stytch_session"]
        d.find_element(By.ID, "sign-out-button").click()
        self.wait_for(lambda: self.at("/login"), "stytch_logout: the sign-in page")
        self.signed_out("availableToSubdomains, stytch_logout", session_id, token)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="the demo's demo.env")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    args = parser.parse_args()
    env = read_env(args.env)
    env["DEMO_HTML"] = os.path.join(os.path.dirname(os.path.abspath(args.env)), "html")
    port = urlsplit(env["DEMO_URL"]).port

    status = 0
    for cls, flags, host in (
            (SdkWalk, (), None),
            (SubdomainWalk, ("--host-resolver-rules=MAP *.demo.test 127.0.0.1",
                             f"--unsafely-treat-insecure-origin-as-secure=http://app.demo.test:{port}"),
             "app.demo.test")):
        out = os.path.join(args.out, cls.__name__)
        os.makedirs(out, exist_ok=True)
        walk = cls(env, out, flags, host)
        try:
            walk.run()
        except Failed as e:
            walk.say("FAILED - " + str(e))
            walk.shot("failed", "the page when the step failed")
            status = 1
        finally:
            walk.close()
        print(f"{cls.__name__}: " + ("all steps as expected" if status == 0 else "a step failed"))
    return status


if __name__ == "__main__":
    sys.exit(main())
