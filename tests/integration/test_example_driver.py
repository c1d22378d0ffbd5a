"""The example out-of-tree driver (contrib/example-driver, docs/driver-api.md),
built as a third party builds one: this tree installed into a DESTDIR (what
libpushcore-dev installs), then the example's own Makefile with
`pkg-config pushcore` against that install, outside the tree's build. A real
Dovecot loads it from push_notification_module_dir and it receives the
events of a delivery; pushadm loads it too. A module built for another
driver ABI version is refused with one error, and the mail is delivered."""
import glob
import os
import shutil
import subprocess
import tempfile

from built import PUSHADM, TOP, ours
from pushtest import Dovecot, make_message

_built = {}


def installed():
    """`make install DESTDIR=...` of the tree; the environment that makes
    pkg-config find pushcore.pc there."""
    if "root" not in _built:
        tmp = tempfile.mkdtemp(prefix="pushtest-sdk-")
        os.chmod(tmp, 0o755)
        root = os.path.join(tmp, "root")
        r = subprocess.run(["make", "-s", "-C", TOP, "install", "DESTDIR=" + root],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        pcs = glob.glob(os.path.join(root, "**", "pkgconfig", "pushcore.pc"), recursive=True)
        assert len(pcs) == 1, pcs
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=root)
        _built.update(tmp=tmp, root=root, env=env)
    return _built


def build_example():
    """contrib/example-driver built by its Makefile in a directory of its
    own: that directory holds push_driver_example.so."""
    sdk = installed()
    build = os.path.join(sdk["tmp"], "example")
    if not os.path.isdir(build):
        shutil.copytree(os.path.join(TOP, "contrib", "example-driver"), build)
        r = subprocess.run(["make", "-C", build], env=sdk["env"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "warning" not in r.stdout + r.stderr, r.stdout + r.stderr
        os.chmod(build, 0o755)
    module = os.path.join(build, "push_driver_example.so")
    exports = subprocess.run(["nm", "-D", "--defined-only", module],
                             capture_output=True, text=True).stdout.split()
    assert exports[-1] == "pushcore_driver_module", exports
    return build


def test_example_driver_receives_events_in_dovecot_and_pushadm():
    build = build_example()
    plugin = {"push_notification_driver": "example:events=MessageNew,MessageRead prefix=demo",
              "push_notification_module_dir": build}
    with Dovecot(**ours(plugin)) as d:
        d.lmtp_deliver(["alice"], make_message(subject="to the example"))
        line = d.wait_log(r"\(example\): demo: MessageNew ")
        assert 'mailbox="INBOX"' in line and 'subject="to the example"' in line, line
        i = d.imap("alice")
        i.select("INBOX")
        i.store("1", "+FLAGS", r"(\Seen)")
        i.logout()
        d.wait_log(r"\(example\): demo: MessageRead ")
        assert "FlagsSet" not in d.log()		# not asked for
        r = subprocess.run([PUSHADM, "-c", d.config, "driver", "list"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "example" in r.stdout, r.stdout + r.stderr
        assert "MessageNew,MessageRead" in r.stdout, r.stdout


BAD_ABI = """
#include <pushcore.h>
static int init(struct pushcore_driver_instance *inst, const char **error_r)
{ (void)error_r; pushcore_inst_set_events(inst, PUSHCORE_EVENT_MASK_ALL); return 0; }
static void process(struct pushcore_driver_instance *inst, struct pushcore_txn *txn,
		    void *ctx, const struct pushcore_event *ev)
{ (void)txn; (void)ctx; (void)ev; pushcore_driver_log(inst, PUSHCORE_LOG_ERROR, "must not run"); }
static const struct pushcore_driver drv = { .name = "badabi", .init = init, .process = process };
static const struct pushcore_driver *const drivers[] = { &drv, NULL };
PUSHCORE_DRIVER_MODULE_EXPORT const struct pushcore_driver_module pushcore_driver_module = {
	.abi_version = PUSHCORE_DRIVER_ABI_VERSION + 998, .drivers = drivers,
};
"""


def test_module_of_another_abi_version_is_refused_and_mail_delivered():
    sdk = installed()
    build = os.path.join(sdk["tmp"], "badabi")
    os.makedirs(build, exist_ok=True)
    os.chmod(build, 0o755)
    src = os.path.join(build, "badabi.c")
    with open(src, "w") as f:
        f.write(BAD_ABI)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "pushcore"], env=sdk["env"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-fPIC", "-shared", "-o", os.path.join(build, "push_driver_badabi.so"),
                    src] + flags, check=True, timeout=120)
    plugin = {"push_notification_driver": "badabi",
              "push_notification_module_dir": build}
    with Dovecot(**ours(plugin)) as d:
        d.lmtp_deliver(["alice"], make_message())
        line = d.wait_log(r"Error: .*push_driver_badabi\.so was built for driver ABI")
        assert "ABI 999, this libpushcore has ABI 1" in line, line
        assert "must not run" not in d.log()
        i = d.imap("alice")
        assert int(i.select("INBOX")[1][0]) == 1
        i.logout()
