"""Helpdesk: one queue for every conversation an e-commerce support team has.

Importing the package stays cheap and side-effect free: the server entry point may
need to monkey-patch (eventlet) before Flask and friends are imported.
"""


def create_app(*args, **kwargs):
    from helpdesk.app import create_app as _create_app

    return _create_app(*args, **kwargs)
