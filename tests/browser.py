"""Real Chromium through Playwright (Debian's /usr/bin/chromium; never a downloaded browser).

The ``chromium`` fixture lives in tests/conftest.py: one Playwright per test session."""
import os
import re

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]
ARTIFACTS = os.environ.get("TEST_ARTIFACTS", os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                                          "test-artifacts"))

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1366, "height": 900}


def screenshot(page, name):
    """Keep a screenshot as a test artifact (test-artifacts/ by default)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    page.screenshot(path=path, full_page=False)
    return path


def placeholder_room(field):
    """``(placeholder, room, need)`` of a text ``field`` (a Locator): the width its box leaves
    for text and the width its placeholder takes in its font. A cut hint has need > room."""
    return field.evaluate("""input => {
        const style = getComputedStyle(input), ctx = document.createElement('canvas').getContext('2d');
        ctx.font = `${style.fontSize} ${style.fontFamily}`;
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return [input.placeholder, input.clientWidth - padding, ctx.measureText(input.placeholder).width];
      }""")


def serious_violations(page_or_frame):
    """axe-core's serious and critical findings on the page (WCAG 2 A/AA and best practice)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page_or_frame, options={"runOnly": ["wcag2a", "wcag2aa", "best-practice"],
                                       "resultTypes": ["violations"]})
    return [f"{v['id']}: " + ", ".join(" ".join(n["target"]) for n in v["nodes"])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


class HeldEvents:
    """Socket.IO events of one name that the server sent to a page, held back instead of
    delivered: ``held`` lists the raw frames, ``deliver(*frames)`` sends frames to the page
    (late, or again as a reconnect's replay would)."""

    def __init__(self, page, event):
        self.held, self._sockets, self._marker = [], [], f'"{event}"'
        page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, ws):
        server = ws.connect_to_server()
        self._sockets.append(ws)

        def from_server(data):
            if isinstance(data, str) and self._marker in data:
                self.held.append(data)
            else:
                ws.send(data)
        server.on_message(from_server)
        ws.on_message(lambda data: server.send(data))

    def deliver(self, *frames):
        for data in frames:
            self._sockets[-1].send(data)


def hold_events(page, event):
    """Reload ``page`` (signed in to the inbox) with ``event`` held back: a ``HeldEvents``."""
    held = HeldEvents(page, event)
    page.reload()
    page.wait_for_function("document.body.dataset.connected === 'true'", timeout=10_000)
    return held
