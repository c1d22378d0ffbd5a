"""The http (webhook) driver: every event from LMTP, LDA and IMAP with every
field, Standard Webhooks signatures checked independently (Python's hmac and
the openssl command), filters, batches, and hostile input."""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
import uuid

from built import LIB_DIR, ours
from pushtest import Dovecot, Receiver, hostile_message, mail_plugins_conf, make_message

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "webhook.schema.json")
SECRET_B64 = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
MSG = dict(from_="=?UTF-8?Q?J=C3=B6rg?= <j@example.org>", to="Alice <alice@example.org>",
           subject="Hi", body="Body text\r\n",
           headers={"Date": "Tue, 24 Nov 2026 10:00:00 +0100", "Message-ID": "<x1@example.org>"})
MESSAGE_FIELDS = {
    "from": "Jörg <j@example.org>", "from_address": "j@example.org",
    "from_display_name": "Jörg", "to": "Alice <alice@example.org>",
    "to_address": "alice@example.org", "to_display_name": "Alice",
    "subject": "Hi", "message_id": "<x1@example.org>", "date": 1795510800,
    "tz": 60, "snippet": "Body text", "keywords": []}


def secret_file(*lines):
    f = tempfile.NamedTemporaryFile("w", delete=False, suffix=".secret")
    f.write("\n".join(lines) + "\n")
    f.close()
    os.chmod(f.name, 0o644)
    return f.name


def hook(receiver, options=""):
    return {"push_notification_driver": ("http:url=%s/hook %s" % (receiver.url, options)).strip()}


def events(receiver):
    """The received documents without the per-notification id, time and
    uidvalidity (checked here, then dropped)."""
    out = []
    for req in receiver.requests:
        doc = dict(req["json"])
        uuid.UUID(doc.pop("id"))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", doc.pop("time"))
        assert doc.pop("schema_version") == 1
        assert doc.pop("user") == "alice"
        if "uidvalidity" in doc:
            assert isinstance(doc.pop("uidvalidity"), int)
        out.append(doc)
    return out


def settle(receiver, n):
    receiver.wait_for(n)
    return events(receiver)


def test_delivery_events_lmtp_and_lda():
    with Receiver() as r, Dovecot(**ours(hook(r, "events=MessageNew"))) as d:
        d.lmtp_deliver(["alice"], make_message(**MSG))
        d.lda_deliver("alice", make_message(**MSG))
        got = settle(r, 2)
        want = dict(MESSAGE_FIELDS, event="MessageNew", mailbox="INBOX", flags=[])
        assert got == [dict(want, uid=1), dict(want, uid=2)], got


def test_imap_actions_every_event_and_field():
    with Receiver() as r, Dovecot(**ours(hook(r))) as d:
        d.lmtp_deliver(["alice"], make_message(**MSG))
        settle(r, 2)	# MailboxCreate INBOX (autocreated), MessageNew
        del r.requests[:]
        i = d.imap("alice")
        i.select("INBOX")
        steps = [
            (lambda: i.append("INBOX", r"(\Flagged $Important)", None, make_message(**MSG)),
             [dict(MESSAGE_FIELDS, event="MessageAppend", mailbox="INBOX", uid=2,
                   flags=["\\Flagged"], keywords=["$Important"])]),
            (lambda: i.store("1", "+FLAGS", r"(\Seen)"),
             [{"event": "MessageRead", "mailbox": "INBOX", "uid": 1},
              {"event": "FlagsSet", "mailbox": "INBOX", "uid": 1, "flags": ["\\Seen"]}]),
            (lambda: i.store("1", "+FLAGS", r"(\Answered \Draft \Flagged $Work Later)"),
             [{"event": "FlagsSet", "mailbox": "INBOX", "uid": 1,
               "flags": ["\\Answered", "\\Flagged", "\\Draft"],
               "keywords_set": ["$Work", "Later"]}]),
            (lambda: i.store("1", "-FLAGS", r"(\Answered $Work)"),
             [{"event": "FlagsClear", "mailbox": "INBOX", "uid": 1,
               "flags": ["\\Answered"],
               "flags_old": ["\\Answered", "\\Flagged", "\\Seen", "\\Draft", "\\Recent"],
               "keywords_clear": ["$Work"], "keywords_old": ["$Work", "Later"]}]),
            (lambda: i.create("Archive"),
             [{"event": "MailboxCreate", "mailbox": "Archive"}]),
            (lambda: i.copy("1", "Archive"),
             [dict(MESSAGE_FIELDS, event="MessageAppend", mailbox="Archive", uid=1,
                   flags=["\\Flagged", "\\Seen", "\\Draft"], keywords=["Later"])]),
            (lambda: i._simple_command("MOVE", "2", "Archive"),
             [dict(MESSAGE_FIELDS, event="MessageAppend", mailbox="Archive", uid=2,
                   flags=["\\Flagged"], keywords=["$Important"]),
              {"event": "MessageExpunge", "mailbox": "INBOX", "uid": 2}]),
            (lambda: (i.store("1", "+FLAGS", r"(\Deleted)"), i.expunge()),
             [{"event": "MessageTrash", "mailbox": "INBOX", "uid": 1},
              {"event": "FlagsSet", "mailbox": "INBOX", "uid": 1, "flags": ["\\Deleted"]},
              {"event": "MessageExpunge", "mailbox": "INBOX", "uid": 1}]),
            (lambda: i.rename("Archive", "Old"),
             [{"event": "MailboxRename", "mailbox": "Old", "mailbox_old": "Archive"}]),
            (lambda: i.subscribe("Old"), [{"event": "MailboxSubscribe", "mailbox": "Old"}]),
            (lambda: i.unsubscribe("Old"), [{"event": "MailboxUnsubscribe", "mailbox": "Old"}]),
            # deleting a mailbox expunges its mails first (as with Dovecot's
            # own plugin)
            (lambda: i.delete("Old"),
             [{"event": "MessageExpunge", "mailbox": "Old", "uid": 1},
              {"event": "MessageExpunge", "mailbox": "Old", "uid": 2},
              {"event": "MailboxDelete", "mailbox": "Old"}]),
        ]
        for n, (action, want) in enumerate(steps):
            before = len(r.requests)
            action()
            r.wait_for(before + len(want))
            got = events(r)[before:]
            assert got == want, (n, got, want)
        i.logout()
        assert len(r.requests) == sum(len(w) for _, w in steps)


