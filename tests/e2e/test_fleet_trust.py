#!/usr/bin/python3
"""test_fleet_trust.py -- a host lets fleet brokers in by their client
certificates and acts for the users they name (issue 15, item 2; spec/fleet.md
3.2), on a real rdmsd (fixture back-end: test_rdmsd_auth's lab) over HTTPS.

Certificates are made here with openssl: a fleet CA, broker1 (allowed by its
subject name, its CN), broker2 (allowed by its SHA-256 fingerprint), an intruder signed by
the same CA but not on the allow-list, and a broker1 look-alike from another
CA.  Checked, with curl as the broker:
  broker1's certificate alone (no password) enumerates every session;
  broker2, allowed by fingerprint, too;
  Win32_RDSHServer: the host itself, ServerState 3;
  the intruder and the look-alike: 403, each refusal logged with the reason;
  a broker's Disconnect without rdms:OnBehalfOf: refused, audited;
  with OnBehalfOf User=<admin>: carried out, audited as the admin "via broker
      broker1 for <source>";
  OnBehalfOf User=<plain user> on someone else's session: refused by the
      host's own owner rule; on the user's own session: carried out;
  OnBehalfOf a user unknown here: refused (owns nothing);
  the same MessageID sent again by the broker: answered from the replay
      cache, carried out once;
  OnBehalfOf from a Basic-authenticated client (not a broker): refused and
      audited, nothing done;
  a malformed OnBehalfOf (no User): a precise fault;
  fleet_ca without fleet_brokers: rdmsd does not start and says why.

Output: one PASS/FAIL line per check, and last `N passed, M failed`.
Needs root (accounts, PAM file).
"""
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_rdmsd_auth as ra       # noqa: E402  (rdmsd with a fixture back-end)
from e2e_common import RDMSD, check, finish, log, ready, wait_for  # noqa: E402

RDMS_NS = "urn:rdms:wsman:1"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_certs(d):
    """CA, broker1, broker2, intruder (same CA), rogue (own CA); {name: (cert, key)}."""
    out = {}
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "%s/%s.key" % (d, ca), "-out", "%s/%s.pem" % (d, ca),
                "-days", "30", "-subj", "/O=rdms-test/CN=%s" % ca)
    for name, ca in (("broker1", "ca"), ("broker2", "ca"), ("intruder", "ca"),
                     ("rogue", "otherca")):
        cn = "broker1" if name == "rogue" else name
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "%s/%s.key" % (d, name), "-out", "%s/%s.csr" % (d, name),
                "-subj", "/O=rdms-test/CN=%s" % cn)
        with open("%s/ext" % d, "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        openssl("x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", "%s/%s.pem" % (d, ca),
                "-CAkey", "%s/%s.key" % (d, ca), "-CAcreateserial", "-days", "30",
                "-extfile", "%s/ext" % d, "-out", "%s/%s.pem" % (d, name))
        out[name] = ("%s/%s.pem" % (d, name), "%s/%s.key" % (d, name))
    return out


def fingerprint(pem):
    p = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha256"],
                       capture_output=True, text=True, check=True)
    return "SHA256:" + p.stdout.strip().split("=", 1)[1]


def on_behalf(user, source="10.9.8.7"):
    return ('<r:OnBehalfOf xmlns:r="%s" s:mustUnderstand="true" User="%s" Source="%s" '
            'Protocol="wsman" Broker="broker1"/>' % (RDMS_NS, user, source))


def invoke(session_id, extra_header="", message_id=None):
    """A Disconnect of SESSION_ID with EXTRA_HEADER; MESSAGE_ID fixed when given."""
    body = ra.disconnect(session_id).replace("</s:Header>", extra_header + "</s:Header>", 1)
    if message_id is not None:
        body = re.sub(r"<wsa:MessageID([^>]*)>[^<]*<", r"<wsa:MessageID\1>%s<" % message_id,
                      body, count=1)
    return body


