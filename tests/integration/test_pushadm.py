"""pushadm against real Dovecot configuration files and real HTTP(S)
endpoints: every command, every format, exit codes, and no credential in
any output unless -P."""
import json
import os
import re
import subprocess
import tempfile
import time

from built import PUSHADM, ours
from pushtest import Dovecot, Receiver, dovecot23_only, free_port, is_24, make_certificate

PASSWORD = "s3cr3t-pw"


def run(config, *args):
    result = subprocess.run([PUSHADM, "-c", config] + list(args),
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def no_secret(*outputs):
    for out in outputs:
        assert PASSWORD not in out, out


def dovecot(plugin, **kwargs):
    """A Dovecot configuration (not started: pushadm only reads it)."""
    return Dovecot(**ours(plugin, **kwargs))


def test_usage_help_and_exit_codes():
    d = dovecot({"push_notification_driver": "dlog"})
    rc, out, err = run(d.config, "help")
    assert rc == 0 and "driver test" in out and "spool run" in out
    rc, out, err = run(d.config, "help", "driver", "test")
    assert rc == 0 and out.startswith("usage: pushadm driver test") and "--dry-run" in out
    assert run(d.config, "frobnicate")[0] == 64
    assert run(d.config, "-f", "yaml", "driver", "list")[0] == 64
    assert run(d.config, "driver", "test", "-e", "Nonsense")[0] == 64


def package_version():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[dovecot-push-notify\], \[([^]]+)\]", f.read()).group(1)


def bare(*args):
    """pushadm without -c: what an administrator types first."""
    result = subprocess.run([PUSHADM] + list(args), capture_output=True, text=True,
                            timeout=60)
    return result.returncode, result.stdout, result.stderr


def test_help_version_and_command_help():
    rc, out, err = bare("--help")
    assert (rc, err) == (0, ""), (rc, err)
    lines = out.splitlines()
    assert lines[:2] == [
        "usage: pushadm [-c dovecot.conf] [-f table|flow|json|tab|pager] [-D] [-P] <command> [args]",
        "       pushadm --help | --version | help COMMAND"], lines
    assert "  webhook verify -s SECRET_FILE -i WEBHOOK_ID -t WEBHOOK_TIMESTAMP [-g SIGNATURE] < BODY" in lines
    # the older name works but is not listed
    assert not [l for l in lines if l.startswith("  verify ")], lines
    assert bare("-h") == (0, out, "")
    assert bare("help") == (0, out, "")
    assert bare("--version") == (0, "pushadm (dovecot-push-notify) %s\n" % package_version(), "")
    # one command's help, three ways
    expected = ("usage: pushadm spool list [-d DIR] [--failed]\n\n"
                "Lists the waiting (or, with --failed, the failed) notifications.\n")
    for args in (["help", "spool", "list"], ["spool", "list", "--help"],
                 ["spool", "list", "-h"]):
        assert bare(*args) == (0, expected, ""), args
    # a noun alone: all of its commands
    rc, out, err = bare("help", "relay")
    assert rc == 0 and [l for l in out.splitlines() if l.startswith("usage:")] == [
        "usage: pushadm relay run [--config relay.conf]",
        "usage: pushadm relay retry [ID...]",
        "usage: pushadm relay stats [--config relay.conf]"], out
    rc, out, err = bare("help", "verify")
    assert rc == 0 and out.startswith("usage: pushadm verify -s SECRET_FILE") and \
        out.endswith("\n\n'verify' is the older name of 'pushadm webhook verify'.\n"), out
    assert bare("help", "spool", "frob") == (
        64, "", "pushadm: Unknown command 'spool frob' (pushadm help lists the commands)\n")
    rc, out, err = bare("--frobnicate")
    assert rc == 64 and out == "" and err.startswith(
        "pushadm: Unknown option --frobnicate\nusage: pushadm "), err
    rc, out, err = bare("-c")
    assert rc == 64 and err.startswith("pushadm: -c needs a value\n"), err
    # a command's own unknown option is still named (by getopt)
    rc, out, err = bare("driver", "list", "-x")
    assert rc == 64 and "invalid option -- 'x'" in err, err


