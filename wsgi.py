"""WSGI entry: ``flask --app wsgi ...`` and production servers import ``app`` from here."""
from helpdesk import create_app

app = create_app()
