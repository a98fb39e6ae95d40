"""The agents' shared inbox."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.route("/")
@login_required
def index():
    return render_template("inbox/index.html")


def init_app(app):
    from inbox import sockets

    sockets.init_app(app)
    app.register_blueprint(bp)

    @app.route("/")
    def _root():
        from flask import redirect, url_for

        return redirect(url_for("inbox.index"))
