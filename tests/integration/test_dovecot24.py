"""Dovecot 2.4 only: push_notify blocks written by hand the way
docs/upgrading.md tells an administrator to write them (the other tests
reach 2.4 through pushtest's translation of their 2.3 settings)."""
import base64
import json
import os
import subprocess
import tempfile

from built import PUSHADM, ours
from pushtest import Dovecot, Receiver, dovecot24_only, make_message
# their helpers (imported under other names: the runner runs test_* names)
import test_lua as lua_tests
import test_webhook as webhook_tests

ONLY = dovecot24_only("push_notify blocks")


def dovecot(blocks, **kwargs):
    return Dovecot(**ours({}, extra_conf=blocks, **kwargs))


@ONLY
def test_typed_block_and_whole_spec_send_the_same():
    secret = webhook_tests.secret_file("whsec_" + webhook_tests.SECRET_B64)
    try:
        with Receiver() as r, dovecot("""
push_notify webhook {
  driver = http
  url = %(url)s/typed
  events = MessageNew
  secret_file = %(key)s
  header {
    X-Tenant = "Acme Corp"
  }
}
push_notify legacy {
  driver = "http:url=%(url)s/spec events=MessageNew secret_file=%(key)s header=X-Tenant:Acme"
}
""" % {"url": r.url, "key": secret}) as d:
            d.lmtp_deliver(["alice"], make_message(**webhook_tests.MSG))
            docs = webhook_tests.settle(r, 2)
            assert docs[0] == docs[1] and docs[0]["event"] == "MessageNew", docs
            assert len(r.requests) == 2		# events= holds in both forms
            by_path = {q["path"]: q for q in r.requests}
            assert sorted(by_path) == ["/spec", "/typed"]
            assert by_path["/typed"]["headers"]["x-tenant"] == "Acme Corp"
            assert by_path["/spec"]["headers"]["x-tenant"] == "Acme"
            key = base64.b64decode(webhook_tests.SECRET_B64)
            for q in r.requests:
                assert webhook_tests.verify_python(q, key), q
            assert "Error" not in d.log(), d.log()
    finally:
        os.unlink(secret)


@ONLY
def test_block_name_is_the_driver_by_default():
    with dovecot("push_notify dlog {\n}\n") as d:
        d.lmtp_deliver(["alice"], make_message(subject="named"))
        line = d.wait_log(r"dlog: .*MessageNew")
        assert 'user="alice" MessageNew mailbox="INBOX" uid=1 ' in line, line
        assert 'subject="named"' in line


@ONLY
def test_broken_block_is_named_and_mail_delivered():
    with dovecot("push_notify pigeon {\n  driver = carrierpigeon\n}\n"
                 "push_notify dlog {\n}\n") as d:
        d.lmtp_deliver(["alice"], make_message())
        line = d.wait_log(r"Error: .*carrierpigeon")
        assert line.endswith("push_notify: pigeon: Unknown push notification driver: "
                             "carrierpigeon - this and later drivers are disabled; "
                             "mail is delivered without their notifications"), line
        # as on 2.3, the first broken driver ends the list
        assert "dlog: " not in d.log()
        i = d.imap("alice")
        assert int(i.select("INBOX")[1][0]) == 1
        i.logout()


def start_fails(conf):
    d = dovecot(conf)
    try:
        d.start()
    except AssertionError as e:
        return str(e)
    finally:
        d.stop()
    raise AssertionError("Dovecot started with a bad setting")


@ONLY
def test_bad_settings_stop_dovecot_with_their_names():
    error = start_fails("push_notify_max_delay = soon\n")
    assert "push_notify_max_delay" in error and "soon" in error, error
    error = start_fails("push_notify webhook {\n  driver = http\n  colour = red\n}\n")
    assert "colour" in error, error


@ONLY
def test_lua_session_gives_the_same_calls():
    plugin = {"push_notification_driver": "lua:file=" + lua_tests.RECORDER}
    lines, log = lua_tests.run_session(ours(
        plugin, mail_plugins="mail_lua notify push_notify push_notify_lua"))
    lua_tests.check_our_calls(lines, log)


@ONLY
def test_pushadm_reads_the_blocks():
    d = dovecot("""
push_notify_max_delay = 2s
push_notify webhook {
  driver = http
  url = http://u:s3cr3t@127.0.0.1:9/x
  events = MessageNew,MessageRead
  tls_no_verify = yes
  header {
    X-Tenant = "Acme Corp"
  }
}
push_notify dlog {
}
""")
    out = subprocess.run([PUSHADM, "-c", d.config, "-f", "json", "driver", "list"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["setting"], r["driver"], r["status"]) for r in rows] == [
        ("webhook", "http", "ok"), ("dlog", "dlog", "ok")], rows
    assert rows[0]["endpoint"] == "http://#hidden_use-P_to_show#@127.0.0.1:9/x"
    assert rows[0]["events"] == "MessageNew,MessageRead"
    assert rows[0]["tls_verify"] == "OFF"
    assert "header=X-Tenant:Acme Corp" in rows[0]["options"], rows[0]
    assert "s3cr3t" not in out.stdout + out.stderr
    out = subprocess.run([PUSHADM, "-c", d.config, "config", "check"],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout) == (0, "ok: no problems found\n"), out
