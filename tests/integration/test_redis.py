"""The redis driver against a real redis-server: every event kind of an IMAP
session in the stream, a consumer group sharing it exactly once, Redis down
then back (nothing lost), a wrong password, a unix socket, TLS."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from built import PUSHADM, ours
from pushtest import Dovecot, make_certificate, make_message
from redistest import RedisServer, stream_entries

PW = "r3d1s-pw"


def driver(url, options="stream=mail-events"):
    return {"push_notification_driver": "redis:url=%s %s" % (url, options)}


def events_of(entries):
    return [(f["event"], json.loads(f["json"])["mailbox"]) for _, f in entries]


def test_every_event_of_an_imap_session_arrives_with_fields():
    with RedisServer() as r, Dovecot(**ours(driver(r.url, "stream=mail-events maxlen=1000"))) as d:
        d.lmtp_deliver(["alice"], make_message(subject="hello"))
        i = d.imap("alice")
        i.select("INBOX")
        i.append("INBOX", None, None, make_message(subject="two"))
        i.store("1", "+FLAGS", r"(\Seen $Work)")
        i.store("1", "-FLAGS", r"($Work)")
        i.create("Archive")
        i.copy("1", "Archive")
        i.store("2", "+FLAGS", r"(\Deleted)")
        i.expunge()
        i.rename("Archive", "Old")
        i.subscribe("Old")
        i.unsubscribe("Old")
        i.delete("Old")
        i.logout()
        entries = stream_entries(r, "mail-events")
        assert events_of(entries) == [
            ("MailboxCreate", "INBOX"), ("MessageNew", "INBOX"), ("MessageAppend", "INBOX"),
            ("MessageRead", "INBOX"), ("FlagsSet", "INBOX"), ("FlagsClear", "INBOX"),
            ("MailboxCreate", "Archive"), ("MessageAppend", "Archive"),
            ("MessageTrash", "INBOX"), ("FlagsSet", "INBOX"), ("MessageExpunge", "INBOX"),
            ("MailboxRename", "Old"), ("MailboxSubscribe", "Old"),
            ("MailboxUnsubscribe", "Old"), ("MessageExpunge", "Old"),
            ("MailboxDelete", "Old")], events_of(entries)
        for _, fields in entries:
            assert set(fields) == {"user", "event", "json"} and fields["user"] == "alice"
            doc = json.loads(fields["json"])
            assert doc["schema_version"] == 1 and doc["event"] == fields["event"]
        new = json.loads(entries[1][1]["json"])
        assert (new["uid"], new["subject"], new["snippet"]) == (1, "hello", "Hello")
        fs = json.loads(entries[4][1]["json"])
        assert fs["flags"] == ["\\Seen"] and fs["keywords_set"] == ["$Work"]
        assert json.loads(entries[11][1]["json"])["mailbox_old"] == "Archive"


def test_consumer_group_of_two_gets_every_event_once():
    with RedisServer() as r, Dovecot(**ours(driver(r.url, "stream=mail-events:%d events=MessageNew"),
                                            users=("alice@example.org", "bob@example.org"))) as d:
        r.command("XGROUP", "CREATE", "mail-events:example.org", "pushers", "0", "MKSTREAM")
        for n in range(6):
            d.lmtp_deliver(["alice@example.org" if n % 2 else "bob@example.org"],
                           make_message(subject="m%d" % n))
        got = {}
        for consumer in ("c1", "c2", "c1", "c2"):
            reply = r.command("XREADGROUP", "GROUP", "pushers", consumer, "COUNT", "2",
                              "STREAMS", "mail-events:example.org", ">")
            for eid, fields in (reply[0][1] if reply else []):
                assert eid not in got
                got[eid] = (consumer, json.loads(fields[fields.index("json") + 1])["subject"])
                r.command("XACK", "mail-events:example.org", "pushers", eid)
        assert sorted(s for _, s in got.values()) == ["m%d" % n for n in range(6)]
        assert {c for c, _ in got.values()} == {"c1", "c2"}
        pending = r.command("XPENDING", "mail-events:example.org", "pushers")
        assert pending[0] == 0


def test_redis_down_then_back_nothing_lost_in_order():
    r = RedisServer()
    with Dovecot(**ours(driver(r.url, "stream=mail-events events=MessageNew"))) as d:
        for n in range(4):			# Redis is not running
            d.lmtp_deliver(["alice"], make_message(subject="m%d" % n))
        spooled = os.listdir(os.path.join(d.spool_dir, "new"))
        assert len(spooled) == 4
        line = d.wait_log(r"\(redis\): Notification .* failed: connecting to 127\.0\.0\.1 failed")
        assert "spooled" in line
        with r:
            result = subprocess.run([PUSHADM, "-c", d.config, "spool", "run", "--once"],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            entries = stream_entries(r, "mail-events")
            subjects = [json.loads(f["json"])["subject"] for _, f in entries]
            assert subjects == ["m0", "m1", "m2", "m3"], subjects
        assert os.listdir(os.path.join(d.spool_dir, "new")) == []


def test_wrong_password_logged_without_it():
    with RedisServer(password=PW) as r:
        bad = r.url.replace(PW, "not-" + PW)
        with Dovecot(**ours(driver(bad))) as d:
            d.lmtp_deliver(["alice"], make_message())
            line = d.wait_log(r"\(redis\): Notification .* failed")
            assert re.search(r"AUTH failed: (WRONGPASS|ERR).*", line), line
            assert PW not in d.log()
            i = d.imap("alice")
            assert int(i.select("INBOX")[1][0]) == 1
            i.logout()
        with Dovecot(**ours(driver(r.url, "stream=s events=MessageNew"))) as d:
            d.lmtp_deliver(["alice"], make_message())
            assert len(stream_entries(r, "s")) == 1


def test_unix_socket_and_database():
    with RedisServer() as r, Dovecot(**ours(driver("unix:%s?db=3" % r.socket_path,
                                                   "stream=s events=MessageNew"))) as d:
        d.lmtp_deliver(["alice"], make_message())
        assert len(stream_entries(r, "s", db=3)) == 1
        assert r.command("DBSIZE") == 0
    with RedisServer() as r, Dovecot(**ours(driver("unix:%s" % r.socket_path,
                                                   "stream=s events=MessageNew"))) as d:
        d.lmtp_deliver(["alice"], make_message())
        assert len(stream_entries(r, "s")) == 1


def spool_run(d):
    result = subprocess.run([PUSHADM, "-c", d.config, "spool", "run", "--once"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_tls_verified_against_the_ca_and_kept_in_the_spool():
    certs = tempfile.mkdtemp(prefix="pushtest-tls-")
    os.chmod(certs, 0o755)
    cert, key = make_certificate(certs)
    try:
        r = RedisServer(tls=(cert, key))
        options = "stream=s events=MessageNew tls_ca_file=%s" % cert
        with Dovecot(**ours(driver(r.tls_url, options))) as d:
            d.lmtp_deliver(["alice"], make_message(subject="queued"))	# Redis is down
            assert len(os.listdir(os.path.join(d.spool_dir, "new"))) == 1
            with r:
                spool_run(d)	# the CA file travels with the spooled entry
                d.lmtp_deliver(["alice"], make_message(subject="direct"))
                subjects = [json.loads(f["json"])["subject"]
                            for _, f in stream_entries(r, "s")]
                assert subjects == ["queued", "direct"], subjects
            assert os.listdir(os.path.join(d.spool_dir, "new")) == []
        # the system's CAs don't know the self-signed certificate
        with RedisServer(tls=(cert, key)) as r, \
                Dovecot(**ours(driver(r.tls_url, "stream=s events=MessageNew"))) as d:
            d.lmtp_deliver(["alice"], make_message(subject="refused"))
            line = d.wait_log(r"\(redis\): Notification .* failed")
            assert "TLS handshake with 127.0.0.1 failed: self-signed certificate" in line, line
            assert len(os.listdir(os.path.join(d.spool_dir, "new"))) == 1
            assert stream_entries(r, "s") == []
            i = d.imap("alice")
            assert int(i.select("INBOX")[1][0]) == 1
            i.logout()
        # the certificate is for 127.0.0.1, not for the name localhost
        with RedisServer(tls=(cert, key)) as r, Dovecot(**ours(driver(
                r.tls_url.replace("127.0.0.1", "localhost"),
                "stream=s tls_ca_file=%s" % cert))) as d:
            d.lmtp_deliver(["alice"], make_message(subject="wrong name"))
            line = d.wait_log(r"\(redis\): Notification .* failed")
            assert "TLS handshake with localhost failed: hostname mismatch" in line, line
            assert stream_entries(r, "s") == []
    finally:
        shutil.rmtree(certs)
