"""Commands: ``helpdesk serve|worker|db upgrade|create-agent|seed-demo`` (also under
``flask --app wsgi``)."""
import logging
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

log = logging.getLogger(__name__)

ASYNC_MODES = ("eventlet", "gevent", "threading")


def upgrade_database():
    """Create or migrate the schema to the newest revision."""
    from flask_migrate import upgrade

    from helpdesk import logs

    with logs.preserved():  # alembic's env.py reconfigures logging
        upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
@click.option("--async-mode", type=click.Choice(ASYNC_MODES), default=None,
              help="Socket.IO server mode (default: SOCKETIO_ASYNC_MODE or eventlet).")
@click.option("--no-seed", is_flag=True, help="Do not create the demo store on first run.")
@with_appcontext
def serve_command(host, port, async_mode, no_seed):
    """Migrate the database, seed the demo store on first run, and serve."""
    from helpdesk.extensions import socketio
    from helpdesk.seed import seed_demo

    upgrade_database()
    app = current_app._get_current_object()
    if async_mode and async_mode != socketio.async_mode:
        raise click.ClickException(
            f"This process runs Socket.IO in {socketio.async_mode} mode; start it with "
            f"`helpdesk serve --async-mode {async_mode}` or set SOCKETIO_ASYNC_MODE={async_mode}.")
    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    if not no_seed:
        store, admin, password = seed_demo()
        click.echo("")
        click.echo(f"  Inbox:           {base}/inbox")
        click.echo(f"  Demo storefront: {base}/demo")
        if password:
            click.echo(f"  Agent login:     {admin.email} / {password}")
        else:
            click.echo(f"  Agent login:     {admin.email} (password printed on first run; "
                       "`helpdesk create-agent` makes another)")
        click.echo("")
    if app.config["JOBS_MODE"] == "thread":
        _start_sweeper(app)
    # Load the message language model before the first shopper writes, not during their
    # message (it takes most of a second).
    from helpdesk.i18n import detect_language

    detect_language("warming up the language model")
    # Flask's app.run() (threading mode) refuses to start under a `flask` CLI command;
    # this command is the server, so lift that guard.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    _tune_garbage_collector(socketio)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=False,
                 use_reloader=False, debug=False)


#: Seconds between the server's full garbage collections (see _tune_garbage_collector).
FULL_COLLECTION_SECONDS = 60


def _tune_garbage_collector(socketio):
    """Keep full garbage collections off the chat's latency path.

    Everything loaded so far lives as long as the process: it is frozen out of the
    collector's generations. A full pass over what remains (a few hundred open connections)
    still stops the server's one event loop for 10-20 ms, and under chat load the
    interpreter starts one every second or two: that is the 99th-percentile message
    delay. Young garbage (nearly all of it: each event's request context, session and
    result objects) is still collected by the frequent cheap passes; the full pass runs on
    a timer instead, once a minute, so memory held in old reference cycles stays bounded.
    """
    import gc

    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000_000)  # full passes only from the timer below

    def collect_periodically():
        while True:
            socketio.sleep(FULL_COLLECTION_SECONDS)
            gc.collect()

    socketio.start_background_task(collect_periodically)


def _start_sweeper(app):
    """In-process mode has no rq worker: a background task sweeps the outbox."""
    from helpdesk.extensions import socketio
    from workers import outbox
    from workers.worker import start_sweeper

    start_sweeper(app, outbox.SWEEP_INTERVAL, sleep=socketio.sleep, spawn=socketio.start_background_task)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.option("--no-fork", is_flag=True, help="Run jobs in this process instead of a forked child per job.")
def worker_command(burst, no_fork):
    """Run an rq worker (with its scheduler) and the periodic outbox sweep."""
    from helpdesk import create_app

    # A worker serves nothing: its app emits Socket.IO events through Redis, write-only.
    app = create_app(main=False)
    url = app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inside `helpdesk serve`.")
    from redis import Redis

    from workers import outbox
    from workers.worker import make_worker, start_sweeper, sweep_once

    connection = Redis.from_url(url)
    from helpdesk.i18n import detect_language

    # Loaded once here, inherited by every forked job (email intake detects languages).
    detect_language("warming up the language model")
    sweep_once(app)  # rows left behind while no worker ran
    if not burst:
        start_sweeper(app, outbox.SWEEP_INTERVAL)
    worker = make_worker(app, connection, fork=not no_fork and hasattr(os, "fork"))
    worker.work(with_scheduler=True, burst=burst)


@click.command("create-agent")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Give the agent the admin role.")
@with_appcontext
def create_agent_command(email, name, password, admin):
    """Create an agent account."""
    from helpdesk.actions import ActionError
    from helpdesk.actions.agents import create_agent

    try:
        agent = create_agent(email, name, password, role="admin" if admin else "agent")
    except ActionError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created {agent.role} {agent.email} (id {agent.id}).")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo store, its products and an admin agent (if missing)."""
    from helpdesk.seed import seed_demo

    store, admin, password = seed_demo()
    click.echo(f"Demo store '{store.name}' (widget key {store.widget_key}).")
    if password:
        click.echo(f"Agent login: {admin.email} / {password}")


def init_app(app):
    for command in (serve_command, worker_command, create_agent_command, seed_demo_command):
        app.cli.add_command(command)


def _create_cli_app():
    from helpdesk import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_cli_app, add_default_commands=True, add_version_option=False,
                 help="Helpdesk: serve, run workers, manage the database and agents.")


def main(argv=None):
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="helpdesk")
