"""Where the freshly built tree is, and Dovecot arguments that load our
plugin from it (not from Dovecot's module directory)."""
import glob
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB_DIR = os.path.join(TOP, "lib", ".libs")
PUSHADM = os.path.join(TOP, "tools", "pushadm", "pushadm")
# the driver modules libtool built (push_driver_lua.so, push_driver_redis.so);
# configurations running the build tree point push_notification_module_dir
# here, not at the installed packages' directory
DRIVER_DIR = os.path.join(TOP, "lib", "drivers", ".libs")


def modules():
    """Every module the build produced (push_notify, and push_notify_lua once
    it is built)."""
    return sorted(glob.glob(os.path.join(TOP, "plugins", "*", ".libs", "lib*_plugin.so")))


def ours(plugin, mail_plugins="notify push_notify", **kwargs):
    """Keyword arguments for pushtest.Dovecot running our plugin (its driver
    modules from the build tree too)."""
    plugin = dict(plugin or {})
    plugin.setdefault("push_notification_module_dir", DRIVER_DIR)
    args = dict(mail_plugins=mail_plugins, plugin=plugin,
                extra_modules=modules(), env_library_path=LIB_DIR)
    args.update(kwargs)
    return args


def relay(dovecot, conf_lines=(), **kwargs):
    """A pushtest.Relay running the freshly built pushadm."""
    from pushtest import Relay
    return Relay(PUSHADM, dovecot, conf_lines, **kwargs)
