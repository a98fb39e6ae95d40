"""The storefront chat widget and contact form."""


def init_app(app):
    pass
