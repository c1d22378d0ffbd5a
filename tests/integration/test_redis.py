"""The redis driver against a real redis-server: every event kind of an IMAP
session in the stream, a consumer group sharing it exactly once, Redis down
then back (nothing lost), a wrong password, a unix socket."""
import json
import os
import re
import subprocess

from built import PUSHADM, ours
from pushtest import Dovecot, make_message
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
