"""Settings across Dovecot versions: `pushadm config convert` (2.3 plugin
settings and Dovecot's own 2.4 push_notification blocks in the 2.4
push_notify form, read through doveconf or, with --from-2.3, from a file
Dovecot 2.4 can't parse), `config check`'s messages about them, Dovecot
2.4's own key names in a push_notify block, and the plugin and pushadm
turning settings into drivers with the same code."""
import atexit
import json
import os
import shutil
import subprocess
import tempfile

from built import DRIVER_DIR, PUSHADM, ours
from pushtest import (Dovecot, Receiver, dovecot23_only, dovecot24_only, free_port,
                      is_24, make_message, wait_until)

PASSWORD = "s3cr3t-pw"
NOTIFICATIONS_OFF = "notifications are off until the build for this Dovecot is installed"

# every driver kind, as an administrator wrote them for Dovecot 2.3 (the
# reference document's Lua example reads push_lua_url)
FILE_23 = """\
## dovecot-push-notify (Dovecot 2.3)
!include_try /usr/share/dovecot-push-notify/mail-plugins.conf
protocol lmtp {
  mail_plugins = $mail_plugins notify push_notify # the 2.4 package loads them
}

plugin {
  # the debug log
  push_notification_driver = dlog
  push_notification_driver2 = ox:url=https://login:%(pw)s@ox.example.com:8009/preliminary/http-notify/v1/notify user_from_metadata cache_lifetime=30s
  push_notification_driver3 = http:url=https://push.example.com/mail secret_file=/etc/dovecot/push.secret events=MessageNew,MessageRead header=X-Tenant:acme batch
  push_notification_driver4 = lua
  push_notification_driver5 = redis:url=redis://127.0.0.1:6379 stream=mail-events:%%d maxlen=100000
  mail_lua_script = /etc/dovecot/push.lua
  push_lua_url = "http://push.notification.server/handler"
  push_notification_max_delay = 2s # the longest wait
  push_notification_spool_dir = /var/spool/dovecot-push-notify
  push_notification_spool_only = no
}
""" % {"pw": PASSWORD}

CONVERTED = """\
push_notify_max_delay = 2s
push_notify_spool_dir = /var/spool/dovecot-push-notify
push_notify_spool_only = no
push_notify push_notification_driver {
  driver = dlog
}
push_notify push_notification_driver2 {
  driver = ox
  url = https://login:%(pw)s@ox.example.com:8009/preliminary/http-notify/v1/notify
  user_from_metadata = yes
  cache_lifetime = 30s
}
push_notify push_notification_driver3 {
  driver = http
  url = https://push.example.com/mail
  events = MessageNew,MessageRead
  secret_file = /etc/dovecot/push.secret
  batch = yes
  header {
    X-Tenant = acme
  }
}
push_notify push_notification_driver4 {
  driver = lua
  file = /etc/dovecot/push.lua
  lua_settings {
    push_lua_url = http://push.notification.server/handler
  }
}
push_notify push_notification_driver5 {
  driver = redis
  url = redis://127.0.0.1:6379
  stream = "mail-events:%%{user|domain}"
  maxlen = 100000
}
""" % {"pw": PASSWORD}


def configured(plugin, **kwargs):
    """A Dovecot configuration pushadm reads (not started); its directory
    goes when the test run ends."""
    d = Dovecot(**ours(plugin, **kwargs))
    if os.environ.get("KEEP_TMP") != "1":
        atexit.register(shutil.rmtree, d.tmp, True)
    return d


