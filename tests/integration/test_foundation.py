"""The push_notify plugin in a real Dovecot: dlog, the ox driver, settings
read like the reference, and every bad input logged once with the mail still
delivered."""
import json
import re
import socket

from built import ours
from pushtest import Dovecot, Receiver, dovecot23_only, make_message

OX_PATH = "/preliminary/http-notify/v1/notify"


def ox_url(receiver, userinfo="login:pass@"):
    return receiver.url.replace("http://", "http://" + userinfo) + OX_PATH


def mailbox_count(d, user, mailbox="INBOX"):
    imap = d.imap(user)
    typ, data = imap.select(mailbox)
    imap.logout()
    assert typ == "OK", data
    return int(data[0])


def test_dlog_every_field_of_message_new():
    msg = make_message(from_="=?UTF-8?B?SsO2cmc=?= <j@example.org>",
                       to="Alice <alice@example.org>",
                       subject="Hello\r\n world",
                       body="Hello body\r\n  second line\r\n",
                       headers={"Date": "Tue, 24 Nov 2026 10:00:00 +0100",
                                "Message-ID": "<m1@example.org>"})
    with Dovecot(**ours({"push_notification_driver": "dlog"})) as d:
        d.lmtp_deliver(["alice"], msg)
        line = d.wait_log(r"dlog: .*MessageNew")
        m = re.search(r'dlog: user="alice" MessageNew mailbox="INBOX" uid=1 '
                      r'uidvalidity=(\d+) (.*) id=([0-9a-f-]{36})$', line)
        assert m, line
        assert m.group(2) == (
            'from="Jörg <j@example.org>" from_address="j@example.org" '
            'from_display_name="Jörg" to="Alice <alice@example.org>" '
            'to_address="alice@example.org" to_display_name="Alice" '
            'subject="Hello world" message_id="<m1@example.org>" '
            'date=1795510800 tz=60 snippet="Hello body second line" '
            'flags=() keywords=()'), m.group(2)
        assert mailbox_count(d, "alice") == 1


def test_dlog_imap_events_one_line_each():
    with Dovecot(**ours({"push_notification_driver": "dlog"})) as d:
        d.lmtp_deliver(["alice"], make_message(subject="one"))
        imap = d.imap("alice")
        imap.select("INBOX")
        imap.store("1", "+FLAGS", r"(\Seen \Flagged $Work)")
        imap.store("1", "-FLAGS", r"(\Flagged $Work)")
        imap.create("Projects")
        imap.rename("Projects", "Archive")
        imap.subscribe("Archive")
        imap.unsubscribe("Archive")
        imap.delete("Archive")
        imap.logout()
        d.wait_log(r"dlog: .*MailboxDelete")
        lines = [re.sub(r" id=[0-9a-f-]{36}$", "", l.split("dlog: ", 1)[1])
                 for l in d.log_lines() if "dlog: " in l and "imap(" in l]
        lines = [re.sub(r"uidvalidity=\d+", "uidvalidity=V", l) for l in lines]
        assert lines == [
            'user="alice" MessageRead mailbox="INBOX" uid=1 uidvalidity=V',
            'user="alice" FlagsSet mailbox="INBOX" uid=1 uidvalidity=V '
            'flags=(\\Flagged \\Seen) keywords_set=("$Work")',
            'user="alice" FlagsClear mailbox="INBOX" uid=1 uidvalidity=V '
            'flags=(\\Flagged) flags_old=(\\Flagged \\Seen \\Recent) '
            'keywords_clear=("$Work") keywords_old=("$Work")',
            'user="alice" MailboxCreate mailbox="Projects" uidvalidity=V',
            'user="alice" MailboxRename mailbox="Archive" mailbox_old="Projects"',
            'user="alice" MailboxSubscribe mailbox="Archive"',
            'user="alice" MailboxUnsubscribe mailbox="Archive"',
            'user="alice" MailboxDelete mailbox="Archive"',
        ], lines


def test_ox_request_exact():
    with Receiver() as r, Dovecot(**ours(
            {"push_notification_driver": "ox:url=" + ox_url(r)})) as d:
        d.set_ox_metadata("alice", "user=alice")
        d.lmtp_deliver(["alice"], make_message(
            from_="Bob <bob@example.org>", subject="Lunch?",
            body="Shall we meet at noon?\r\n"))
        req = r.wait_for(1)[0]
        assert req["method"] == "PUT"
        assert req["path"] == OX_PATH
        assert req["headers"]["content-type"] == "application/json; charset=utf-8"
        assert req["headers"]["authorization"] == "Basic bG9naW46cGFzcw=="
        body = json.loads(req["body"], object_pairs_hook=list)
        uidvalidity = body[3][1]
        assert isinstance(uidvalidity, int) and uidvalidity > 0
        assert body == [("user", "alice"), ("event", "messageNew"),
                        ("folder", "INBOX"), ("imap-uidvalidity", uidvalidity),
                        ("imap-uid", 1), ("from", "Bob <bob@example.org>"),
                        ("subject", "Lunch?"),
                        ("snippet", "Shall we meet at noon?"), ("unseen", 1)], body
        # the password never reaches the log, even with mail_debug
        assert "pass@" not in d.log() and "login:pass" not in d.log()


