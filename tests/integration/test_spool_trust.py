"""The spool as an unprivileged local account attacks it (issue 12, item 5):
new/ is writable by every uid, the dispatcher runs as root. Nothing a file
says chooses a destination, a credential, a TLS option or a file path; a
file whose owner may not submit for its user is quarantined; FIFOs, hard
links, symlinks, bad names and far-future dates cost nobody else anything.

The attacker is `nobody` (no mail role); the delivery uid is pushtest, the
uid the test userdb gives alice and bob (and the owner of the spool
directory, as docs/spool.md allows)."""
import glob
import json
import os
import pwd
import re
import signal
import stat
import subprocess
import tempfile
import time
import uuid

from built import PUSHADM, ours, relay
from pushtest import (TEST_USER, Dovecot, Receiver, free_port, is_24,
                      make_message, wait_until)

ATTACKER = "nobody"
DRIVER = "push_notification_driver"
WRITE = ("import os, sys\n"
         "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
         "os.write(fd, sys.stdin.buffer.read())\n"
         "os.close(fd)\n")


def hook(url, options="events=MessageNew"):
    return {DRIVER: ("http:url=%s %s" % (url, options)).strip()}


def as_user(user, argv, data=b"", check=True):
    """Runs argv as user (setpriv: its uid and primary gid, no groups)."""
    pw = pwd.getpwnam(user)
    r = subprocess.run(["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                        "--clear-groups", "--"] + argv,
                       input=data, capture_output=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError("%s as %s: %s" % (argv, user, r.stderr))
    return r


def write_as(user, path, data):
    as_user(user, ["python3", "-c", WRITE, path], data)


def entry(id_=None, created=None, user="alice", driver=DRIVER, method="POST",
          attempts=0, next_=None, body=b'{"forged":1}', version=2, extra=""):
    """A spool file's text and its canonical name."""
    id_ = id_ or str(uuid.uuid4())
    created = created if created is not None else int(time.time() * 1e6) - 5000000
    next_ = next_ if next_ is not None else created // 1000000
    text = ("PUSHSPOOL %d\nid: %s\ncreated: %d\nattempts: %d\nnext: %d\nuser: %s\n"
            "driver: %s\nmethod: %s\n%sbody: %d\n\n" %
            (version, id_, created, attempts, next_, user, driver, method, extra,
             len(body))).encode() + body
    return "%016d-%s.spool" % (created, id_), text


def area(d, name="new"):
    path = os.path.join(d.spool_dir, name)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def pushadm(d, *args, timeout=60):
    return subprocess.run([PUSHADM, "-c", d.config] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def deliver(d, n, user="alice"):
    for i in range(n):
        d.lmtp_deliver([user], make_message(subject="mail %d" % i))


def init_areas(d):
    """The areas, as the packages (root) make them: nothing was spooled."""
    r = pushadm(d, "spool", "check")
    assert r.returncode == 0 and area(d) == [], r


def test_forged_entries_send_nothing_anywhere_they_name():
    with Receiver() as real, Receiver() as evil:
        with Dovecot(**ours(hook(real.url + "/hook"))) as d:
            new = os.path.join(d.spool_dir, "new")
            deliver(d, 1)			# sent at once
            real.wait_for(1)
            init_areas(d)
            bad_fields = ("url: %s/steal\ntls_no_verify: 1\ntimeout_msecs: 4000000000\n"
                          "header: X-Evil: 1\n" % evil.url)
            # by the attacker: an old-format entry naming its server, and a
            # current one; neither is trusted for alice
            n1, t1 = entry(version=1, extra=bad_fields)
            n2, t2 = entry(body=b'{"forged":2}')
            # an XADD into Redis for alice, by the attacker
            n3, t3 = entry(method="XADD", extra="")
            for n, t in ((n1, t1), (n2, t2), (n3, t3)):
                write_as(ATTACKER, os.path.join(new, n), t)
            # by a mail process of alice's uid: an old-format file's url,
            # headers and TLS options are dropped, the configured request
            # is sent; a current-format file with a url is refused
            n4, t4 = entry(version=1, extra=bad_fields, body=b'{"forged":4}')
            n5, t5 = entry(extra="url: %s/steal\n" % evil.url)
            # a method that isn't the driver's: permanently failed
            n6, t6 = entry(method="XADD", body=b'{"forged":6}')
            for n, t in ((n4, t4), (n5, t5), (n6, t6)):
                write_as(TEST_USER, os.path.join(new, n), t)
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            time.sleep(0.5)
            assert evil.requests == []
            forged = [q for q in real.requests if q["json"] and "forged" in q["json"]]
            assert len(real.requests) == 2 and len(forged) == 1, real.requests
            assert forged[0]["json"] == {"forged": 4} and forged[0]["path"] == "/hook"
            assert "x-evil" not in forged[0]["headers"]
            assert sorted(area(d, "quarantine")) == sorted([n1, n2, n3, n5])
            assert area(d, "failed") == [n6] and area(d, "new") == []
            for n in (n1, n2, n3):
                assert ("%s is refused (not trusted: uid %d may not submit for alice "
                        "(whose mail is delivered as uid %d))" % (
                            n, pwd.getpwnam(ATTACKER).pw_uid,
                            pwd.getpwnam(TEST_USER).pw_uid)) in r.stderr, r.stderr
            assert "%s is refused (invalid field 'url')" % n5 in r.stderr, r.stderr


def test_no_signature_with_a_secret_the_file_names():
    with tempfile.TemporaryDirectory(dir="/tmp") as keys:
        os.chmod(keys, 0o755)
        configured = os.path.join(keys, "configured.secret")
        named = os.path.join(keys, "root-only.secret")
        with open(configured, "w") as f:
            f.write("configured-key\n")
        os.chmod(configured, 0o644)
        with open(named, "w") as f:
            f.write("oracle-key\n")
        os.chmod(named, 0o600)
        with Receiver() as real:
            with Dovecot(**ours(hook(real.url + "/hook",
                                     "events=MessageNew secret_file=" + configured))) as d:
                deliver(d, 1)
                real.wait_for(1)
                init_areas(d)
                new = os.path.join(d.spool_dir, "new")
                for user, body in ((ATTACKER, b'{"forged":1}'), (TEST_USER, b'{"forged":2}')):
                    n, t = entry(version=1, body=body,
                                 extra="url: %s/hook\nsecret_file: %s\n" % (real.url, named))
                    write_as(user, os.path.join(new, n), t)
                r = pushadm(d, "spool", "run", "--once")
                assert r.returncode == 0, r.stderr
                time.sleep(0.5)
                assert len(real.requests) == 2, real.requests
                req = real.requests[1]
                assert req["json"] == {"forged": 2}
                h = req["headers"]
                args = [PUSHADM, "verify", "-i", h["webhook-id"], "-t", h["webhook-timestamp"],
                        "-g", h["webhook-signature"]]
                ok = subprocess.run(args + ["-s", configured], input=req["body"],
                                    capture_output=True, timeout=30)
                bad = subprocess.run(args + ["-s", named], input=req["body"],
                                     capture_output=True, timeout=30)
                assert ok.returncode == 0 and bad.returncode == 65, (ok, bad)
                assert len(area(d, "quarantine")) == 1 and area(d, "new") == []


def test_traversing_ids_create_no_file_outside_the_spool():
    with Receiver() as real:
        with Dovecot(**ours(hook(real.url + "/hook"))) as d:
            deliver(d, 1)
            real.wait_for(1)
            init_areas(d)
            real.respond(status=503)	# so that the dispatcher rewrites entries
            tag = uuid.uuid4().hex[:3]
            # 36 characters, as an id has: a rewrite of "<created>-<id>.spool"
            # under tmp/ and new/ would land in /tmp
            target = "/../../../../../../../tmp/ptrust-" + tag
            assert len(target) == 36
            names = []
            for i, user in enumerate((ATTACKER, TEST_USER)):
                n, t = entry(created=int(time.time() * 1e6) - 5000000 + i)
                t = t.replace(n.split("-", 1)[1][:-6].encode(), target.encode(), 1)
                for a in ("tmp", "new"):
                    as_user(user, ["mkdir", os.path.join(d.spool_dir, a, n.split("-")[0] + "-")])
                write_as(user, os.path.join(d.spool_dir, "new", n), t)
                names.append(n)
            before = set(glob.glob("/tmp/ptrust-*")) | set(glob.glob("/etc/*.spool"))
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            for cmd in (("spool", "show", target), ("spool", "retry", target),
                        ("spool", "purge", target)):
                assert pushadm(d, *cmd).returncode == 66
            after = set(glob.glob("/tmp/ptrust-*")) | set(glob.glob("/etc/*.spool"))
            assert after == before
            # the two entries, and the two directories made beside them
            assert len(area(d, "quarantine")) == 4
            assert set(names) <= set(area(d, "quarantine")), area(d, "quarantine")
            assert area(d, "new") == [] and area(d, "failed") == []
            assert len(real.requests) == 1


def test_fifo_blocks_nothing_and_sigterm_is_answered():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        deliver(d, 2)			# endpoint down: both spooled
        assert len(area(d)) == 2
        new = os.path.join(d.spool_dir, "new")
        fifos = [entry()[0], entry()[0], "fifo"]
        as_user(ATTACKER, ["mkfifo", os.path.join(new, fifos[0])])
        as_user(TEST_USER, ["mkfifo", os.path.join(new, fifos[1])])
        as_user(ATTACKER, ["mkfifo", os.path.join(new, fifos[2])])
        # the takeover's check does not block either
        r = pushadm(d, "spool", "check", timeout=20)
        assert r.returncode == 0 and r.stdout.count("alice") == 2, r
        assert sorted(area(d, "quarantine")) == sorted(fifos)
        for f in fifos:
            assert stat.S_ISFIFO(os.lstat(os.path.join(d.spool_dir, "quarantine", f)).st_mode)
        for f in fifos[:2]:		# again, for the dispatcher
            as_user(ATTACKER, ["mkfifo", os.path.join(new, f + "x")], check=False)
            as_user(ATTACKER, ["mkfifo", os.path.join(new, f)])
        with Receiver(port=port) as real:
            proc = subprocess.Popen([PUSHADM, "-c", d.config, "spool", "run"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                got = real.wait_for(2)
                time.sleep(0.5)
                assert len(real.requests) == 2, [(q["json"], q["time"]) for q in real.requests]
                wait_until(lambda: area(d) == [], 10, "new/ emptied")
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=5)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert proc.returncode == 0
            assert len(real.requests) == 2
        assert len(area(d, "quarantine")) == 7


def test_bad_names_are_quarantined_not_resent():
    with Receiver() as real:
        with Dovecot(**ours(hook(real.url + "/hook"))) as d:
            deliver(d, 1)
            real.wait_for(1)
            init_areas(d)
            new = os.path.join(d.spool_dir, "new")
            n, t = entry()
            other = entry()[0]		# canonical, but another entry's name
            bad = ["x.spool", n + ".bak", "1-" + n.split("-", 1)[1], other,
                   "\x1b[31mred.spool"]
            for b in bad:
                write_as(TEST_USER, os.path.join(new, b), t)
            r = pushadm(d, "spool", "run", "--once", timeout=30)
            assert r.returncode == 0, r.stderr
            r2 = pushadm(d, "spool", "run", "--once", timeout=30)
            assert r2.returncode == 0, r2.stderr
            time.sleep(0.5)
            assert len(real.requests) == 1
            assert sorted(area(d, "quarantine")) == sorted(bad)
            assert area(d, "new") == []
            assert "\x1b" not in r.stderr and "\\x1b[31mred.spool" in r.stderr


def test_far_future_entries_block_no_one():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        new = os.path.join(d.spool_dir, "new")
        old = int(time.time() * 1e6) - 60 * 1000000
        future = 4000000000 * 1000000		# 2096
        # before alice's real mail: the attacker's entry for alice, due in
        # 2096; a mail process's entry never tried but dated due in 2096;
        # one created in 2096
        deliver(d, 1)			# creates the areas (endpoint down)
        n1, t1 = entry(created=old, next_=future // 1000000)
        write_as(ATTACKER, os.path.join(new, n1), t1)
        n2, t2 = entry(created=old + 1, next_=future // 1000000, body=b'{"forged":2}')
        write_as(TEST_USER, os.path.join(new, n2), t2)
        n3, t3 = entry(created=future, next_=0, body=b'{"forged":3}')
        write_as(TEST_USER, os.path.join(new, n3), t3)
        deliver(d, 2)
        assert len(area(d)) == 6
        with Receiver(port=port) as real:
            r = pushadm(d, "spool", "run", "--once", timeout=60)
            assert r.returncode == 0, r.stderr
            time.sleep(0.5)
            assert len(real.requests) == 5, real.requests
            forged = sorted(json.dumps(q["json"]) for q in real.requests
                            if "forged" in q["json"])
            assert forged == ['{"forged": 2}', '{"forged": 3}']
        assert area(d, "quarantine") == [n1] and area(d) == []


def test_hard_links_are_refused_unread():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        deliver(d, 1)			# spooled: the endpoint is down
        new = os.path.join(d.spool_dir, "new")
        own = os.path.join(d.tmp, "attacker")
        os.mkdir(own)
        os.chown(own, pwd.getpwnam(ATTACKER).pw_uid, 0)
        n, t = entry(body=b'{"forged":1,"pad":"' + b"x" * (1 << 20) + b'"}')
        write_as(ATTACKER, os.path.join(own, "big"), t)
        links = [n] + [entry()[0] for _ in range(3)]
        for l in links:
            as_user(ATTACKER, ["ln", os.path.join(own, "big"), os.path.join(new, l)])
        # a mail process's own file, linked twice
        m, u = entry(body=b'{"forged":2}')
        write_as(TEST_USER, os.path.join(new, m), u)
        m2 = entry()[0]
        as_user(TEST_USER, ["ln", os.path.join(new, m), os.path.join(new, m2)])
        with Receiver(port=port) as real:
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            time.sleep(0.5)
            assert len(real.requests) == 1 and "forged" not in real.requests[0]["json"]
        assert sorted(area(d, "quarantine")) == sorted(links + [m, m2])
        assert r.stderr.count("is refused (hard-linked") == 6, r.stderr
        assert area(d) == []


def test_symlinked_area_changes_nothing_outside_the_spool():
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % free_port()))) as d:
        deliver(d, 1)
        target = os.path.join(d.tmp, "target")	# root's, outside the spool
        os.mkdir(target, 0o755)
        with open(os.path.join(target, "keep"), "w") as f:
            f.write("keep\n")
        spool = d.spool_dir
        # the delivery uid owns the spool directory: it swaps areas for links
        for name in ("new", "failed"):
            as_user(TEST_USER, ["mv", os.path.join(spool, name), os.path.join(spool, name + ".real")])
            as_user(TEST_USER, ["ln", "-s", target, os.path.join(spool, name)])
        r = pushadm(d, "spool", "run", "--once")
        check, listed = pushadm(d, "spool", "check"), pushadm(d, "spool", "list")
        deliver(d, 1)			# the delivery can't spool through it either
        d.wait_log(r"LOST")
        st = os.stat(target)
        assert stat.S_IMODE(st.st_mode) == 0o755 and st.st_uid == 0
        assert os.listdir(target) == ["keep"]
        assert open(os.path.join(target, "keep")).read() == "keep\n"
        assert r.returncode == 78 and "symlink, which the spool never follows" in r.stderr, r
        assert check.returncode == 66 and listed.returncode == 66


def test_credentials_in_headers_and_queries_hidden_everywhere():
    port = free_port()
    url = "http://127.0.0.1:%d/hook?access_token=QUERYSECRET&page=2" % port
    options = "events=MessageNew header=X-Api-Key:HEADERSECRET header=X-Auth-Token:TOKENSECRET"
    with Dovecot(**ours(hook(url, options))) as d:
        deliver(d, 1)			# refused: logged and spooled
        line = d.wait_log(r"failed: .*spooled")
        assert "access_token=#hidden_use-P_to_show#&page=2" in line, line
        [name] = area(d)
        id_ = name.split("-", 1)[1][:-len(".spool")]
        outputs = [pushadm(d, "spool", "show", id_).stdout,
                   pushadm(d, "driver", "list").stdout,
                   pushadm(d, "driver", "test", "--dry-run").stdout,
                   pushadm(d, "driver", "test").stderr,
                   pushadm(d, "driver", "test").stdout,
                   d.log(), open(os.path.join(d.spool_dir, "new", name), "rb").read().decode()]
        for out in outputs:
            for secret in ("QUERYSECRET", "HEADERSECRET", "TOKENSECRET"):
                assert secret not in out, out
        assert "X-Api-Key: #hidden_use-P_to_show#" in outputs[0], outputs[0]
        shown = pushadm(d, "-P", "spool", "show", id_).stdout
        assert "HEADERSECRET" in shown and "QUERYSECRET" in shown


def test_root_only_secret_is_used_by_root_only():
    """A secret_file only root reads: deliveries hand their notifications
    over unsigned (here: to the spool), never send them unsigned, and the
    dispatcher signs them with the secret."""
    with tempfile.TemporaryDirectory(dir="/tmp") as keys:
        os.chmod(keys, 0o755)
        secret = os.path.join(keys, "root-only.secret")
        with open(secret, "w") as f:
            f.write("root-only-key\n")
        os.chmod(secret, 0o600)
        with Receiver() as real:
            with Dovecot(**ours(hook(real.url + "/hook",
                                     "events=MessageNew secret_file=" + secret))) as d:
                deliver(d, 3)
                assert len(area(d)) == 3
                time.sleep(0.5)
                assert real.requests == []
                r = pushadm(d, "spool", "run", "--once")
                assert r.returncode == 0, r.stderr
                reqs = real.wait_for(3)
                assert len(reqs) == 3 and area(d) == []
                for req in reqs:
                    h = req["headers"]
                    ok = subprocess.run([PUSHADM, "verify", "-s", secret, "-i", h["webhook-id"],
                                         "-t", h["webhook-timestamp"], "-g",
                                         h["webhook-signature"]], input=req["body"],
                                        capture_output=True, timeout=30)
                    assert ok.returncode == 0, ok
                assert "LOST" not in d.log() and "secret" not in d.log()


def test_a_mail_uid_submits_for_its_own_users_only():
    """Per-user uids: bob's mail is delivered as nobody, alice's as
    pushtest. nobody may hand over bob's notifications, not alice's."""
    nobody, pt = pwd.getpwnam(ATTACKER), pwd.getpwnam(TEST_USER)
    with Receiver() as real:
        d = Dovecot(**ours(hook(real.url + "/hook")))
        userdb = os.path.join(d.tmp, "userdb")
        with open(userdb, "w") as f:
            f.write("alice:x:%d:%d::%s/home/alice::\n" % (pt.pw_uid, pt.pw_gid, d.tmp))
            f.write("bob:x:%d:%d::%s/home/bob::\n" % (nobody.pw_uid, nobody.pw_gid, d.tmp))
        conf = open(d.config).read()
        if is_24():
            conf, n = re.subn(r"userdb static \{\n  fields \{\n.*?\n  \}\n\}",
                              "userdb passwd-file {\n  passwd_file_path = %s\n}" % userdb,
                              conf, flags=re.S)
        else:
            conf, n = re.subn(r"userdb \{\n  driver = static\n  args = [^\n]*\n\}",
                              "userdb {\n  driver = passwd-file\n  args = %s\n}" % userdb,
                              conf)
        assert n == 1, conf
        with open(d.config, "w") as f:
            f.write(conf)
        with d:
            init_areas(d)
            new = os.path.join(d.spool_dir, "new")
            n1, t1 = entry(user="alice", body=b'{"forged":1}')
            n2, t2 = entry(user="bob", body=b'{"forged":2}')
            write_as(ATTACKER, os.path.join(new, n1), t1)
            write_as(ATTACKER, os.path.join(new, n2), t2)
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            time.sleep(0.5)
            assert [q["json"] for q in real.requests] == [{"forged": 2}], (r.stderr, real.requests)
            assert area(d, "quarantine") == [n1] and area(d) == []
            assert ("not trusted: uid %d may not submit for alice (whose mail is "
                    "delivered as uid %d)" % (nobody.pw_uid, pt.pw_uid)) in r.stderr, r.stderr


def test_many_forged_user_names_cost_few_lookups():
    """An account that is no mail uid, writing files for many user names,
    is refused without a userdb lookup after three refusals."""
    with Receiver() as real:
        with Dovecot(**ours(hook(real.url + "/hook"))) as d:
            init_areas(d)
            new = os.path.join(d.spool_dir, "new")
            base = int(time.time() * 1e6) - 10000000
            for i in range(10):
                n, t = entry(created=base + i, user="user%d" % i)
                write_as(ATTACKER, os.path.join(new, n), t)
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            assert r.stderr.count("may not submit for user") == 3, r.stderr
            assert r.stderr.count("was refused 3 times in a row") == 7, r.stderr
            assert len(area(d, "quarantine")) == 10 and area(d) == []
            assert real.requests == []


def test_relay_takeover_refuses_every_spool_attack():
    """The same files as above, all at once, taken over by a starting
    relay (pushadm relay run): only the trusted ones reach the configured
    endpoint, nothing reaches the attacker's, and SIGTERM is answered."""
    port = free_port()
    with Receiver() as evil:
        with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
            deliver(d, 2)		# no relay, endpoint down: spooled
            assert len(area(d)) == 2
            new = os.path.join(d.spool_dir, "new")
            bad_fields = "url: %s/steal\nheader: X-Evil: 1\n" % evil.url
            refused = []
            n, t = entry(version=1, extra=bad_fields)		# untrusted
            write_as(ATTACKER, os.path.join(new, n), t)
            refused.append(n)
            n, t = entry(version=1, extra=bad_fields, body=b'{"forged":1}')
            write_as(TEST_USER, os.path.join(new, n), t)	# trusted: url dropped
            n = entry()[0]
            as_user(ATTACKER, ["mkfifo", os.path.join(new, n)])
            refused.append(n)
            own = os.path.join(d.tmp, "attacker")
            os.mkdir(own)
            os.chown(own, pwd.getpwnam(ATTACKER).pw_uid, 0)
            n, t = entry()
            write_as(ATTACKER, os.path.join(own, "f"), t)
            for l in (n, entry()[0]):
                as_user(ATTACKER, ["ln", os.path.join(own, "f"), os.path.join(new, l)])
                refused.append(l)
            n, t = entry(body=b'{"forged":9}')
            write_as(TEST_USER, os.path.join(new, "x-" + n), t)
            refused.append("x-" + n)
            n, t = entry()
            t = t.replace(n.split("-", 1)[1][:-6].encode(),
                          b"/../../../../../../../tmp/ptrust-rl", 1)
            write_as(TEST_USER, os.path.join(new, n), t)
            refused.append(n)
            n, t = entry(created=int(time.time() * 1e6) - 60000000,
                         next_=4000000000, body=b'{"forged":2}')
            write_as(TEST_USER, os.path.join(new, n), t)	# due at once
            with Receiver(port=port) as real, relay(d) as r:
                real.wait_for(4, timeout=20)
                time.sleep(1)
                code, secs = r.stop()
                assert code == 0 and secs < 5, (code, secs, r.log()[-2000:])
            forged = sorted(json.dumps(q["json"]) for q in real.requests
                            if "forged" in q["json"])
            assert len(real.requests) == 4 and forged == ['{"forged": 1}', '{"forged": 2}']
            assert all("x-evil" not in q["headers"] for q in real.requests)
            assert evil.requests == []
            assert sorted(area(d, "quarantine")) == sorted(refused), r.log()[-3000:]
            assert area(d) == [] and not glob.glob("/tmp/ptrust-rl*")


MOVE_ALL = ("import os, sys\n"
            "for n in sorted(os.listdir(sys.argv[1])):\n"
            "    os.rename(os.path.join(sys.argv[1], n), os.path.join(sys.argv[2], n))\n")
WRITE_MANY = ("import json, os, sys\n"
              "for name, text in json.load(sys.stdin).items():\n"
              "    fd = os.open(os.path.join(sys.argv[1], name),"
              " os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
              "    os.write(fd, text.encode())\n"
              "    os.close(fd)\n")


def drop_files(d, files):
    """files ({name: text}) written by the delivery uid, then moved into
    new/ at once (the relay's takeover sees all of them in one look)."""
    stage = os.path.join(d.tmp, "stage")
    os.mkdir(stage)
    os.chown(stage, pwd.getpwnam(TEST_USER).pw_uid, 0)
    as_user(TEST_USER, ["python3", "-c", WRITE_MANY, stage], json.dumps(
        {n: t.decode() for n, t in files.items()}).encode())
    as_user(TEST_USER, ["python3", "-c", MOVE_ALL, stage,
                        os.path.join(d.spool_dir, "new")])


def check_takeover_holds_no_delivery_back(key, bodies):
    """Spool files of the delivery uid's own user, one per body (JSON
    with key: its index), are dropped into new/ at once. A delivery in the
    middle of their takeover is acknowledged within the relay timeout
    (250 ms), not left to fall back, and every notification arrives."""
    with Receiver() as real:
        with Dovecot(**ours(hook(real.url + "/hook"), mail_debug=True)) as d, \
                relay(d) as r:
            base = int(time.time() * 1e6) - 10000000
            drop_files(d, dict(entry(created=base + i, body=body)
                               for i, body in enumerate(bodies)))
            wait_until(lambda: 0 < len(area(d)) < len(bodies), 10,
                       "the takeover under way")
            start = time.monotonic()
            deliver(d, 1)
            elapsed = time.monotonic() - start
            d.wait_log(r"handed to the relay")
            assert "is not usable" not in d.log(), d.log()[-2000:]
            assert elapsed < 1, elapsed
            real.wait_for(len(bodies) + 1, timeout=120)
            assert sorted(q["json"][key] for q in real.requests
                          if key in q["json"]) == list(range(len(bodies)))
            assert area(d) == [] and area(d, "quarantine") == [], r.log()[-2000:]


def test_a_flood_of_spool_files_holds_no_delivery_back():
    """5000 files at once: the relay takes them a slice at a time (64).
    Before, it took all of them in one go (a sync each) and answered no
    one meanwhile."""
    check_takeover_holds_no_delivery_back(
        "flood", [b'{"flood":%d}' % i for i in range(5000)])


def test_large_spool_files_hold_no_delivery_back():
    """12 files of 4 MB each (a long outage of large notifications): the
    relay takes them 50 ms of work a turn. The count slice alone (64
    files) would take all 12 in one turn and answer no one meanwhile."""
    pad = b"x" * (4 * 1024 * 1024)
    check_takeover_holds_no_delivery_back(
        "big", [b'{"big":%d,"pad":"%s"}' % (i, pad) for i in range(12)])


def test_a_full_user_queue_holds_no_other_users_files_back():
    """alice's queue at the relay is full (max_queued_per_user = 1, her
    endpoint down) and 200 of her spool files wait in new/, all older than
    one of bob's. The takeover goes round them a slice at a time and takes
    bob's; alice's stay. Before, every turn looked at the same oldest 64
    and never reached bob's."""
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % free_port()))) as d, \
            relay(d, ["max_queued_per_user = 1"]) as r:
        deliver(d, 1)		# alice's one notification fills her queue
        wait_until(lambda: len(r.journal_rows()) == 1, 10, "alice's notification")
        base = int(time.time() * 1e6) - 10000000
        files = dict(entry(created=base + i) for i in range(200))
        files.update([entry(created=base + 500, user="bob", body=b'{"bob":1}')])
        drop_files(d, files)
        wait_until(lambda: "bob" in [row[1] for row in r.journal_rows()], 30,
                   "bob's notification taken")
        assert sorted(row[1] for row in r.journal_rows()) == ["alice", "bob"]
        assert len(area(d)) == 200 and area(d, "quarantine") == []