def pushadm(config, *args):
    cmd = [PUSHADM] + (["-c", config] if config else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def write(text, suffix=".conf"):
    fd, path = tempfile.mkstemp(prefix="pushtest-conv-", suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def test_convert_from_23_file_every_driver_kind():
    path = write(FILE_23)
    try:
        rc, out, err = pushadm(None, "-P", "config", "convert", "--from-2.3", path)
        assert (rc, err) == (0, ""), (rc, err)
        assert out == CONVERTED, out
        # without -P the credentials are hidden, and it says so
        rc, out, err = pushadm(None, "config", "convert", "--from-2.3", path)
        assert rc == 0 and PASSWORD not in out + err
        assert out == CONVERTED.replace(
            "https://login:%s@" % PASSWORD, '"https://#hidden_use-P_to_show#@').replace(
            "/v1/notify\n", '/v1/notify"\n').replace(
            "secret_file = /etc/dovecot/push.secret",
            'secret_file = "#hidden_use-P_to_show#"'), out
        assert err == ("pushadm: credentials are hidden (#hidden_use-P_to_show#): "
                       "pushadm -P config convert prints them\n"), err
    finally:
        os.unlink(path)


def test_convert_from_23_file_errors_name_the_line():
    path = write("plugin {\n"
                 "  push_notification_driver = http:url=http://u:%s@h/x header=bad colour=red\n"
                 "  push_notification_driver3 = dlog\n"
                 "  sieve = ~/.dovecot.sieve\n"
                 "  push_notification_colour = red\n"
                 "}\n"
                 "service imap {\n"
                 "}\n"
                 "protocol lmtp {\n"
                 "  mail_plugins = $mail_plugins quota \\\n"
                 "    push_notify\n"
                 "}\n" % PASSWORD)
    try:
        rc, out, err = pushadm(None, "config", "convert", "--from-2.3", path)
        assert (rc, out) == (65, ""), (rc, out, err)
        assert err.splitlines() == [
            "pushadm: %s line 7: service imap {: only plugin { } settings can be converted" % path,
            "pushadm: %s line 10: mail_plugins: only a line adding notify, push_notify, "
            "push_notify_lua or mail_lua to $mail_plugins is left out; move the others "
            "to Dovecot 2.4 as its upgrade notes say" % path,
            "pushadm: %s line 4: sieve is not a push notification setting: move it to "
            "Dovecot 2.4 as its upgrade notes say" % path,
            "pushadm: %s line 5: push_notification_colour: not a setting of push_notify" % path,
            "pushadm: %s line 2: push_notification_driver: header=bad: expected "
            "header=Name:Value" % path,
            "pushadm: %s line 2: push_notification_driver: option 'colour' has no "
            "push_notify setting" % path,
            "pushadm: %s line 3: push_notification_driver3 is not converted: Dovecot 2.3 "
            "ignored it too (push_notification_driver2 is not set)" % path,
            "pushadm: nothing converted: 6 settings can't be converted",
        ], err
        assert PASSWORD not in err
        rc, out, err = pushadm(None, "config", "convert", "--from-2.3", "/nonexistent/x.conf")
        assert (rc, out) == (66, "") and "/nonexistent/x.conf" in err, (rc, err)
    finally:
        os.unlink(path)


@dovecot23_only("doveconf reads plugin {} only on 2.3")
def test_convert_through_doveconf_23_is_the_file_reading():
    plugin = {}
    for line in FILE_23.split("plugin {\n")[1].splitlines():
        if " = " in line and not line.strip().startswith("#"):
            key, value = line.strip().split(" = ", 1)
            plugin[key] = value.split(" #")[0].strip('"')
    d = configured(plugin)
    rc, out, err = pushadm(d.config, "-P", "config", "convert")
    assert (rc, err) == (0, ""), err
    # the harness points the relay socket into its temp dir, and the
    # driver modules at the build tree's
    assert out == CONVERTED.replace(
        "push_notify_spool_only = no\n", "push_notify_spool_only = no\n"
        "push_notify_relay_socket = %s\n"
        "push_notify_module_dir = %s\n" % (d.relay_socket, DRIVER_DIR)), out


@dovecot24_only("Dovecot 2.4 reads the converted form")
def test_converted_23_settings_are_dovecot24_configuration_that_delivers():
    with Receiver() as r:
        path = write("plugin {\n"
                     "  push_notification_driver = http:url=%s/hook events=MessageNew "
                     "header=X-Tenant:acme\n"
                     "  push_notification_driver2 = dlog\n"
                     "}\n" % r.url)
        try:
            rc, out, err = pushadm(None, "-P", "config", "convert", "--from-2.3", path)
        finally:
            os.unlink(path)
        assert (rc, err) == (0, ""), err
        with Dovecot(**ours({}, extra_conf=out)) as d:
            check = subprocess.run(["doveconf", "-c", d.config, "-n"],
                                   capture_output=True, text=True, timeout=60)
            assert check.returncode == 0, check.stderr
            d.lmtp_deliver(["alice"], make_message(subject="converted"))
            reqs = r.wait_for(1)
            assert reqs[0]["path"] == "/hook" and reqs[0]["headers"]["x-tenant"] == "acme"
            assert reqs[0]["json"]["subject"] == "converted"
            d.wait_log(r"push_notification_driver2 .*MessageNew|dlog.*MessageNew")
            assert "Error" not in d.log(), d.log()


DOVECOT_BLOCKS = """\
push_notification ox {
  ox_url = http://login:%(pw)s@127.0.0.1:%(port)d/notify
  ox_user_from_metadata = yes
  ox_cache_ttl = 30s
  http_client_request_timeout = 5s
  http_client_request_max_attempts = 3
}
push_notification dlog {
}
push_notification script {
  driver = lua
  lua_file = /etc/dovecot/push.lua
  lua_settings {
    push_lua_url = http://push.example/handler
  }
}
"""

DOVECOT_BLOCKS_CONVERTED = """\
push_notify ox {
  driver = ox
  url = http://login:%(pw)s@127.0.0.1:%(port)d/notify
  timeout_msecs = 5000
  max_retries = 2
  user_from_metadata = yes
  cache_lifetime = 30s
}
push_notify dlog {
  driver = dlog
}
push_notify script {
  driver = lua
  file = /etc/dovecot/push.lua
  lua_settings {
    push_lua_url = http://push.example/handler
  }
}
"""


@dovecot24_only("Dovecot's own push_notification blocks")
def test_convert_dovecot_own_blocks_and_check_warns():
    port = free_port()
    values = {"pw": PASSWORD, "port": port}
    d = configured({}, extra_conf=DOVECOT_BLOCKS % values +
                   "push_notification_driver = dlog\n")
    rc, out, err = pushadm(d.config, "-P", "config", "convert")
    assert (rc, err) == (0, "pushadm: push_notification_driver = dlog is not converted: "
                         "outside a block Dovecot 2.4 does not read it either\n"), err
    # one order, whatever order doveconf prints a block's settings in
    # the harness points the relay socket into its temp dir, the driver
    # modules at the build tree's
    assert out == ("push_notify_spool_dir = %s\npush_notify_relay_socket = %s\n"
                   "push_notify_module_dir = %s\n%s" % (
                       d.spool_dir, d.relay_socket, DRIVER_DIR,
                       DOVECOT_BLOCKS_CONVERTED % values)), out
    os.makedirs(d.spool_dir, exist_ok=True)
    rc, out, err = pushadm(d.config, "config", "check")
    assert rc == 78, (rc, out, err)
    assert out.splitlines() == [
        "problem: no push_notify block is configured: nothing is sent",
    ] + ["problem: push_notification %s { } is a block of Dovecot's own "
         "push_notification plugin: push_notify ignores it (pushadm config convert "
         "prints it as a push_notify block)" % name for name in ("ox", "dlog", "script")] + [
        "problem: push_notification_driver = dlog is a setting of Dovecot's own "
        "push_notification plugin outside a block: nothing reads it (write a "
        "push_notify block, see docs/upgrading.md)"], out
    # the converted blocks are accepted by Dovecot 2.4 and read the same
    converted = DOVECOT_BLOCKS_CONVERTED % values
    d2 = configured({}, extra_conf=converted)
    check = subprocess.run(["doveconf", "-c", d2.config, "-n"], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    rc, out, err = pushadm(d2.config, "-P", "config", "convert")
    assert (rc, out) == (0, "push_notify_spool_dir = %s\npush_notify_relay_socket = %s\n"
                         "push_notify_module_dir = %s\n%s" % (
                             d2.spool_dir, d2.relay_socket, DRIVER_DIR, converted)), (out, err)


@dovecot24_only("a Dovecot 2.3 file met by Dovecot 2.4")
def test_check_names_a_23_file_and_the_fix():
    old = write("plugin {\n  push_notification_driver = ox:url=http://u:%s@h/x\n}\n" % PASSWORD)
    try:
        d = configured({}, extra_conf="!include %s\n" % old)
        rc, out, err = pushadm(d.config, "config", "check")
        assert (rc, out) == (78, ""), (rc, out, err)
        assert err.splitlines() == [
            "pushadm: doveconf -c %s failed: Dovecot's configuration is not valid:" % d.config,
            "  doveconf: Fatal: Error in configuration file %s line 1: Unknown section "
            "name: plugin" % old,
            "pushadm: %s is in Dovecot 2.3 syntax, which this Dovecot (2.4) does not "
            "read. Its push notification settings in the 2.4 form: pushadm -P config "
            "convert --from-2.3 %s" % (old, old),
        ], err
        # and the fix works there, without doveconf
        rc, out, err = pushadm(d.config, "-P", "config", "convert", "--from-2.3", old)
        assert rc == 0 and out == ("push_notify push_notification_driver {\n  driver = ox\n"
                                   "  url = http://u:%s@h/x\n}\n" % PASSWORD), (out, err)
    finally:
        os.unlink(old)


def test_check_settings_without_the_plugin_for_this_dovecot():
    """After a distribution upgrade, before the build for the new Dovecot
    is installed: the settings are there, the plugin is not."""
    d = configured({"push_notification_driver": "dlog"}, extra_modules=())
    os.makedirs(d.spool_dir, exist_ok=True)
    # an installed build (for this Dovecot) would be linked in as well
    mine = os.path.join(d.tmp, "modules", "lib20_push_notify_plugin.so")
    if os.path.lexists(mine):
        os.unlink(mine)
    rc, out, err = pushadm(d.config, "config", "check")
    assert rc == 78, (rc, out, err)
    assert out.splitlines()[0] == (
        "problem: push_notify is not installed for this Dovecot (%s): %s" %
        ("2.4" if is_24() else "2.3", NOTIFICATIONS_OFF)), out


@dovecot23_only("numbered settings")
def test_first_numbered_setting_alone_is_named_right():
    """driver2 without driver: the reference reads nothing; both the
    plugin and pushadm say so, naming settings that exist."""
    with Receiver() as r, Dovecot(**ours({
            "push_notification_driver2": "http:url=%s/hook" % r.url})) as d:
        os.makedirs(d.spool_dir, exist_ok=True)
        rc, out, err = pushadm(d.config, "config", "check")
        assert out.splitlines() == [
            "problem: no push_notification_driver is set: nothing is sent",
            "problem: push_notification_driver2 is ignored: push_notification_driver is "
            "not set (the list starts at push_notification_driver and ends at the "
            "first gap)"], out
        assert "driver1" not in out + err
        d.lmtp_deliver(["alice"], make_message())
        line = d.wait_log(r"Warning: .*push_notification_driver2")
        assert line.endswith("push_notify: push_notification_driver2 is set but "
                             "push_notification_driver is not: the list starts at "
                             "push_notification_driver and ends at the first gap, so "
                             "no driver is used (rename it push_notification_driver)"), line
        assert r.requests == []


BROKEN_ERROR = ("push_notification_driver (http): open(/nonexistent/s) failed: "
                "No such file or directory")


def test_plugin_and_pushadm_stop_at_the_same_broken_driver():
    with Receiver() as r, Dovecot(**ours({
            "push_notification_driver": "http:url=%s/first secret_file=/nonexistent/s" % r.url,
            "push_notification_driver2": "http:url=%s/second" % r.url})) as d:
        d.lmtp_deliver(["alice"], make_message())
        line = d.wait_log(r"Error: .*nonexistent")
        assert line.endswith("push_notify: %s - this and later drivers are disabled; "
                             "mail is delivered without their notifications" % BROKEN_ERROR), line
        rc, out, err = pushadm(d.config, "event", "send", "-u", "alice", "-e", "MessageNew")
        assert err.splitlines()[0] == ("pushadm: %s - this and later drivers are "
                                       "disabled, as in a delivery" % BROKEN_ERROR), err
        rc, out, err = pushadm(d.config, "-f", "json", "driver", "list")
        rows = json.loads(out)
        assert [(x["setting"], x["status"]) for x in rows] == [
            ("push_notification_driver", BROKEN_ERROR)], rows
        rc, out, err = pushadm(d.config, "driver", "test", "push_notification_driver2")
        assert (rc, err) == (78, "pushadm: %s\n" % BROKEN_ERROR), (rc, err)
        # neither the delivery nor pushadm used driver2
        assert r.requests == [], r.requests


@dovecot23_only("push_notification_backend is a 2.3 plugin setting")
def test_plugin_and_pushadm_honour_push_notification_backend():
    with Receiver() as r, Dovecot(**ours({
            "push_notification_backend": "http:url=%s/legacy events=MessageNew" % r.url})) as d:
        d.lmtp_deliver(["alice"], make_message(subject="legacy"))
        reqs = r.wait_for(1)
        assert reqs[0]["path"] == "/legacy" and reqs[0]["json"]["subject"] == "legacy"
        rc, out, err = pushadm(d.config, "event", "send", "-u", "alice", "-e", "MessageNew",
                               "subject=from pushadm")
        assert rc == 0, (out, err)
        reqs = r.wait_for(2)
        assert reqs[1]["path"] == "/legacy" and reqs[1]["json"]["subject"] == "from pushadm"
        rc, out, err = pushadm(d.config, "-f", "json", "driver", "list")
        assert [(x["setting"], x["status"]) for x in json.loads(out)] == [
            ("push_notification_backend", "ok")], out
        rc, out, err = pushadm(d.config, "-P", "config", "convert")
        assert out == ("push_notify_spool_dir = %s\npush_notify_relay_socket = %s\n"
                       "push_notify_module_dir = %s\n"
                       "push_notify push_notification_backend {\n"
                       "  driver = http\n  url = %s/legacy\n  events = MessageNew\n}\n" %
                       (d.spool_dir, d.relay_socket, DRIVER_DIR, r.url)), out


@dovecot24_only("push_notify blocks")
def test_dovecot24_key_names_in_a_push_notify_block_send_the_same():
    with Receiver() as r:
        blocks = """
push_notify ox {
  ox_url = %(url)s/dovecot-names
  ox_user_from_metadata = yes
  ox_cache_ttl = 30s
  http_client_request_timeout = 5s
}
push_notify ours {
  driver = ox
  url = %(url)s/our-names
  user_from_metadata = yes
  cache_lifetime = 30s
  timeout_msecs = 5000
}
""" % {"url": r.url}
        with Dovecot(**ours({}, extra_conf=blocks)) as d:
            d.set_ox_metadata("alice", "user=alice@example.org")
            d.lmtp_deliver(["alice"], make_message(subject="names"))
            reqs = r.wait_for(2)
            wait_until(lambda: len(r.requests) >= 2, 5, "both")
            by_path = {q["path"]: q for q in r.requests}
            assert sorted(by_path) == ["/dovecot-names", "/our-names"], by_path
            a, b = by_path["/dovecot-names"], by_path["/our-names"]
            assert a["json"] == b["json"] and a["method"] == b["method"] == "PUT"
            assert a["json"]["user"] == "alice@example.org" and a["json"]["subject"] == "names"
            assert "Error" not in d.log(), d.log()
            rc, out, err = pushadm(d.config, "-f", "json", "driver", "list")
            rows = json.loads(out)
            assert [(x["setting"], x["options"], x["status"]) for x in rows] == [
                ("ox", "timeout_msecs=5000 cache_lifetime=30s url=%s/dovecot-names "
                 "user_from_metadata" % r.url, "ok"),
                ("ours", "cache_lifetime=30s timeout_msecs=5000 url=%s/our-names "
                 "user_from_metadata" % r.url, "ok")], rows


def test_non_root_delivery_spools_without_a_lost_line():
    """new/ is mode 1733 and root's, as the packages make it: a delivery
    uid other than root can write there but not open it to fsync."""
    port = free_port()
    d = configured({"push_notification_driver":
                    "http:url=http://127.0.0.1:%d/hook events=MessageNew" % port})
    os.chown(d.spool_dir, 0, 0)
    os.chmod(d.spool_dir, 0o755)
    for area, mode in (("tmp", 0o1733), ("new", 0o1733), ("failed", 0o700),
                       ("quarantine", 0o700)):
        os.mkdir(os.path.join(d.spool_dir, area))
        os.chmod(os.path.join(d.spool_dir, area), mode)
    with d:
        d.lmtp_deliver(["alice"], make_message())
        d.wait_log(r"spooled; the dispatcher")
        files = os.listdir(os.path.join(d.spool_dir, "new"))
        assert len(files) == 1, files
        owner = os.stat(os.path.join(d.spool_dir, "new", files[0])).st_uid
        assert owner != 0
        assert "LOST" not in d.log() and "Warning" not in d.log(), d.log()


@dovecot24_only("push_notify blocks")
def test_dovecot24_http_client_settings_in_a_block_reach_the_driver():
    """http_client_request_max_attempts = 3 (Dovecot's name) is max_retries=2:
    three attempts where the default makes two."""
    with Receiver() as r:
        r.script([{"status": 503}, {"status": 503}, {"status": 200}])
        blocks = ("push_notify webhook {\n  driver = http\n  url = %s/hook\n"
                  "  events = MessageNew\n  http_client_request_max_attempts = 3\n"
                  "  http_client_request_timeout = 5s\n}\n" % r.url)
        with Dovecot(**ours({}, extra_conf=blocks)) as d:
            d.lmtp_deliver(["alice"], make_message(subject="attempts"))
            reqs = r.wait_for(3)
            assert [q["json"]["subject"] for q in reqs] == ["attempts"] * 3
            assert "spooled" not in d.log() and "Error" not in d.log(), d.log()


@dovecot24_only("Dovecot 2.4 reads the converted form")
def test_converted_full_example_is_accepted_by_dovecot24():
    """Every driver kind's converted form (CONVERTED): 2.4's doveconf, with
    our settings module, accepts it, and pushadm reads it back the same."""
    d = configured({}, extra_conf=CONVERTED)
    check = subprocess.run(["doveconf", "-c", d.config, "-n"], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    rc, out, err = pushadm(d.config, "-P", "config", "convert")
    assert (rc, err) == (0, ""), err
    # doveconf leaves out what is at its default (the spool settings
    # here); the harness points the relay socket into its temp dir, the
    # driver modules at the build tree's
    assert out == CONVERTED.replace(
        "push_notify_spool_dir = /var/spool/dovecot-push-notify\n"
        "push_notify_spool_only = no\n",
        "push_notify_relay_socket = %s\npush_notify_module_dir = %s\n" % (
            d.relay_socket, DRIVER_DIR)), out


@dovecot24_only("Dovecot 2.4 checks the URL of its own ox block")
def test_doveconf_error_lines_hide_credentials():
    d = configured({}, extra_conf='push_notification ox {\n'
                   '  ox_url = "http://u:%s@host:bad/x"\n}\n' % PASSWORD)
    rc, out, err = pushadm(d.config, "config", "check")
    assert (rc, out) == (78, ""), (rc, out, err)
    hidden = "'http://#hidden_use-P_to_show#@host:bad/x': Invalid host port"
    assert err.splitlines() == [
        "pushadm: doveconf -c %s failed: Dovecot's configuration is not valid:" % d.config,
        "  doveconf: Error: Invalid push_notification_ox_url %s" % hidden,
        "  doveconf: Fatal: Error in configuration file %s: Invalid "
        "push_notification_ox_url %s" % (d.config, hidden)], err
    rc, out, err = pushadm(d.config, "-P", "config", "check")
    assert PASSWORD in err


@dovecot24_only("Dovecot 2.4 reads the converted form")
def test_converted_reference_lua_example_posts_on_dovecot24():
    """The reference document's Lua example (its script reads push_lua_url
    with user:plugin_getenv) converted from 2.3: the setting moves into the
    block's lua_settings, and the script still finds it."""
    import test_lua as lua_tests
    with Receiver() as r:
        path = write("plugin {\n  push_notification_driver = lua:file=%s\n"
                     "  push_lua_url = %s/push\n}\n" % (lua_tests.EXAMPLE, r.url))
        try:
            rc, out, err = pushadm(None, "-P", "config", "convert", "--from-2.3", path)
        finally:
            os.unlink(path)
        assert (rc, err) == (0, ""), err
        assert out == ("push_notify push_notification_driver {\n  driver = lua\n"
                       "  file = %s\n  lua_settings {\n    push_lua_url = %s/push\n"
                       "  }\n}\n" % (lua_tests.EXAMPLE, r.url)), out
        with Dovecot(**ours({}, mail_plugins="notify push_notify push_notify_lua",
                            extra_conf=out)) as d:
            d.lmtp_deliver(["alice"], make_message(subject="lua"))
            req = r.wait_for(1)[0]
            assert req["method"] == "POST" and req["path"] == "/push", req
            assert b"subject=lua" in req["body"], req["body"]


def test_convert_percent_variables():
    """2.3 expanded every plugin setting per user; 2.4 expands stream, file
    and the file settings (as %{...}) and takes url, events, ... as written."""
    ok = write("plugin {\n  push_notification_driver = redis:url=redis://h/%%7E "
               "stream=s:%n:%d file=/x/%u\n}\n")
    bad = write("plugin {\n  push_notification_driver = http:url=https://h/n/%u\n}\n")
    try:
        rc, out, err = pushadm(None, "config", "convert", "--from-2.3", ok)
        assert (rc, err) == (0, ""), err
        assert out == ("push_notify push_notification_driver {\n  driver = redis\n"
                       "  url = redis://h/%7E\n  stream = \"s:%{user|username}:%{user|domain}\"\n"
                       "  file = \"/x/%{user}\"\n}\n"), out
        rc, out, err = pushadm(None, "config", "convert", "--from-2.3", bad)
        assert (rc, out) == (65, ""), (rc, out)
        assert err.splitlines()[0] == (
            "pushadm: %s line 2: push_notification_driver: url=https://h/n/%%u: Dovecot "
            "2.3 expanded this %%-variable; Dovecot 2.4 takes url as written" % bad), err
    finally:
        os.unlink(ok)
        os.unlink(bad)