def test_bash_completion_knows_every_command():
    completion = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "contrib", "bash-completion", "pushadm")
    rc, out, err = bare("help")
    commands = [l[2:17].strip() for l in out.splitlines()[4:] if l.startswith("  ")]
    assert "relay stats" in commands and "webhook verify" in commands, commands
    nouns = {}
    for c in commands:
        noun, _, verb = c.partition(" ")
        nouns.setdefault(noun, []).append(verb)

    def complete(*words):
        script = ('source "$1"; shift; COMP_WORDS=("$@"); '
                  'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _pushadm; '
                  'printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "-c", script, "bash", completion, "pushadm"] + list(words),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", r
        return sorted(w for w in r.stdout.split("\n") if w)

    assert complete("") == sorted(nouns), (complete(""), nouns)
    for noun, verbs in nouns.items():
        if verbs != [""]:
            assert complete(noun, "") == sorted(verbs), (noun, complete(noun, ""))
    assert complete("-f", "j") == ["json"]
    assert complete("-c", "/etc/hostnam") == ["/etc/hostname"]
    assert complete("spool", "list", "--f") == ["--failed"]
    assert complete("driver", "test", "-e", "MailboxR") == ["MailboxRename"]
    assert complete("help", "webhook", "") == ["verify"]
    assert complete("--v") == ["--version"]


def test_absent_spool_and_relay_said_in_our_words():
    d = dovecot({"push_notification_driver": "dlog"})
    os.rmdir(d.spool_dir)
    said = ("pushadm: there is no spool at %s: nothing was spooled "
            "(push_notification_spool_dir names it; the packages create it, "
            "see docs/spool.md)\n" % d.spool_dir)
    for args in (["spool", "list"], ["spool", "list", "--failed"], ["spool", "check"],
                 ["spool", "purge"],
                 ["spool", "show", "0d8a4ab4-66f1-4a2e-9a57-2a3f3e1e8d11"]):
        assert run(d.config, *args) == (66, "", said), args
    # spool check did not create it (the relay's takeover would)
    assert not os.path.exists(d.spool_dir)
    assert run(d.config, "spool", "list", "-d", "/nonexistent/spool") == (
        66, "", said.replace(d.spool_dir, "/nonexistent/spool"))
    # no relay runs, and none ever ran here: nothing waits
    journal = os.path.join(d.relay_dir, "journal.db")
    assert run(d.config, "relay", "retry") == (
        0, "0 entries due now (the relay is not running, and no relay has run "
        "here: there is no journal at %s)\n" % journal, "")
    assert not os.path.exists(journal)
    assert run(d.config, "relay", "stats") == (
        69, "", "pushadm relay stats: the relay is not running (nothing answers on "
        "%s); its figures exist while it runs\n" % os.path.join(d.relay_dir, "relay-stats.sock"))


def test_driver_list_every_format_hides_secrets():
    url = "http://login:%s@127.0.0.1:9/notify" % PASSWORD
    d = dovecot({"push_notification_driver": "ox:url=%s user_from_metadata" % url,
                 "push_notification_driver2": "http:url=https://h.example/x events=MessageNew,MessageRead mailboxes=INBOX tls_no_verify",
                 "push_notification_driver3": "bogus:x=1"})
    rc, out, err = run(d.config, "driver", "list")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["Setting", "Driver", "Endpoint", "Events", "Mailboxes",
                                "TLS", "verify", "Options", "Status"]
    assert len(lines) == 4
    rc, out, err = run(d.config, "-f", "json", "driver", "list")
    rows = json.loads(out)
    assert [r["driver"] for r in rows] == ["ox", "http", "bogus"]
    assert rows[0]["endpoint"] == "http://#hidden_use-P_to_show#@127.0.0.1:9/notify"
    assert rows[0]["events"] == "MessageNew" and rows[0]["mailboxes"] == "INBOX"
    assert rows[1]["events"] == "MessageNew,MessageRead" and rows[1]["tls_verify"] == "OFF"
    assert rows[2]["status"] == "push_notification_driver3: Unknown push notification driver: bogus"
    outputs = {"json": out}
    for fmt in ("table", "flow", "tab", "pager"):
        rc, out, err = run(d.config, "-f", fmt, "driver", "list")
        assert rc == 0 and "#hidden_use-P_to_show#" in out and err == "", (fmt, out, err)
        outputs[fmt] = out
    assert re.search(r"^setting=push_notification_driver driver=ox endpoint=",
                     outputs["flow"], re.M)
    assert outputs["tab"].splitlines()[0].split("\t")[:3] == ["Setting", "Driver", "Endpoint"]
    assert "\f" in outputs["pager"] and "endpoint: http://#hidden" in outputs["pager"]
    no_secret(*outputs.values())
    rc, out, err = run(d.config, "-P", "driver", "list")
    assert PASSWORD in out


def test_config_check_good_and_bad():
    d = dovecot({"push_notification_driver": "dlog"})
    os.makedirs(d.spool_dir, exist_ok=True)
    rc, out, err = run(d.config, "config", "check")
    assert (rc, out) == (0, "ok: no problems found\n"), (rc, out, err)
    bad = dovecot({
        "push_notification_driver": "http:url=http://u:%s@127.0.0.1:1/ secret_file=/nonexistent/s" % PASSWORD,
        "push_notification_driver2": "carrier:x",
        "push_notification_driver4": "dlog",
        "push_notification_spool_dir": "/nonexistent/spool"},
        mail_plugins="notify push_notification push_notify")
    rc, out, err = run(bad.config, "config", "check")
    assert rc == 78, (rc, out, err)
    lines = out.splitlines()
    expected = [
        "problem: Dovecot's own push_notification is in mail_plugins for lmtp too: push_notify then sends nothing; remove one of them",
        "problem: Dovecot's own push_notification is in mail_plugins for lda too: push_notify then sends nothing; remove one of them",
        # the first broken driver ends the list, as in a delivery: the
        # unknown driver2 is never tried
        "problem: push_notification_driver (http): open(/nonexistent/s) failed: No such file or directory (this and later drivers are not started)",
        "problem: push_notification_driver4 is ignored: push_notification_driver3 is not set (the list starts at push_notification_driver and ends at the first gap)",
        "problem: spool directory /nonexistent/spool does not exist: notifications that can't be sent at once are lost (create it, see docs/spool.md)",
    ]
    if is_24():		# blocks are not numbered: there is no gap to report
        expected = [l for l in expected if "first gap" not in l]
    assert lines == expected, lines
    no_secret(out, err)
    nolmtp = dovecot({"push_notification_driver": "dlog"}, mail_plugins="")
    rc, out, err = run(nolmtp.config, "config", "check")
    assert rc == 78 and "push_notify is not in mail_plugins for lmtp" in out


def test_a_hanging_doveconf_is_cut_at_its_bound():
    """A doveconf that writes nothing and does not exit (a hanging auth
    service or doveconf) is killed after pushadm's 10 seconds; before,
    pushadm's read of the pipe waited for it to exit."""
    d = dovecot({"push_notification_driver": "dlog"})
    with tempfile.TemporaryDirectory() as bindir:
        fake = os.path.join(bindir, "doveconf")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\ncase "$*" in *"-P plugin"*) exec sleep 60;; esac\n')
        os.chmod(fake, 0o755)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        start = time.monotonic()
        result = subprocess.run([PUSHADM, "-c", d.config, "driver", "list"], env=env,
                                capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
    assert (result.returncode, result.stderr) == (
        78, "pushadm: doveconf -c %s failed: it did not answer within 10 seconds "
        "and was stopped\n" % d.config), result
    assert 9 < took < 30, took


def test_driver_test_results_and_causes():
    with Receiver() as r:
        url = r.url.replace("http://", "http://u:%s@" % PASSWORD) + "/hook"
        d = dovecot({"push_notification_driver": "http:url=%s" % url})
        rc, out, err = run(d.config, "driver", "test")
        assert rc == 0, (out, err)
        fields = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
        assert fields["status"] == "200" and fields["attempts"] == "1"
        assert fields["result"] == "ok"
        assert fields["url"] == "http://#hidden_use-P_to_show#@127.0.0.1:%d/hook" % r.port
        for k in ("connect", "tls", "first_byte", "total"):
            assert re.fullmatch(r"\d+\.\d{3}s", fields[k]), (k, fields[k])
        doc = r.requests[-1]["json"]
        assert doc["event"] == "MessageNew" and doc["subject"] == "pushadm test notification"
        outputs = [out, err]
        for status, code, cause in ((500, 75, "HTTP 500: the endpoint failed"),
                                    (401, 69, "HTTP 401: the endpoint rejected the credentials")):
            r.respond(status=status)
            rc, out, err = run(d.config, "driver", "test", "push_notification_driver")
            assert rc == code, (status, rc, out, err)
            assert cause in err and len(err.strip().splitlines()) == 1, err
            outputs += [out, err]
        refused = "http:url=http://u:%s@127.0.0.1:%d/" % (PASSWORD, free_port())
        rc, out, err = run(d.config, "driver", "test", refused)
        assert rc == 75 and "connection refused or host unreachable" in err, (rc, err)
        rc, out, err = run(d.config, "driver", "test", "-e", "MailboxRename", "-m", "New",
                           "http:url=http://127.0.0.1:1/x events=MessageNew")
        assert rc == 69 and "no driver sent anything" in err
        no_secret(*(outputs + [out, err]))
        assert not os.listdir(d.spool_dir)	# a test is never spooled


def test_driver_test_writes_out_control_characters_of_the_response():
    # a hostile endpoint's answer: a line break would forge a line of the
    # report, escape sequences would drive the terminal; a credential it
    # echoes is hidden as before
    with Receiver() as r:
        d = dovecot({"push_notification_driver": "http:url=%s/hook" % r.url})
        r.respond(status=200, body=b"ok\x1b[2J\x1b]0;owned\x07\nresult: forged\r\n"
                  b"Authorization: Bearer %s" % PASSWORD.encode())
        rc, out, err = run(d.config, "driver", "test")
        assert rc == 0, (out, err)
        assert "\x1b" not in out and "\x07" not in out, out
        assert "\nresult: forged" not in out, out
        fields = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
        assert fields["response"].startswith(
            "ok\\x1b[2J\\x1b]0;owned\\x07\\x0aresult: forged\\x0d\\x0a"), fields
        assert fields["result"] == "ok", fields
        no_secret(out, err)


def test_driver_test_dry_run_hides_signature_and_secret():
    with tempfile.NamedTemporaryFile("w", suffix=".secret") as secret:
        secret.write(PASSWORD + "\n")
        secret.flush()
        d = dovecot({"push_notification_driver":
                     "http:url=http://u:%s@127.0.0.1:1/x secret_file=%s" % (PASSWORD, secret.name)})
        rc, out, err = run(d.config, "driver", "test", "--dry-run", "-e", "FlagsSet")
        assert rc == 0, err
        lines = out.splitlines()
        assert lines[0] == "# push_notification_driver (http)"
        assert lines[1] == "POST http://#hidden_use-P_to_show#@127.0.0.1:1/x"
        assert "Content-Type: application/json" in lines
        # the signature is a credential too (valid while the timestamp is)
        assert "webhook-signature: #hidden_use-P_to_show#" in lines
        rc, out_p, err = run(d.config, "-P", "driver", "test", "--dry-run", "-e", "FlagsSet")
        assert any(re.fullmatch(r"webhook-signature: v1,[A-Za-z0-9+/=]{44}", l)
                   for l in out_p.splitlines())
        doc = json.loads(lines[-1])
        assert doc["event"] == "FlagsSet" and doc["flags"] == ["\\Seen"]
        no_secret(out, err)


def test_tls_verification_and_peer_certificate():
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certificate(tmp)
        with Receiver(tls=(cert, key)) as r:
            d = dovecot({"push_notification_driver": "http:url=%s/hook" % r.url})
            rc, out, err = run(d.config, "driver", "test")
            assert rc == 75 and "TLS certificate verification failed" in err, (rc, err)
            rc, out, err = run(d.config, "driver", "test",
                               "http:url=%s/hook tls_ca_file=%s" % (r.url, cert))
            assert rc == 0, (out, err)
            fields = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
            assert "CN = pushtest.invalid" in fields["tls_subject"] or \
                "CN=pushtest.invalid" in fields["tls_subject"], fields
            assert re.search(r"\d{4}", fields["tls_expiry"]), fields
            assert float(fields["tls"][:-1]) > 0


def test_event_send_through_configured_drivers():
    with Receiver() as r, dovecot({"push_notification_driver": "http:url=%s/hook" % r.url}) as d:
        rc, out, err = run(d.config, "event", "send", "-u", "alice", "-e", "FlagsClear",
                           "-m", "Work", "flags=Seen,Flagged", "keywords_clear=a,b", "uid=7")
        assert rc == 0, (out, err)
        doc = r.wait_for(1)[0]["json"]
        assert (doc["event"], doc["user"], doc["mailbox"], doc["uid"]) == ("FlagsClear", "alice", "Work", 7)
        assert doc["flags"] == ["\\Flagged", "\\Seen"] and doc["keywords_clear"] == ["a", "b"]
        rc, out, err = run(d.config, "event", "send", "-u", "alice", "-e", "MessageRead", "subject=x")
        assert rc == 64 and "MessageRead has no field 'subject'" in err
        rc, out, err = run(d.config, "event", "send", "-u", "nosuchuser", "-e", "MessageRead")
        assert rc == 67, (rc, out, err)


def test_verify_signature_like_a_receiver():
    with tempfile.NamedTemporaryFile("w", suffix=".secret") as secret:
        secret.write("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
        secret.flush()
        body = b'{"test": 2432232314}'
        opts = ["-s", secret.name, "-i", "msg_p5jXN8AQM9LWM0D4loKWxJek", "-t", "1614265330"]
        good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        # webhook verify, and verify, its older name
        for command in (["webhook", "verify"], ["verify"]):
            args = [PUSHADM] + command + opts
            r = subprocess.run(args + ["-g", "v1,bm9wZQ== " + good], input=body,
                               capture_output=True, timeout=30)
            assert (r.returncode, r.stdout.decode(), r.stderr) == (
                0, "webhook-signature: %s\nvalid\n" % good, b""), (command, r)
            r = subprocess.run(args + ["-g", good], input=body + b" ", capture_output=True,
                               timeout=30)
            assert r.returncode == 65 and r.stdout.decode().endswith("INVALID\n")
            assert b"MfKQ9r8G" not in r.stdout + r.stderr
        r = subprocess.run([PUSHADM, "webhook", "verify", "-s", secret.name], input=b"",
                           capture_output=True, text=False, timeout=30)
        assert (r.returncode, r.stdout, r.stderr.decode()) == (
            64, b"", "usage: pushadm webhook verify -s SECRET_FILE -i WEBHOOK_ID "
            "-t WEBHOOK_TIMESTAMP [-g SIGNATURE] < BODY\n"), r


@dovecot23_only("userdb fields override plugin {} settings; 2.4 has no plugin {}")
def test_driver_list_for_a_user_with_userdb_overrides():
    d = dovecot({"push_notification_driver": "dlog"})
    config = open(d.config).read().replace(
        "args = uid=pushtest gid=pushtest home=",
        "args = uid=pushtest gid=pushtest push_notification_driver2=http:url=http://u:%s@127.0.0.1:9/x home=" % PASSWORD)
    open(d.config, "w").write(config)
    with d:
        rc, out, err = run(d.config, "-f", "json", "driver", "list", "-u", "alice")
        assert rc == 0, err
        rows = json.loads(out)
        assert [(r["setting"], r["driver"]) for r in rows] == [
            ("push_notification_driver", "dlog"), ("push_notification_driver2", "http")]
        assert rows[1]["endpoint"] == "http://#hidden_use-P_to_show#@127.0.0.1:9/x"
        no_secret(out, err)
        rc, out, err = run(d.config, "driver", "list", "-u", "nobody-here")
        assert rc == 67, (rc, err)