def test_ox_only_opted_in_users_and_inbox_and_delivery():
    with Receiver() as r, Dovecot(**ours(
            {"push_notification_driver": "ox:url=" + ox_url(r) + " user_from_metadata"})) as d:
        d.set_ox_metadata("alice", "user=4@464646669")
        d.lmtp_deliver(["bob"], make_message(subject="bob has not opted in"))
        d.lmtp_deliver(["alice"], make_message(subject="first"))
        imap = d.imap("alice")
        imap.append("INBOX", None, None, make_message(subject="appended"))
        imap.create("Other")
        imap.append("Other", None, None, make_message(subject="elsewhere"))
        imap.logout()
        d.lmtp_deliver(["alice"], make_message(subject="second"))
        reqs = r.wait_for(2)
        bodies = [json.loads(q["body"]) for q in reqs]
        assert [(b["user"], b["subject"], b["imap-uid"], b["unseen"]) for b in bodies] == [
            ("4@464646669", "first", 1, 1), ("4@464646669", "second", 3, 3)], bodies
        assert len(r.requests) == 2


def test_ox_several_endpoints_and_lda():
    with Receiver() as r1, Receiver() as r2, Dovecot(**ours({
            "push_notification_driver": "ox:url=" + ox_url(r1),
            "push_notification_driver2": "dlog",
            "push_notification_driver3": "ox:url=" + ox_url(r2, ""),
    })) as d:
        d.set_ox_metadata("alice", "user=alice")
        d.lda_deliver("alice", make_message(subject="via lda"))
        b1 = json.loads(r1.wait_for(1)[0]["body"])
        req2 = r2.wait_for(1)[0]
        assert b1["subject"] == "via lda" and b1["imap-uid"] == 1
        assert json.loads(req2["body"]) == b1
        assert "authorization" not in req2["headers"]
        d.wait_log(r'dlog: user="alice" MessageNew .*subject="via lda"')


@dovecot23_only("2.4 has named blocks, not numbered settings")
def test_drivers_list_ends_at_first_gap():
    with Receiver() as r, Dovecot(**ours({
            "push_notification_driver": "dlog",
            "push_notification_driver3": "ox:url=" + ox_url(r),
    })) as d:
        d.set_ox_metadata("alice", "user=alice")
        d.lmtp_deliver(["alice"], make_message())
        d.wait_log(r"dlog: .*MessageNew")
        assert r.requests == []


def test_reference_plugin_loaded_too_sends_nothing_twice():
    with Receiver() as r, Dovecot(**ours(
            {"push_notification_driver": "ox:url=" + ox_url(r)},
            mail_plugins="notify push_notification push_notify")) as d:
        d.set_ox_metadata("alice", "user=alice")
        d.lmtp_deliver(["alice"], make_message())
        d.lmtp_deliver(["alice"], make_message())
        r.wait_for(2)
        d.wait_log(r"Dovecot's own push_notification plugin is loaded too")
        # the reference plugin sent both; ours nothing
        assert len(r.requests) == 2
        # one line per delivery process, not per user or mail
        pids = [re.search(r"lmtp\(alice\)<(\d+)>", l).group(1)
                for l in d.log_lines() if "is loaded too" in l]
        assert pids and len(pids) == len(set(pids)), pids


def imap_raw(d, commands):
    """Sends raw IMAP (for MULTIAPPEND, which imaplib lacks); returns the
    server's replies up to the tagged reply of the last command."""
    with socket.create_connection(("127.0.0.1", d.imap_port), timeout=30) as s:
        f = s.makefile("rb")
        f.readline()
        replies = []
        for tag, cmd in commands:
            s.sendall(cmd)
            while True:
                line = f.readline()
                assert line, "connection closed"
                replies.append(line)
                if line.startswith(tag + b" "):
                    break
        return replies


def test_rollback_sends_nothing():
    """A MULTIAPPEND whose second message is over quota rolls back the whole
    transaction: the first message's MessageAppend must not be sent."""
    with Dovecot(**ours(
            {"push_notification_driver": "dlog", "quota": "maildir:User quota",
             "quota_rule": "*:storage=2k"},
            mail_plugins="quota notify push_notify")) as d:
        small, big = make_message(subject="fits"), make_message(body="x" * 5000)
        replies = imap_raw(d, [
            (b"a1", b"a1 LOGIN alice secret\r\n"),
            (b"a2", b"a2 APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n" %
             (len(small), small, len(big), big)),
            (b"a3", b"a3 APPEND INBOX {%d+}\r\n%s\r\n" % (len(small), small)),
        ])
        tagged = [r for r in replies if r[:3] in (b"a2 ", b"a3 ")]
        assert tagged[0].startswith(b"a2 NO"), replies
        assert tagged[1].startswith(b"a3 OK"), replies
        d.wait_log(r"dlog: .*MessageAppend")
        appends = [l for l in d.log_lines() if "dlog: " in l and "MessageAppend" in l]
        assert len(appends) == 1 and " uid=1 " in appends[0], appends
        assert mailbox_count(d, "alice") == 1
