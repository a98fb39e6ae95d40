"""Work that holds the processor for tens of milliseconds inside C code that lets go of the
GIL (password hashing, Pillow's decoding and resizing): run where it does not stop the
server's event loop.

Under eventlet or gevent every request, Socket.IO event and live chat of the process shares
one OS thread. A password check (scrypt: about 100 ms of processor) made there stops them
all for that long: each agent signing in, and every wrong password an attacker sends,
would freeze every chat. ``helpdesk.entry`` -- the only module that knows the server mode
-- hands a runner here that executes the call in a native thread and lets the loop go on
meanwhile. A function given here must not need the app context (it may run on another
thread). Everywhere else (threading mode, workers, tests, commands) the call simply runs
where it is.
"""
_runner = None


def use(runner):
    """``runner(fn, *args)``: returns ``fn(*args)`` computed off the event loop (None: here)."""
    global _runner
    _runner = runner


def run(fn, *args):
    """``fn(*args)``, off the event loop when the server has one."""
    if _runner is None:
        return fn(*args)
    return _runner(fn, *args)
