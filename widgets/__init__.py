"""The storefront chat widget, contact form and the rating page of email customers."""


def init_app(app):
    from widgets import contact_form, email_rating, proactive, sockets
    from widgets.views import bp

    sockets.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(proactive.bp)
    app.register_blueprint(contact_form.bp)
    app.register_blueprint(email_rating.bp)
