"""The Lua driver: the reference API side by side with Dovecot's own
push_notification_lua, the reference document's example script, the user
object, coexistence with Dovecot's mail_lua (Lua 5.4), and broken scripts
that must not stop a delivery."""
import os
import re
import shutil
import tempfile
import urllib.parse

from built import ours
from pushtest import Dovecot, Receiver, dovecot23_only, make_message

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDER = os.path.join(HERE, "lua", "recorder.lua")
EXAMPLE = os.path.join(HERE, "lua", "reference-example.lua")
MSG = dict(from_="Sender <sender@example.org>", to="Alice <alice@example.org>",
           subject="=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", body="Hello there\r\n",
           headers={"Date": "Tue, 24 Nov 2026 10:00:00 +0100",
                    "Message-ID": "<lua1@example.org>"})


def session(d):
    """The same LMTP deliveries and IMAP actions for both implementations."""
    d.lmtp_deliver(["alice"], make_message(**MSG))
    d.lmtp_deliver(["alice"], make_message(**MSG))
    i = d.imap("alice")
    i.select("INBOX")
    i.append("INBOX", r"(\Flagged $Important)", None, make_message(**MSG))
    i.store("1", "+FLAGS", r"(\Seen \Answered $Work)")
    i.store("1", "-FLAGS", r"(\Answered $Work)")
    i.store("2", "+FLAGS", r"($Later)")
    i.create("Archive")
    i.copy("1", "Archive")
    i._simple_command("MOVE", "2", "Archive")
    i.store("2", "+FLAGS", r"(\Deleted)")
    i.expunge()
    i.rename("Archive", "Old")
    i.subscribe("Old")
    i.delete("Old")
    i.logout()


def with_lua_log(args):
    """A Dovecot (not started yet) whose scripts log to a file, named to them
    by the push_lua_log setting (user:plugin_getenv)."""
    logs = tempfile.mkdtemp(prefix="pushtest-lua-")
    os.chmod(logs, 0o755)
    path = os.path.join(logs, "lua.log")
    open(path, "w").close()
    os.chmod(path, 0o666)
    args = dict(args, plugin=dict(args["plugin"], push_lua_log=path))
    return Dovecot(**args), path


def run_session(args):
    d, path = with_lua_log(args)
    try:
        with d:
            session(d)
            with open(path) as f:
                lines = f.read().splitlines()
            return lines, d.log()
    finally:
        shutil.rmtree(os.path.dirname(path))


def calls(lines):
    """The event calls, uid_validity normalised (each Dovecot has its own).
    Compared as a multiset: the reference processes a transaction's
    messages in hash order and nests MOVE's two transactions."""
    return [re.sub(r"uid_validity=\d+", "uid_validity=V", l) for l in lines
            if not l.startswith(("begin\t", "end\t"))]


def without(line, keys):
    name, f = fields(line)
    return "\t".join([name] + ["%s=%s" % kv for kv in sorted(f.items()) if kv[0] not in keys])


def fields(line):
    name, *kv = line.split("\t")
    return name, dict(x.split("=", 1) for x in kv)


def is_empty_flag_change(line):
    name, f = fields(line)
    return name in ("flags_set", "flags_clear") and f.get("flags") == "[]" and \
        f.get("keywords") == "[]"


def check_our_calls(our_lines, our_log):
    """What holds of our calls for the session on any Dovecot."""
    assert "Error" not in our_log, our_log
    # every begin_txn has its end_txn(ctx, true)
    assert our_lines.count("end\tsuccess=true") == \
        len([l for l in our_lines if l.startswith("begin")])
    our = calls(our_lines)
    for c in our:
        name, f = fields(c)
        assert f["user"] == "alice"
        if name in ("flags_set", "flags_clear"):
            assert f["keywords"] == f["keywords_set" if name == "flags_set" else "keywords_clear"]
    assert len(our) == 20, our
    # the values really were there: the subject decoded, integers integral
    new = [fields(c)[1] for c in our if c.startswith("message_new")]
    assert new[0]["subject"] == "Grüße" and new[0]["uid"] == "1" and new[0]["tz"] == "60"
    return our


@dovecot23_only("Dovecot 2.4.1's own push_notification_lua panics in LMTP "
                "(mail_user refcount assertion) and has no user:plugin_getenv; "
                "test_dovecot24 checks ours alone")
def test_same_calls_as_dovecot_push_notification_lua():
    plugin = {"push_notification_driver": "lua:file=" + RECORDER}
    ref_lines, ref_log = run_session(dict(
        mail_plugins="mail_lua notify push_notification push_notification_lua", plugin=plugin))
    our_lines, our_log = run_session(ours(plugin, mail_plugins="notify push_notify push_notify_lua"))
    our = check_our_calls(our_lines, our_log)
    assert ref_lines.count("end\tsuccess=true") == \
        len([l for l in ref_lines if l.startswith("begin")])
    # deliberate: no FlagsSet/FlagsClear call with nothing in it
    ref = [c for c in calls(ref_lines) if not is_empty_flag_change(c)]
    # deliberate: ours adds the documented names (user, keywords_set/_clear)
    extra = {"user", "keywords_set", "keywords_clear"}
    assert sorted(without(c, extra) for c in our) == sorted(without(c, ()) for c in ref), \
        (sorted(ref), sorted(our))


