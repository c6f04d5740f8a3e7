'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Minimal DER/ASN.1 encoder and self-signed X.509 v3 certificate builder.
//
// Node has no API to create certificates, and the emulator needs two kinds:
// the x5c certificate of each JWKS key (subject/issuer O=Stytch, 10 years,
// KeyUsage digitalSignature, CA:false, as in a real Stytch JWKS) and the TLS
// certificate for --tls (CN=localhost, subjectAltName DNS:localhost,
// IP:127.0.0.1, IP:::1).  The TBSCertificate is signed with node:crypto
// (sha256WithRSAEncryption).

const crypto = require('node:crypto');

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  while (n > 0) { bytes.unshift(n & 0xff); n = Math.floor(n / 256); }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag, content) {
  content = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return Buffer.concat([Buffer.from([tag]), len(content.length), content]);
}

const seq = (...items) => tlv(0x30, Buffer.concat(items));
const set = (...items) => tlv(0x31, Buffer.concat(items));
const explicit = (n, content) => tlv(0xa0 | n, content);
const octets = (buf) => tlv(0x04, buf);
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const nul = () => Buffer.from([0x05, 0x00]);

function bitString(buf, unusedBits = 0) {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), buf]));
}

// A non-negative INTEGER from a Buffer (big-endian) or a small number.
function integer(v) {
  let buf;
  if (typeof v === 'number') {
    const bytes = [];
    do { bytes.unshift(v & 0xff); v = Math.floor(v / 256); } while (v > 0);
    buf = Buffer.from(bytes);
  } else {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    buf = v.subarray(i);
  }
  if (buf[0] & 0x80) buf = Buffer.concat([Buffer.from([0]), buf]);
  return tlv(0x02, buf);
}

function oid(dotted) {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const b = [];
    let a = arc;
    do { b.unshift(a & 0x7f); a = Math.floor(a / 128); } while (a > 0);
    for (let i = 0; i < b.length - 1; i++) b[i] |= 0x80;
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date) {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  if (year < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

const OID = {
  sha256WithRSA: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function name(attrs) {
  // attrs: [[oid, value], ...]; values as UTF8String.
  return seq(...attrs.map(([o, v]) => set(seq(oid(o), tlv(0x0c, Buffer.from(v, 'utf8'))))));
}

function extension(o, value, critical) {
  return critical ? seq(oid(o), bool(true), octets(value)) : seq(oid(o), octets(value));
}

function ipBytes(ip) {
  if (ip.includes(':')) {
    // Only the forms used here ("::1" and full addresses) need support.
    const [head, tail] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const buf = Buffer.alloc(16);
    groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), i * 2));
    return buf;
  }
  return Buffer.from(ip.split('.').map(Number));
}

/**
 * Make a self-signed certificate.
 * opts: { privateKey, publicKey (KeyObjects), subject: [[oid, value]],
 *         days, ca: bool, keyUsage: 'sign' | 'tls', dnsNames: [], ips: [] }
 * Returns the DER Buffer.
 */
function selfSigned(opts) {
  const spki = opts.publicKey.export({ type: 'spki', format: 'der' });
  // subjectPublicKey BIT STRING content, for the key identifier (RFC 5280 method 1).
  const skid = crypto.createHash('sha1').update(spkiKeyBits(spki)).digest();
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f;
  if (serial[0] === 0) serial[0] = 1;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60000);
  const notAfter = new Date(now.getTime() + (opts.days || 3650) * 86400000);
  const sigAlg = seq(oid(OID.sha256WithRSA), nul());
  const subject = name(opts.subject);

  const exts = [];
  exts.push(extension(OID.basicConstraints, opts.ca ? seq(bool(true)) : seq(), true));
  if (opts.keyUsage === 'tls') {
    // digitalSignature (bit 0), keyEncipherment (bit 2), keyCertSign (bit 5)
    exts.push(extension(OID.keyUsage, bitString(Buffer.from([0xa4]), 2), true));
    exts.push(extension(OID.extKeyUsage, seq(oid(OID.serverAuth))));
  } else {
    exts.push(extension(OID.keyUsage, bitString(Buffer.from([0x80]), 7), true));
  }
  exts.push(extension(OID.subjectKeyIdentifier, octets(skid)));
  exts.push(extension(OID.authorityKeyIdentifier, seq(tlv(0x80, skid))));
  const names = [];
  for (const d of opts.dnsNames || []) names.push(tlv(0x82, Buffer.from(d, 'ascii')));
  for (const ip of opts.ips || []) names.push(tlv(0x87, ipBytes(ip)));
  if (names.length) exts.push(extension(OID.subjectAltName, seq(...names)));

  const tbs = seq(
    explicit(0, integer(2)), // v3
    integer(serial),
    sigAlg,
    subject, // issuer == subject: self-signed
    seq(time(now), time(notAfter)),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = crypto.sign('sha256', tbs, opts.privateKey);
  return seq(tbs, sigAlg, bitString(signature));
}

// Extract the subjectPublicKey bits from a DER SubjectPublicKeyInfo.
function spkiKeyBits(spki) {
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }
  let p = 1;
  p += headerLen(spki, p) - 1;
  // now at AlgorithmIdentifier
  const algLen = tlvLen(spki, p);
  p += algLen;
  const hl = headerLen(spki, p + 1);
  return spki.subarray(p + hl + 1); // skip tag, length, unused-bits byte
}

function headerLen(buf, p) { // length-octets count at p (+1 for the tag before)
  const b = buf[p];
  return b < 0x80 ? 2 : 2 + (b & 0x7f);
}

function tlvLen(buf, p) {
  const b = buf[p + 1];
  if (b < 0x80) return 2 + b;
  const n = b & 0x7f;
  let l = 0;
  for (let i = 0; i < n; i++) l = l * 256 + buf[p + 2 + i];
  return 2 + n + l;
}

function toPem(der, label = 'CERTIFICATE') {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

module.exports = { selfSigned, toPem, OID, _der: { tlv, seq, integer, oid, time } };
