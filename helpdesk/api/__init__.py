"""REST API v1: JSON over /api/v1, authenticated by Bearer token or the inbox session.

Views are thin: authenticate (auth.py), load input with a schema from helpdesk.schemas
(errors.py), check store access (access.py), call one action, dump with the output schema.
Nothing here writes a model or emits an event; the actions do both, after commit.
The OpenAPI document is served at /api/v1/openapi.json (openapi.py).
"""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes and hooks register themselves on ``bp`` when imported.
from helpdesk.api import auth, errors  # noqa: E402

auth.init_blueprint(bp)
errors.register(bp)

from helpdesk.api import agents, commerce, contacts, messages, openapi, reports, saved_replies, tickets  # noqa: E402,F401,I001
from helpdesk.api import academy  # noqa: E402,F401,I001
from helpdesk.api import insights, posts  # noqa: E402,F401,I001
from helpdesk.api import languages  # noqa: E402,F401
from helpdesk.api import locations  # noqa: E402,F401,I001
from helpdesk.api import appointments  # noqa: E402,F401,I001
from helpdesk.api import stores  # noqa: E402,F401
from helpdesk.api import automation  # noqa: E402,F401,I001