def test_implicit_seen_close_and_uid_expunge():
    with Receiver() as r, Dovecot(**ours(hook(r, "events=MessageRead,MessageExpunge,MessageAppend"))) as d:
        i = d.imap("alice")
        for n in range(3):
            i.append("INBOX", None, None, make_message(**MSG))
        i.select("INBOX")
        i.fetch("1", "(BODY[])")			# sets \Seen implicitly
        i.store("2", "+FLAGS", r"(\Deleted)")
        i.close()					# expunges uid 2
        i.select("INBOX")
        i.uid("STORE", "3", "+FLAGS", r"(\Deleted)")
        typ, _ = i.uid("EXPUNGE", "3")		# UIDPLUS
        assert typ == "OK"
        i.logout()
        got = [(e["event"], e["uid"]) for e in settle(r, 6)]
        assert got == [("MessageAppend", 1), ("MessageAppend", 2), ("MessageAppend", 3),
                       ("MessageRead", 1), ("MessageExpunge", 2), ("MessageExpunge", 3)], got


def test_doveadm_save_is_an_append():
    with Receiver() as r, Dovecot(**ours(hook(r, "events=MessageAppend,MessageNew"), extra_conf=(
            mail_plugins_conf("doveadm", "notify push_notify")))) as d:
        # doveadm runs here, not under the master: it needs the library path
        env = dict(os.environ, LD_LIBRARY_PATH=LIB_DIR)
        subprocess.run(["doveadm", "-c", d.config, "save", "-u", "alice", "-m", "INBOX"],
                       input=make_message(**MSG), check=True, timeout=60, env=env)
        got = settle(r, 1)
        assert [(e["event"], e["uid"], e["subject"]) for e in got] == [("MessageAppend", 1, "Hi")]


def verify_python(req, key):
    h = req["headers"]
    signed = b"%s.%s.%s" % (h["webhook-id"].encode(), h["webhook-timestamp"].encode(), req["body"])
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return expected in h["webhook-signature"].split(" ")


def verify_openssl(req, key):
    h = req["headers"]
    signed = b"%s.%s.%s" % (h["webhook-id"].encode(), h["webhook-timestamp"].encode(), req["body"])
    mac = subprocess.run(["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt",
                          "hexkey:" + key.hex(), "-binary"], input=signed,
                         capture_output=True, check=True).stdout
    return "v1," + base64.b64encode(mac).decode() in h["webhook-signature"].split(" ")


def test_signatures_verify_independently_with_rotation():
    old_key, new_key = b"old-plain-secret", b"0123456789abcdef0123456789abcdef"
    path = secret_file("old-plain-secret", "whsec_" + SECRET_B64)
    try:
        with Receiver() as r, Dovecot(**ours(hook(r, "secret_file=" + path))) as d:
            d.lmtp_deliver(["alice"], make_message(**MSG))
            reqs = r.wait_for(2)
            for req in reqs:
                h = req["headers"]
                assert h["content-type"] == "application/json"
                assert h["webhook-id"] == req["json"]["id"]
                # a receiver rejects replays older than its window (5 min)
                assert abs(int(h["webhook-timestamp"]) - time.time()) < 300
                assert len(h["webhook-signature"].split(" ")) == 2
                assert verify_python(req, old_key) and verify_python(req, new_key)
                assert verify_openssl(req, new_key)
                # a changed body does not verify
                assert not verify_python(dict(req, body=req["body"] + b" "), new_key)
            assert SECRET_B64 not in d.log() and "old-plain-secret" not in d.log()
    finally:
        os.unlink(path)