def as_broker(lab, certs, name, body):
    cert, key = certs[name]
    return ra.curl(["-k", "--cert", cert, "--key", key, "https://127.0.0.1:%d/wsman" % lab.https],
                   body)


def return_value(text):
    m = re.search(r"<[^>]*ReturnValue>(\d+)<", text)
    return int(m.group(1)) if m else None


def audit_rows(lab):
    return ra.read_audit(lab, "user, source, method, result, target, detail") or []


def set_fixture(lab, text):
    with open(lab.fixture, "w") as f:
        f.write(text)


def scenario(lab, certs):
    url = "https://127.0.0.1:%d/wsman" % lab.https

    # ---- who gets in
    code, text = as_broker(lab, certs, "broker1", ra.ENUMERATE)
    check("broker1's certificate (allowed by its subject name), no password: Enumerate 200 with every "
          "session", code == 200 and ra.session_users(text) == sorted([ra.ADMIN, ra.USER,
                                                                        ra.USER]),
          "%d %s" % (code, text[:300]))
    check("... logged as the broker", "broker broker1" in lab.log(), lab.log()[-800:])
    code, text = as_broker(lab, certs, "broker1", ra.ENUMERATE.replace(
        ra.WMI_URI + ra.CLASS, ra.WMI_URI + "Win32_RDSHServer"))
    check("Win32_RDSHServer: this host, Name = its VMHostName, ServerState 3 (running)",
          code == 200 and len(re.findall(r"<\w+:Name>", text)) == 1 and
          re.search(r":Name>%s<" % ra.VMHOST, text) and re.search(r":ServerState>3<", text),
          "%d %s" % (code, text[text.find("<s:Body"):][:700]))
    code, text = as_broker(lab, certs, "broker2", ra.ENUMERATE)
    check("broker2 (allowed by fingerprint): Enumerate 200", code == 200, "%d %s" % (code, text[:300]))
    for name, why in (("intruder", "is not in fleet_brokers"),
                      ("rogue", "not accepted by fleet_ca")):
        before = len(lab.log())
        code, text = as_broker(lab, certs, name, ra.ENUMERATE)
        check("%s's certificate: 403" % name, code == 403, "%d %s" % (code, text[:200]))
        check("... logged with the reason (%s)" % why,
              wait_for(3, lambda: why in lab.log()[before:]) is not None, lab.log()[before:])
    code, _ = ra.curl(["-k", url], ra.ENUMERATE)
    check("no certificate and no password: 401 as before", code == 401, code)

    # ---- acting: only on behalf of someone, with the host's own rules
    audit0 = len(audit_rows(lab))
    code, text = as_broker(lab, certs, "broker1", invoke(1))
    check("a broker's Disconnect without OnBehalfOf: refused (AccessDenied)",
          code == 500 and "AccessDenied" in text and "OnBehalfOf" in text, text[:400])
    rows = audit_rows(lab)[audit0:]
    check("... audited as a refusal by broker1",
          len(rows) == 1 and rows[0][0] == "broker1" and rows[0][3] == 0x80041003, repr(rows))

    set_fixture(lab, "1 %s 0 client-a\n2 %s 0 client-u\n3 %s 4 -\n" % (ra.ADMIN, ra.USER,
                                                                        ra.USER))
    audit0 = len(audit_rows(lab))
    mid = "uuid:%s" % secrets.token_hex(16).upper()
    code, text = as_broker(lab, certs, "broker1", invoke(1, on_behalf(ra.ADMIN), mid))
    check("OnBehalfOf the admin %s: Disconnect 1 returns 0" % ra.ADMIN,
          code == 200 and return_value(text) == 0, text[:400])
    rows = audit_rows(lab)[audit0:]
    check("... audited as %s, via broker broker1 for 10.9.8.7" % ra.ADMIN,
          len(rows) == 1 and rows[0][0] == ra.ADMIN and
          rows[0][1] == "via broker broker1 for 10.9.8.7" and rows[0][2] == "Disconnect" and
          rows[0][3] == 0, repr(rows))
    code, again = as_broker(lab, certs, "broker1", invoke(1, on_behalf(ra.ADMIN), mid))
    time.sleep(0.3)
    check("the same MessageID again: the same answer from the replay cache, not run twice",
          code == 200 and return_value(again) == 0 and
          len(audit_rows(lab)) == audit0 + 1, "%d %s" % (code, again[:300]))

    set_fixture(lab, "1 %s 0 client-a\n2 %s 0 client-u\n3 %s 4 -\n" % (ra.ADMIN, ra.USER,
                                                                        ra.USER))
    audit0 = len(audit_rows(lab))
    code, text = as_broker(lab, certs, "broker1", invoke(1, on_behalf(ra.USER)))
    check("OnBehalfOf the plain user %s on %s's session 1: refused by the host's owner "
          "rule" % (ra.USER, ra.ADMIN), code == 500 and "AccessDenied" in text, text[:400])
    code, text = as_broker(lab, certs, "broker1", invoke(2, on_behalf(ra.USER)))
    check("... on its own session 2: returns 0", code == 200 and return_value(text) == 0,
          text[:400])
    code, text = as_broker(lab, certs, "broker1", invoke(2, on_behalf("nosuchuser-fleet")))
    check("OnBehalfOf a user unknown here: refused (owns nothing)",
          code == 500 and ("AccessDenied" in text or "NotFound" in text.replace(" ", "")),
          text[:400])
    rows = audit_rows(lab)[audit0:]
    check("... each audited with the user the broker named",
          [r[0] for r in rows] == [ra.USER, ra.USER, "nosuchuser-fleet"] and
          all(r[1] == "via broker broker1 for 10.9.8.7" for r in rows), repr(rows))

    # ---- only a broker may speak for someone
    set_fixture(lab, "1 %s 0 client-a\n2 %s 0 client-u\n3 %s 4 -\n" % (ra.ADMIN, ra.USER,
                                                                        ra.USER))
    audit0 = len(audit_rows(lab))
    code, text = ra.curl(["-k", "-u", "%s:%s" % (ra.USER, lab.pw[ra.USER]), url],
                         invoke(1, on_behalf(ra.ADMIN)))
    check("OnBehalfOf from a password client (%s, not a broker): refused" % ra.USER,
          code == 500 and "AccessDenied" in text and "broker" in text, text[:400])
    rows = audit_rows(lab)[audit0:]
    check("... audited as %s's refused attempt, nothing done" % ra.USER,
          len(rows) == 1 and rows[0][0] == ra.USER and rows[0][3] == 0x80041003 and
          "client-a" in open(lab.fixture).read(), repr(rows))
    bad = invoke(2).replace("</s:Header>", '<r:OnBehalfOf xmlns:r="%s" s:mustUnderstand="true" '
                            'Source="x"/></s:Header>' % RDMS_NS, 1)
    code, text = as_broker(lab, certs, "broker1", bad)
    check("an OnBehalfOf without User: a precise fault",
          code in (400, 500) and "needs a User" in text, text[:400])


def main():
    if not ready("test_fleet_trust", built=[RDMSD], tools=["openssl", "curl"]):
        return 1
    d = tempfile.mkdtemp(prefix="rdms-fleet-certs-")
    certs = make_certs(d)
    lab = ra.Lab()
    try:
        lab.accounts()
        lab.write_config()
        with open(lab.conf, "a") as f:
            f.write("fleet_ca = %s/ca.pem\n" % d)
        lab_log = lab.start()
        check("fleet_ca without fleet_brokers: rdmsd does not start",
              not lab_log and "fleet_ca and fleet_brokers go together" in lab.log(),
              lab.log()[-600:])
        lab.stop()
        with open(lab.conf, "a") as f:
            f.write("fleet_brokers = broker1, %s\n"
                    % fingerprint(certs["broker2"][0]))
        if check("rdmsd starts with fleet_ca and fleet_brokers", lab.start(), lab.log()[-800:]):
            scenario(lab, certs)
    finally:
        lab.cleanup()
        subprocess.run(["rm", "-rf", d])
    log("")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
