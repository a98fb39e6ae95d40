"""The ``helpdesk`` console script.

The only module that may monkey-patch: ``helpdesk serve`` on eventlet (the default) or
gevent patches the standard library before Flask, SQLAlchemy or redis are imported.
Everything else in the project runs unpatched (threading mode keeps working), since
eventlet is deprecated upstream.
"""
import os
import sys
import warnings


def _serve_async_mode(argv):
    if not argv or argv[0] != "serve":
        return None
    mode = os.environ.get("SOCKETIO_ASYNC_MODE") or "eventlet"
    for i, arg in enumerate(argv):
        if arg == "--async-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--async-mode="):
            mode = arg.split("=", 1)[1]
    return mode


def patch(mode):
    """Make the standard library cooperative for ``mode`` (eventlet or gevent; anything else:
    nothing), and give ``helpdesk.offload`` a runner that computes off the event loop."""
    from helpdesk import offload

    if mode == "eventlet":
        # The deprecation is known and accepted (see the design guide); do not greet every
        # start with it.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
        from eventlet import tpool

        offload.use(tpool.execute)
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import gevent

        offload.use(lambda fn, *args: gevent.get_hub().threadpool.apply(fn, args))
    else:
        return
    try:  # psycopg2 waits cooperatively instead of blocking the hub
        import importlib

        importlib.import_module(f"psycogreen.{mode}").patch_psycopg()
    except ImportError:
        pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    mode = _serve_async_mode(argv)
    patch(mode)
    if mode:
        os.environ["SOCKETIO_ASYNC_MODE"] = mode
    from helpdesk.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
