"""Widget size budget: gzip sizes of the loader and of everything the open widget loads.

    python bench/widget_size.py [--level 9]

"Everything the open widget loads" is the rendered chat frame (/widget/frame) plus every
script and stylesheet it references, found by reading the frame HTML (so a new file is
counted without editing this list). Each file is gzipped on its own, as a server sends it.
The last line is machine-readable: ``loader_gz=… open_gz=… loader_budget=… open_budget=…``.
"""
import argparse
import gzip
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: The issue's budgets, in gzipped bytes.
LOADER_BUDGET = 3 * 1024
OPEN_BUDGET = 30 * 1024

_ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')


def gz(data, level=9):
    return len(gzip.compress(data, compresslevel=level, mtime=0))


def measure(client, widget_key, level=9):
    """{path: (raw bytes, gzipped bytes)} for the loader and for the open widget's files."""
    loader = client.get("/widget/loader.js").data
    frame = client.get(f"/widget/frame?key={widget_key}&origin=https://shop.example")
    assert frame.status_code == 200, frame.status_code
    opened = {"/widget/frame": frame.data}
    for url in _ASSET.findall(frame.get_data(as_text=True)):
        resp = client.get(url)
        assert resp.status_code == 200, url
        opened[url.split("?")[0]] = resp.data
        resp.close()
    return ({"/widget/loader.js": (len(loader), gz(loader, level))},
            {path: (len(data), gz(data, level)) for path, data in opened.items()})


def _app():
    os.environ.setdefault("HELPDESK_INSTANCE_PATH", tempfile.mkdtemp(prefix="widget-size-"))
    from helpdesk import create_app

    return create_app({"HELPDESK_ENV": "testing", "DATABASE_URL": "sqlite://", "REDIS_URL": None,
                       "JOBS_MODE": "sync"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=9, help="gzip level (default 9)")
    args = parser.parse_args(argv)
    app = _app()
    from helpdesk.extensions import db
    from helpdesk.seed import seed_demo

    with app.app_context():
        db.create_all()
        store, _admin, _pw = seed_demo()
        loader, opened = measure(app.test_client(), store.widget_key, args.level)
    loader_gz = sum(g for _raw, g in loader.values())
    open_gz = sum(g for _raw, g in opened.values())
    for title, files in (("loader", loader), ("open widget", opened)):
        print(f"{title}:")
        for path, (raw, packed) in files.items():
            print(f"  {path:45} {raw:7d} B  {packed:6d} B gzip")
    print(f"loader      {loader_gz:6d} B gzip  (budget {LOADER_BUDGET})  {'ok' if loader_gz <= LOADER_BUDGET else 'OVER'}")
    print(f"open widget {open_gz:6d} B gzip  (budget {OPEN_BUDGET})  {'ok' if open_gz <= OPEN_BUDGET else 'OVER'}")
    print(f"loader_gz={loader_gz} open_gz={open_gz} loader_budget={LOADER_BUDGET} open_budget={OPEN_BUDGET}")
    return 0 if loader_gz <= LOADER_BUDGET and open_gz <= OPEN_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
