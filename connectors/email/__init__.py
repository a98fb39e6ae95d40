"""Email channel: inbound (IMAP poller, raw MIME endpoint, Postmark/Mailgun/SendGrid
webhooks, all through ``parser.parse``), threading, loop protection, outbound SMTP."""


def init_app(app):
    """Mount the inbound endpoints and the mailbox admin API; add ``helpdesk email-poll``."""
    from connectors.email import admin, cli, views

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.cli.add_command(cli.email_poll)
