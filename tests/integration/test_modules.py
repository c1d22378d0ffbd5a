"""Driver modules (docs/driver-api.md): the lua and redis drivers are
shared objects libpushcore loads when a configuration names them, from
push_notification_module_dir (2.4: push_notify_module_dir) or the built-in
directory, in the plugin and in pushadm alike. A configuration naming a
driver whose module is absent logs the package to install, and the mail is
delivered."""
import os
import subprocess
import tempfile

from built import PUSHADM, ours
from pushtest import Dovecot, make_message

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDER = os.path.join(HERE, "lua", "recorder.lua")


def empty_module_dir():
    path = tempfile.mkdtemp(prefix="pushtest-nomodules-")
    os.chmod(path, 0o755)
    return path


def pushadm(d, *args):
    r = subprocess.run([PUSHADM, "-c", d.config] + list(args),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def inbox_count(d):
    i = d.imap("alice")
    n = int(i.select("INBOX")[1][0])
    i.logout()
    return n


def test_absent_module_names_the_package_and_mail_is_delivered():
    nothing = empty_module_dir()
    for spec, package in (("redis:url=redis://127.0.0.1:9 stream=s", "dovecot-push-notify-redis"),
                          ("lua:file=" + RECORDER, "dovecot-push-notify-lua")):
        driver = spec.split(":")[0]
        plugin = {"push_notification_driver": spec,
                  "push_notification_module_dir": nothing}
        with Dovecot(**ours(plugin)) as d:
            d.lmtp_deliver(["alice"], make_message())
            line = d.wait_log(r"Error: .*the %s driver is not installed" % driver)
            assert ("no %s/push_driver_%s.so): install the package %s"
                    % (nothing, driver, package)) in line, line
            assert inbox_count(d) == 1
            # pushadm reads the same setting and says the same
            rc, out, err = pushadm(d, "driver", "list")
            assert "install the package %s" % package in out + err, out + err
            rc, out, err = pushadm(d, "config", "check")
            assert rc != 0 and "install the package %s" % package in out + err, out + err


SCRIPT = """
function dovecot_lua_notify_begin_txn(user) return {} end
function dovecot_lua_notify_event_message_new(ctx, event)
  dovecot.i_info("module test: " .. event.subject)
end
function dovecot_lua_notify_end_txn(ctx, success) end
"""


def test_modules_load_in_the_plugin_and_in_pushadm():
    fd, script = tempfile.mkstemp(prefix="pushtest-mod-", suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write(SCRIPT)
    os.chmod(script, 0o644)
    plugin = {"push_notification_driver": "lua:file=" + script}
    with Dovecot(**ours(plugin)) as d:
        d.lmtp_deliver(["alice"], make_message(subject="from the module"))
        # on the driver instance's event, as the driver's own lines
        d.wait_log(r"\S+ \(lua\): lua: module test: from the module")
        assert inbox_count(d) == 1
        assert "not installed" not in d.log()
        # pushadm loads the same module from the same setting
        assert ("push_notification_module_dir" in open(d.config).read() or
                "push_notify_module_dir" in open(d.config).read())
        rc, out, err = pushadm(d, "lua", "check", script)
        assert rc == 0, out + err
        assert "dovecot_lua_notify_event_message_new" in out and "defined" in out, out
    os.unlink(script)


def test_pushadm_lua_check_names_the_package_without_the_module():
    plugin = {"push_notification_driver": "dlog",
              "push_notification_module_dir": empty_module_dir()}
    with Dovecot(**ours(plugin)) as d:
        rc, out, err = pushadm(d, "lua", "check", RECORDER)
        assert rc == 65, (rc, out, err)
        assert "install the package dovecot-push-notify-lua" in err, err


def test_pushadm_driver_test_loads_the_module_of_a_command_line_spec():
    """`pushadm driver test SPEC` takes the module from the configured
    directory too: the redis module loads (and reports the dead server), or
    the error names the package when the directory has none."""
    spec = "redis:url=redis://127.0.0.1:9 stream=s timeout_msecs=500"
    with Dovecot(**ours({"push_notification_driver": "dlog"})) as d:
        rc, out, err = pushadm(d, "driver", "test", spec)
        # it started (XADD is not HTTP: driver test has nothing to show)
        assert "not installed" not in out + err and "Unknown" not in out + err, out + err
        assert "doesn't speak HTTP" in err, out + err
    plugin = {"push_notification_driver": "dlog",
              "push_notification_module_dir": empty_module_dir()}
    with Dovecot(**ours(plugin)) as d:
        rc, out, err = pushadm(d, "driver", "test", spec)
        assert rc != 0 and "install the package dovecot-push-notify-redis" in out + err, \
            out + err


def test_root_loads_no_module_others_can_write():
    """pushadm and its relay run as root: a module file (or directory) that
    is not root's or is writable by others is refused, naming it."""
    import shutil
    from built import DRIVER_DIR
    unsafe = empty_module_dir()
    shutil.copy(os.path.join(DRIVER_DIR, "push_driver_lua.so"), unsafe)
    os.chmod(os.path.join(unsafe, "push_driver_lua.so"), 0o666)
    plugin = {"push_notification_driver": "dlog", "push_notification_module_dir": unsafe}
    with Dovecot(**ours(plugin)) as d:
        rc, out, err = pushadm(d, "lua", "check", RECORDER)
        assert rc == 65 and "is not loaded: it or its directory is not root's or is " \
            "writable by others" in err, (rc, out, err)
        os.chmod(os.path.join(unsafe, "push_driver_lua.so"), 0o644)
        rc, out, err = pushadm(d, "lua", "check", RECORDER)
        assert rc == 0, (rc, out, err)
