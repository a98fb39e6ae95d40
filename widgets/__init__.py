"""The storefront chat widget and contact form."""


def init_app(app):
    from widgets import contact_form, proactive, sockets
    from widgets.views import bp

    sockets.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(proactive.bp)
    app.register_blueprint(contact_form.bp)