def test_a_journaled_entry_spooled_again_is_queued_once():
    """A notification the relay journaled comes again as a spool file (its
    delivery spooled it when the acknowledgement came too late, or an
    account drops it twice): the file is taken and the notification is
    queued once, not twice."""
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % free_port()))) as d, \
            relay(d) as r:
        deliver(d, 1)		# handed off; the endpoint refuses: it stays
        wait_until(lambda: len(r.journal_rows()) == 1, 10, "the journaled notification")
        nid, _, _, record = r.journal_rows()[0]
        created = int(re.search(rb"^created: (\d+)$", record, re.M).group(1))
        write_as(TEST_USER, os.path.join(d.spool_dir, "new", "%016d-%s.spool" %
                                         (created, nid)), record)
        wait_until(lambda: area(d) == [], 10, "the file taken over")
        result = subprocess.run([PUSHADM, "-c", d.config, "-f", "json", "relay", "stats"],
                                capture_output=True, text=True, timeout=30, env=r.env())
        assert result.returncode == 0, result
        rows = json.loads(result.stdout)
        assert [row["queued"] for row in rows if row["endpoint"] == "(all)"] == ["1"], rows
        assert [row[0] for row in r.journal_rows()] == [nid]
        assert area(d, "quarantine") == []


def test_files_wait_while_the_userdb_cannot_answer():
    """Dovecot (its auth service) stopped: whose a file is can't be told,
    so it is neither quarantined nor sent; once Dovecot is back it is."""
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        deliver(d, 1)			# spooled: the endpoint is down
        [name] = area(d)
        d.stop()
        r = pushadm(d, "spool", "check")
        assert r.returncode == 0 and "waits: uid" in r.stderr, r
        assert area(d) == [name] and area(d, "quarantine") == []
        d.start()
        with Receiver(port=port) as real:
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0, r.stderr
            assert len(real.wait_for(1)) == 1
        assert area(d) == [] and area(d, "quarantine") == []


