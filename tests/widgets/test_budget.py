"""The widget's size budgets (issue 3): loader ≤ 3 KB gzipped; everything the open widget
loads — frame HTML, panel script and styles, the Socket.IO client — ≤ 30 KB gzipped."""
import importlib.util
import os

from helpdesk.seed import seed_demo

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "widget_size.py")
_spec = importlib.util.spec_from_file_location("widget_size", _PATH)
widget_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(widget_size)


def _measure(client):
    store, _admin, _pw = seed_demo()
    return widget_size.measure(client, store.widget_key)


def test_loader_is_at_most_3_kb_gzipped(client):
    loader, _opened = _measure(client)
    (raw, packed), = loader.values()
    assert packed <= 3072, f"loader.js is {packed} B gzipped"


def test_open_widget_is_at_most_30_kb_gzipped_with_the_socketio_client(client):
    _loader, opened = _measure(client)
    assert {"/widget/frame", "/static/widget/panel.js", "/static/widget/panel.css",
            "/static/widget/vendor/socket.io.min.js"} <= set(opened)
    total = sum(packed for _raw, packed in opened.values())
    assert total <= 30720, {path: packed for path, (_raw, packed) in opened.items()}


def test_vendored_socketio_client_is_the_official_v4_build_with_its_license():
    path = os.path.join(os.path.dirname(_PATH), "..", "static", "widget", "vendor", "socket.io.min.js")
    with open(path, encoding="utf-8") as fh:
        head = fh.read(200)
    assert head.startswith("/*!\n * Socket.IO v4.") and "MIT License" in head
