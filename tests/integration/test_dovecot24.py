"""Dovecot 2.4 only: push_notify blocks written by hand the way
docs/upgrading.md tells an administrator to write them (the other tests
reach 2.4 through pushtest's translation of their 2.3 settings)."""
import base64
import json
import os
import re
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


def doveconf_n(d):
    return subprocess.run(["doveconf", "-c", d.config, "-n"], capture_output=True,
                          text=True, timeout=60)


def refused(block):
    """doveconf -n on a configuration with this block: (the error, the line
    number the block's second line has in the file)."""
    d = dovecot(block)
    try:
        out = doveconf_n(d)
        assert out.returncode != 0, "doveconf accepted:\n%s" % block
        lines = open(d.config).read().splitlines()
        first = lines.index(block.strip().splitlines()[0]) + 1
        return out.stderr, first
    finally:
        d.__exit__(None, None, None)


@ONLY
def test_typed_settings_refused_by_doveconf_naming_block_and_setting():
    # a number that is none: Dovecot's own parser, at the block's line
    error, first = refused("push_notify webhook {\n  driver = http\n"
                           "  url = http://127.0.0.1:9/x\n  timeout_msecs = abc\n}\n")
    assert re.search(r"line %d: (push_notify_)?timeout_msecs: .*abc" % (first + 3),
                     error), (first, error)
    error, first = refused("push_notify webhook {\n  driver = http\n"
                           "  url = http://127.0.0.1:9/x\n  cache_lifetime = forever\n}\n")
    assert re.search(r"line %d: (push_notify_)?cache_lifetime: .*forever" % (first + 3),
                     error), (first, error)
    # the check function: the block and the setting by name, no secret
    error, _ = refused("push_notify webhook {\n  driver = http\n"
                       "  url = htp://u:s3cr3t@127.0.0.1:9/x\n}\n")
    assert "push_notify webhook: url = htp://" in error, error
    assert "not an http:// or https:// URL" in error and "s3cr3t" not in error, error
    # mistyped URLs keep their secrets too: a query's token, a password
    # without "://" before it, a password with a '/' in it
    for url in ("https//push.example/h?access_token=s3cr3t",
                "htps://u:s3/cr3t@push.example/h"):
        error, _ = refused("push_notify webhook {\n  driver = http\n"
                           "  url = %s\n}\n" % url)
        assert "not an http:// or https:// URL" in error, error
        assert "s3cr3t" not in error and "cr3t" not in error, error
    error, _ = refused("push_notify stream {\n  driver = redis\n"
                       "  url = redis//:s3cr3t@127.0.0.1\n  stream = s\n}\n")
    assert "not a redis://" in error and "s3cr3t" not in error, error
    error, _ = refused("push_notify ox {\n  ox_url = \"no url\"\n}\n")
    assert "push_notify ox: ox_url = no url: " in error, error
    error, _ = refused("push_notify stream {\n  driver = redis\n"
                       "  url = http://127.0.0.1/\n  stream = s\n}\n")
    assert "push_notify stream: url = http://127.0.0.1/: " in error, error
    error, _ = refused("push_notify webhook {\n  driver = http\n"
                       "  url = http://127.0.0.1:9/x\n  events = MessageNew,MesageRead\n}\n")
    assert ("push_notify webhook: events = MessageNew,MesageRead: unknown event "
            "'MesageRead' (known: MessageNew, ") in error, error
    error, _ = refused("push_notify webhook {\n  driver = \"carrier pigeon\"\n}\n")
    assert "push_notify webhook: driver = carrier pigeon: " in error, error
    error, _ = refused("push_notify webhook {\n  driver = http\n"
                       "  url = http://127.0.0.1:9/x\n  tls_no_verify = maybe\n}\n")
    assert "tls_no_verify" in error and "maybe" in error, error


@ONLY
def test_typed_settings_good_configuration_delivers():
    with Receiver() as r:
        r.respond(500)
        with dovecot("""
push_notify_max_delay = 3s
push_notify webhook {
  driver = http
  url = %(url)s/typed
  events = MessageNew,mailboxcreate
  timeout_msecs = 3000
  max_retries = 0
  tls_no_verify = no
  batch = no
}
push_notify ox {
  ox_url = %(url)s/ox
  ox_cache_ttl = 30s
  ox_user_from_metadata = yes
  http_client_request_timeout = 2s
  http_client_request_max_attempts = 1
}
""" % {"url": r.url}) as d:
            out = doveconf_n(d)
            assert out.returncode == 0, out.stderr
            assert "timeout_msecs = 3000" in out.stdout, out.stdout
            d.set_ox_metadata("alice", "user=alice")
            d.lmtp_deliver(["alice"], make_message())
            # MessageNew (doveadm made INBOX, without push_notify), tried
            # once each: the typed max_retries = 0 reached the driver (its
            # default is 1); ox: one attempt (http_client_request_max_attempts
            # = 1, its default 1 retry)
            reqs = r.wait_for(2)
            paths = sorted(q["path"] for q in reqs)
            assert paths == ["/ox", "/typed"], paths
            d.wait_log(r"push_notify: ox \(ox\): Notification .* failed: HTTP 500 "
                       r"\(after 1 attempts\)")
            import time
            time.sleep(1)		# no retry follows
            assert len(r.requests) == 2, [q["path"] for q in r.requests]
