"""The floor for bench/chat_latency.py: a bare Flask-SocketIO relay, no database, no auth.

Visitors emit ``message`` on /widget; the server forwards it to every agent on /inbox and
acknowledges. Whatever this costs, the helpdesk cannot beat it.
"""
import sys

mode = sys.argv[2] if len(sys.argv) > 2 else "threading"
if mode == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif mode == "gevent":
    from gevent import monkey

    monkey.patch_all()

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode=mode, cors_allowed_origins="*")
_next_id = [0]


@socketio.on("connect", namespace="/inbox")
def agent_connect(auth=None):
    join_room("agents")


@socketio.on("message", namespace="/widget")
def relay(data):
    _next_id[0] += 1
    message = {"id": _next_id[0], "body_text": data.get("body"), "client_id": data.get("client_id")}
    socketio.emit("message.created", {"message": message}, to="agents", namespace="/inbox")
    return {"ok": True, "message": message}


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True, log_output=False)
