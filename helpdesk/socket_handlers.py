"""What the agents' (/inbox) and visitors' (/widget) Socket.IO namespaces share: every
handler answers through the acknowledgement, ``{"ok": true, ...}`` or
``{"ok": false, "error": {"message", "field", "status"}}``, and an ActionError never
escapes as a dropped event."""
from flask_babel import gettext as _

from helpdesk import i18n
from helpdesk.actions import ActionError
from helpdesk.extensions import db, socketio
from helpdesk.text import has_lone_surrogate


#: Ids are 64-bit: a larger number (JSON has no limit) would overflow the database driver.
MAX_ID = 2**63 - 1


def is_id(value):
    """A message, ticket or attachment id as JSON can carry one: an int (True is one in
    Python, and SQL refuses it in a comparison) in the database's range."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def error(message, field=None, status=400):
    return {"ok": False, "error": {"message": message, "field": field, "status": status}}


def handler_factory(namespace, resolve, gone_message, language=None):
    """A ``handler(event)`` decorator for ``namespace``: ``resolve(data)`` finds who is on
    this connection (None: answer 401 with ``gone_message``, a lazy_gettext string); the
    event's ``data`` is passed so the lookup can read along what the event needs; the handler
    gets them and the event's data (always a dict). ``language(who)``: the language their
    answers are in (a shopper's is the store's choice, not the browser's)."""

    default_resolve = resolve

    def handler(event, resolve=None):
        """``resolve``: this event's own lookup instead of the namespace's (one that reads
        along what only this event needs)."""
        find = resolve or default_resolve

        def register(fn):
            def wrapped(data=None, *extra):
                # Lone surrogates ("\ud800") cannot be encoded as UTF-8 for the database:
                # refused before resolve(), whose lookup already reads the data. An event
                # with more than one argument would otherwise fail before any answer.
                if extra or has_lone_surrogate(data):
                    return error(_("Malformed request."))
                who = find(data)
                if who is None:
                    return error(str(gone_message), status=401)
                if language is not None:
                    i18n.use_locale(language(who))
                if data is not None and not isinstance(data, dict):
                    return error(_("Malformed request."))
                try:
                    return fn(who, data or {})
                except ActionError as exc:
                    db.session.rollback()
                    return error(exc.message, exc.field, exc.status)

            socketio.on_event(event, wrapped, namespace=namespace)
            return fn

        return register

    return handler