def test_xadd_entries_go_to_the_configured_stream_only():
    """The redis driver: a file's Redis URL (an attacker's unix socket, one
    the attacker could not open itself), stream, maxlen and timeout are
    never used; the configured server and stream are."""
    from redistest import RedisServer, stream_entries
    with RedisServer() as real, RedisServer() as evil:
        os.chmod(evil.socket_path, 0o600)	# root's: the account can't use it
        plugin = {DRIVER: "redis:url=%s stream=mail-events events=MessageNew" % real.url}
        with Dovecot(**ours(plugin)) as d:
            init_areas(d)
            new = os.path.join(d.spool_dir, "new")
            doc = lambda n: json.dumps({"schema_version": 1, "id": str(uuid.uuid4()),
                                        "event": "MessageNew", "user": "alice",
                                        "mailbox": "INBOX", "forged": n},
                                       separators=(",", ":")).encode()
            bad = ("url: unix:%s\nheader: stream: stolen\nheader: maxlen: 1\n"
                   "header: event: MessageNew\ntimeout_msecs: 4000000000\n" % evil.socket_path)
            n1, t1 = entry(version=1, method="XADD", extra=bad, body=doc(1))
            write_as(ATTACKER, os.path.join(new, n1), t1)
            n2, t2 = entry(version=1, method="XADD", extra=bad, body=doc(2))
            write_as(TEST_USER, os.path.join(new, n2), t2)
            n3, t3 = entry(method="XADD", body=b'{"event":"NoSuchEvent"}')
            write_as(TEST_USER, os.path.join(new, n3), t3)
            start = time.monotonic()
            r = pushadm(d, "spool", "run", "--once")
            assert r.returncode == 0 and time.monotonic() - start < 30, r.stderr
            got = stream_entries(real, "mail-events")
            assert len(got) == 1 and json.loads(got[0][1]["json"])["forged"] == 2, got
            assert got[0][1]["event"] == "MessageNew" and got[0][1]["user"] == "alice"
            assert evil.command("DBSIZE") == 0 and real.command("EXISTS", "stolen") == 0
            assert area(d, "quarantine") == [n1] and area(d, "failed") == [n3]
            assert area(d) == []