def test_reference_example_script_posts_to_an_endpoint():
    with Receiver() as r:
        plugin = {"push_notification_driver": "lua:file=" + EXAMPLE, "push_lua_url": r.url + "/push"}
        with Dovecot(**ours(plugin, mail_plugins="notify push_notify push_notify_lua")) as d:
            d.lmtp_deliver(["alice"], make_message(**MSG))
            req = r.wait_for(1)[0]
            form = urllib.parse.parse_qs(req["body"].decode())
            assert req["method"] == "POST" and req["path"] == "/push"
            assert form == {"from": ["Sender <sender@example.org>"],
                            "to": ["Alice <alice@example.org>"], "subject": ["Grüße"],
                            "snippet": ["Hello there"], "user": ["alice"]}, form


@dovecot23_only("mail_lua_script is a 2.3 setting; 2.4 names the script in the block")
def test_coexists_with_mail_lua_and_uses_mail_lua_script():
    d, path = with_lua_log(ours({"push_notification_driver": "lua", "mail_lua_script": RECORDER},
                                mail_plugins="mail_lua notify push_notify push_notify_lua"))
    with d:
        d.lmtp_deliver(["alice"], make_message(**MSG))
        lines = open(path).read().splitlines()
        assert [l.split("\t")[0] for l in lines] == ["begin", "mailbox_create", "end",
                                                    "begin", "message_new", "end"], (lines, d.log())
        assert "Error" not in d.log(), d.log()


BROKEN = {
    "syntax": ("function dovecot_lua_notify_begin_txn(u)\n", r"loading .* failed: .*expected"),
    "runtime": ("function dovecot_lua_notify_begin_txn(u) return {} end\n"
                "function dovecot_lua_notify_event_message_new(c, e) error('boom') end\n"
                "function dovecot_lua_notify_end_txn(c, s) end\n",
                r"dovecot_lua_notify_event_message_new\(\) failed: .*boom"),
    "loop": ("function dovecot_lua_notify_begin_txn(u) while true do end end\n"
             "function dovecot_lua_notify_event_message_new(c, e) end\n",
             r"dovecot_lua_notify_begin_txn\(\) failed: .*ran longer than 5000 ms"),
    "memory": ("function dovecot_lua_notify_begin_txn(u) local t = {} "
               "for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end end\n"
               "function dovecot_lua_notify_event_message_new(c, e) end\n",
               r"dovecot_lua_notify_begin_txn\(\) failed: not enough memory"),
    "exit": ("function dovecot_lua_notify_begin_txn(u) os.exit(1) end\n"
             "function dovecot_lua_notify_event_message_new(c, e) end\n",
             r"dovecot_lua_notify_begin_txn\(\) failed: .*os.exit\(\) is disabled"),
    "init": ("function script_init() return 1 end\n", r"script_init\(\) returned 1, not 0"),
    "no-begin": ("function dovecot_lua_notify_event_message_new(c, e) end\n",
                 r"Missing function dovecot_lua_notify_begin_txn"),
}


def test_broken_scripts_never_stop_a_delivery():
    for name, (source, pattern) in BROKEN.items():
        path = os.path.join(HERE, "lua", ".broken-%s.lua" % name)
        with open(path, "w") as f:
            f.write(source)
        try:
            with Dovecot(**ours({"push_notification_driver": "lua:file=" + path},
                                mail_plugins="notify push_notify push_notify_lua")) as d:
                d.lmtp_deliver(["alice"], make_message(**MSG))
                # the cause, on the delivery's own log line naming the driver
                line = d.wait_log(r"lmtp\(alice\).*push_notify: push_notification_driver "
                                  r"\(lua\): .*" + pattern, timeout=15)
                assert ": Error: " in line, (name, line)
                assert "Fatal" not in d.log() and "killed" not in d.log(), (name, d.log())
                i = d.imap("alice")
                assert int(i.select("INBOX")[1][0]) == 1, name
                i.logout()
        finally:
            os.unlink(path)


PRINTING = """
print("loaded", 1, true, nil)
function dovecot_lua_notify_begin_txn(u) return {} end
function dovecot_lua_notify_event_message_new(ctx, e)
  print("new", e.subject, "https://hook:s3cr3t-pw@push.example/x?access_token=t0k3n-v4l")
end
function dovecot_lua_notify_end_txn(ctx, ok) end
"""


def test_print_goes_to_the_log_redacted():
    """A script's print() lands on the driver's log line at Info, with the
    credentials in it hidden, as its dovecot.i_info() lines do."""
    path = os.path.join(HERE, "lua", ".printing.lua")
    with open(path, "w") as f:
        f.write(PRINTING)
    try:
        with Dovecot(**ours({"push_notification_driver": "lua:file=" + path},
                            mail_plugins="notify push_notify push_notify_lua")) as d:
            d.lmtp_deliver(["alice"], make_message(**MSG))
            line = d.wait_log(r"lua: new\t", timeout=15)
            assert ": Info: " in line and "push_notification_driver (lua): " in line, line
            hidden = "#hidden_use-P_to_show#"
            assert line.endswith("lua: new\tGrüße\thttps://%s@push.example/x?access_token=%s"
                                 % (hidden, hidden)), line
            loaded = d.wait_log(r"lua: loaded\t", timeout=5)
            assert loaded.endswith("lua: loaded\t1\ttrue\tnil"), loaded
            assert "s3cr3t" not in d.log() and "t0k3n" not in d.log()
    finally:
        os.unlink(path)