def test_event_and_mailbox_filters():
    with Receiver() as r, Dovecot(**ours(
            hook(r, "events=MessageAppend,mailboxcreate mailboxes=Arch*,Sent"))) as d:
        d.lmtp_deliver(["alice"], make_message(**MSG))
        i = d.imap("alice")
        for box in ("Archive", "Sent", "Drafts"):
            i.create(box)
            i.append(box, None, None, make_message(**MSG))
        i.append("INBOX", None, None, make_message(**MSG))
        i.logout()
        got = settle(r, 4)
        assert [(e["event"], e["mailbox"]) for e in got] == [
            ("MailboxCreate", "Archive"), ("MessageAppend", "Archive"),
            ("MailboxCreate", "Sent"), ("MessageAppend", "Sent")], got


def test_batch_headers_and_bearer():
    token = secret_file("tok-123")
    try:
        with Receiver() as r, Dovecot(**ours(hook(
                r, "batch events=MessageAppend header=X-Tenant:acme bearer_file=" + token))) as d:
            i = d.imap("alice")
            i.select("INBOX")
            lit = make_message(**MSG)
            typ, _ = i._simple_command("APPEND", "INBOX", "{%d+}\r\n%s {%d+}\r\n%s" % (
                len(lit), lit.decode(), len(lit), lit.decode()))
            assert typ == "OK"
            i.logout()
            req = r.wait_for(1)[0]
            assert req["headers"]["x-tenant"] == "acme"
            assert req["headers"]["authorization"] == "Bearer tok-123"
            doc = req["json"]
            assert doc["schema_version"] == 1 and req["headers"]["webhook-id"] == doc["id"]
            assert [(e["event"], e["uid"]) for e in doc["events"]] == [
                ("MessageAppend", 1), ("MessageAppend", 2)]
            assert len(r.requests) == 1
            assert "tok-123" not in d.log()
    finally:
        os.unlink(token)


def test_bad_options_name_the_cause():
    cases = [
        ("events=MessageNew,Bogus", r"events=: unknown event 'Bogus'"),
        ("header=Bad Name:x", r"unknown option 'Name:x'"),
        ("header=NoColon", r"header=NoColon: expected Name:Value"),
        ("bearer_file=/nonexistent/token", r"open\(/nonexistent/token\) failed"),
        ("secret_file=/nonexistent/s", r"open\(/nonexistent/s\) failed"),
        ("colour=blue", r"unknown option 'colour'"),
        ("timeout_msecs=soon", r"invalid number 'soon'"),
    ]
    with Receiver() as r:
        for options, pattern in cases:
            with Dovecot(**ours(hook(r, options))) as d:
                d.lmtp_deliver(["alice"], make_message(**MSG))
                line = d.wait_log(r"lmtp\(alice\).*push_notify: push_notification_driver \(http\): ")
                assert re.search(pattern, line), (options, line)
                i = d.imap("alice")
                assert int(i.select("INBOX")[1][0]) == 1
                i.logout()
        assert r.requests == []


def check_schema(doc, schema, path="$"):
    """The subset of JSON Schema the schema file uses: type, required,
    properties, items, enum, const, minimum, additionalProperties."""
    types = {"object": dict, "array": list, "string": str, "integer": int}
    t = schema.get("type")
    if t:
        assert isinstance(doc, types[t]) and not isinstance(doc, bool), (path, doc)
    if "const" in schema:
        assert doc == schema["const"], path
    if "enum" in schema:
        assert doc in schema["enum"], (path, doc)
    if "minimum" in schema:
        assert doc >= schema["minimum"], path
    for key in schema.get("required", []):
        assert key in doc, (path, key)
    props = schema.get("properties", {})
    for key, value in (doc.items() if isinstance(doc, dict) else []):
        if key in props:
            check_schema(value, props[key], path + "." + key)
        else:
            assert schema.get("additionalProperties", True), (path, key)
    if "items" in schema:
        for n, item in enumerate(doc):
            check_schema(item, schema["items"], "%s[%d]" % (path, n))


def test_hostile_message_gives_schema_valid_json():
    schema = json.load(open(SCHEMA))
    with Receiver() as r, Dovecot(**ours(hook(r, "events=MessageNew"))) as d:
        d.lmtp_deliver(["alice"], hostile_message())
        req = r.wait_for(1)[0]
        doc = json.loads(req["body"].decode("utf-8"))
        check_schema(doc, schema)
        assert doc["from"] == "Evil <evil@example.org>"
        assert "\n" not in doc["subject"] and len(doc["subject"]) > 1000000
    with Receiver() as r, Dovecot(**ours(hook(r))) as d:
        d.lmtp_deliver(["alice"], make_message(**MSG))
        i = d.imap("alice")
        i.select("INBOX")
        i.store("1", "+FLAGS", r"(\Seen $X)")
        i.store("1", "-FLAGS", r"(\Seen $X)")
        i.create("A")
        i.rename("A", "B")
        i.logout()
        # MailboxCreate INBOX, MessageNew, MessageRead, FlagsSet, FlagsClear,
        # MailboxCreate, MailboxRename
        for req in r.wait_for(7):
            check_schema(req["json"], schema)
