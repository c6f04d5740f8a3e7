/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The demo's sign-in, as a Stytch customer's site does it: Stytch's
 * frontend SDK (@stytch/vanilla-js, loaded before this file as the global
 * "stytch") signs in with email one-time passcodes or magic links, and
 * writes the cookies stytch_session and stytch_session_jwt that NGINX's
 * protected locations read.  The page's <main> carries data-public-token
 * and data-return-to.  The SDK calls Stytch (here the emulator) under this
 * site's origin, at /stytch, which NGINX proxies.
 */
'use strict';

(function () {
  const main = document.querySelector('main');
  const returnTo = main.dataset.returnTo || '/';
  const client = new stytch.StytchClient(main.dataset.publicToken, {
    endpoints: { testAPIURL: window.location.origin + '/stytch' },
  });
  window.stytchClient = client;

  // What the sign-in asks of Stytch: an hour's session.
  const SESSION_MINUTES = 60;

  const $ = (id) => document.getElementById(id);

  function show(id, text) {
    const el = $(id);
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  function failed(what, e) {
    show('error', `${what}: ${(e && (e.error_message || e.message)) || e}` +
      (e && e.error_type ? ` (${e.error_type})` : ''));
  }

  // The emulator's outbox, through the application: what Stytch would
  // have emailed.
  async function mailbox(email, type) {
    const q = new URLSearchParams({ email, type });
    const res = await fetch('/login/mailbox?' + q);
    return res.ok ? res.json() : null;
  }

  function signedIn() {
    window.location.assign(returnTo);
  }

  // ------------------------------------------------------------ sign-in page

  async function sendCode(email) {
    const sent = await client.otps.email.loginOrCreate(email, { expiration_minutes: 5 });
    $('sign-in').hidden = true;
    $('code-form').hidden = false;
    $('code-form').dataset.methodId = sent.method_id;
    show('code-to', email);
    const msg = await mailbox(email, 'otp');
    $('mailbox').hidden = false;
    $('mailbox-body').innerHTML = '';
    if (!msg) { $('mailbox-body').textContent = '(empty)'; return; }
    const p = document.createElement('p');
    p.className = 'code';
    p.append('Your code: ');
    const strong = document.createElement('strong');
    strong.id = 'mailbox-code';
    strong.textContent = msg.code;
    p.append(strong);
    $('mailbox-body').append(p);
  }

  async function sendLink(email) {
    const link = `${window.location.origin}/authenticate?return_to=${encodeURIComponent(returnTo)}`;
    await client.magicLinks.email.loginOrCreate(email, {
      login_magic_link_url: link, signup_magic_link_url: link,
    });
    $('sign-in').hidden = true;
    show('link-sent', `A sign-in link was sent to ${email}. Open it in this browser.`);
    const msg = await mailbox(email, 'magic_link');
    $('mailbox').hidden = false;
    $('mailbox-body').innerHTML = '';
    if (!msg) { $('mailbox-body').textContent = '(empty)'; return; }
    const a = document.createElement('a');
    a.id = 'mailbox-link';
    a.href = msg.link;
    a.textContent = 'Sign in to the demo site';
    $('mailbox-body').append(a);
  }

  const form = $('sign-in');
  if (form) {
    let method = 'otp';
    $('send-code').addEventListener('click', () => { method = 'otp'; });
    $('send-link').addEventListener('click', () => { method = 'magic_link'; });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      show('error', '');
      const email = $('email').value.trim();
      (method === 'otp' ? sendCode(email) : sendLink(email))
        .catch((e) => failed('Stytch refused', e));
    });
    $('code-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      show('error', '');
      client.otps.authenticate($('code').value.trim(), $('code-form').dataset.methodId,
        { session_duration_minutes: SESSION_MINUTES })
        .then(signedIn, (e) => failed('That code did not work', e));
    });
  }

  // ------------------------------------------------------------ magic link

  if (main.dataset.magicLinkToken) {
    client.magicLinks.authenticate(main.dataset.magicLinkToken, { session_duration_minutes: SESSION_MINUTES })
      .then(signedIn, (e) => failed('That link did not work', e));
  }

  // ------------------------------------------------------------ sign-out

  const sdkSignOut = $('sdk-sign-out-button');
  if (sdkSignOut) {
    sdkSignOut.addEventListener('click', () => {
      client.session.revoke()
        .then(() => window.location.assign('/login?signed_out=1'), (e) => failed('Sign-out failed', e));
    });
  }
}());
