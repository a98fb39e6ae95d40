"""The agents' shared inbox: the queue page, its JSON helpers, the /inbox Socket.IO namespace."""


def init_app(app):
    from flask import redirect, url_for

    from inbox import reports, sockets
    from inbox.views import bp

    sockets.init_app(app)
    app.register_blueprint(bp)
    from inbox import academy

    app.register_blueprint(academy.bp)
    app.register_blueprint(reports.bp)
    from inbox import appointments, profile

    app.register_blueprint(appointments.bp)
    app.register_blueprint(profile.bp)
    from inbox import automation_rules, store_settings

    app.register_blueprint(store_settings.bp)
    app.register_blueprint(automation_rules.bp)
    from inbox import settings_mail, settings_team

    app.register_blueprint(settings_mail.bp)
    app.register_blueprint(settings_team.bp)

    @app.route("/")
    def _root():
        return redirect(url_for("inbox.index"))
