"""The IMAP poller against a real IMAP server: Debian's dovecot, started by the test on a
free loopback port with a passwd-file user and a maildir in a temporary folder."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from connectors.email import imap
from helpdesk.actions.email import update_mailbox
from helpdesk.extensions import db
from helpdesk.models import InboundEmail, Mailbox, MailboxFolder, Message, Ticket
from tests.conftest import free_port, need
from tests.connectors.email.conftest import eml
from workers.email_jobs import poll_all_mailboxes, poll_mailbox

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "support@shop.test", "imap pass 1"
#: A second account on the same server: the one an admin switches a mailbox to.
OTHER_USER, OTHER_PASSWORD = "orders@shop.test", "imap pass 2"


def _config(root, port):
    if os.geteuid() == 0:
        # Dovecot refuses to run its login and mail processes as root.
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:
        internal = login = mail_user = pwd.getpwuid(os.getuid()).pw_name
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def dovecot():
    """A dovecot serving USER on 127.0.0.1:<free port> until the module's tests end."""
    need(os.path.exists(DOVECOT), "dovecot (apt-get install dovecot-imapd)")
    root = tempfile.mkdtemp(prefix="helpdesk-dovecot-")
    port = free_port()
    for sub in ("run", "state", "mail", "home"):
        os.makedirs(os.path.join(root, sub))
    with open(os.path.join(root, "dovecot.conf"), "w") as fh:
        fh.write(_config(root, port))
    with open(os.path.join(root, "passwd"), "w") as fh:
        fh.write(f"{USER}:{{PLAIN}}{PASSWORD}\n{OTHER_USER}:{{PLAIN}}{OTHER_PASSWORD}\n")
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        entry = pwd.getpwnam("dovecot")
        for sub in ("mail", "home"):
            os.chown(os.path.join(root, sub), entry.pw_uid, entry.pw_gid)
    process = subprocess.Popen([DOVECOT, "-F", "-c", os.path.join(root, "dovecot.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        log = open(os.path.join(root, "dovecot.log")).read() if os.path.exists(os.path.join(root, "dovecot.log")) \
            else ""
        need(False, f"dovecot did not start: {process.stderr.read(2000)!r} {log[-2000:]}")
    try:
        yield {"host": "127.0.0.1", "port": port}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


def _emptied(dovecot, user, password):
    """A client of ``user`` on the test server with empty INBOX and Support folders."""
    client = IMAPClient(dovecot["host"], port=dovecot["port"], ssl=False, timeout=10)
    client.login(user, password)
    for folder in ("Support",):
        if client.folder_exists(folder):
            client.delete_folder(folder)
        client.create_folder(folder)
    client.select_folder("INBOX")
    uids = client.search(["ALL"])
    if uids:
        client.delete_messages(uids)
        client.expunge()
    return client


@pytest.fixture
def server(dovecot):
    """A client of the test server with empty INBOX and Support folders."""
    client = _emptied(dovecot, USER, PASSWORD)
    yield client
    client.logout()


@pytest.fixture
def other_server(dovecot):
    """The same, for the second account (OTHER_USER)."""
    client = _emptied(dovecot, OTHER_USER, OTHER_PASSWORD)
    yield client
    client.logout()


@pytest.fixture
def imap_mailbox(mailbox, dovecot):
    return update_mailbox(mailbox, imap_host=dovecot["host"], imap_port=dovecot["port"], imap_ssl=False,
                          imap_username=USER, imap_password=PASSWORD, imap_folders=["INBOX", "Support"])


def note(subject, sender="shopper@example.test", msgid=None):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, USER, subject
    msg["Date"] = "Fri, 8 Mar 2024 10:00:00 +0000"
    msg["Message-ID"] = msgid or f"<{subject.replace(' ', '-')}@example.test>"
    msg.set_content(f"About {subject}.")
    return msg.as_bytes()


def subjects():
    return sorted(db.session.scalars(select(Ticket.subject)).all())


def test_poller_imports_read_and_unread_mail_from_every_folder_once(server, imap_mailbox):
    server.append("INBOX", note("unread question"))
    server.append("INBOX", note("already read in Thunderbird"), flags=[b"\\Seen"])
    server.append("Support", eml("12-rfc2231-filename-pdf.eml"))
    counts = imap.poll(imap_mailbox)
    assert counts == {"created": 3}
    assert subjects() == ["Rechnung fehlt", "already read in Thunderbird", "unread question"]
    # Read-only: we did not mark anything as read for the people using the mailbox.
    server.select_folder("INBOX", readonly=True)
    flags = server.get_flags(server.search(["ALL"]))
    assert sorted(b"\\Seen" in f for f in flags.values()) == [False, True]

    assert imap.poll(db.session.get(Mailbox, imap_mailbox.id)) == {}
    server.append("INBOX", note("a second question"))
    assert imap.poll(db.session.get(Mailbox, imap_mailbox.id)) == {"created": 1}
    states = {s.name: s for s in db.session.scalars(select(MailboxFolder))}
    server.select_folder("INBOX", readonly=True)
    assert states["INBOX"].last_uid == max(server.search(["ALL"])) and states["INBOX"].uidvalidity
    assert states["Support"].last_uid == 1  # a fresh folder for this test


def count_commits():
    from sqlalchemy import event

    commits = []

    def committed(conn):
        commits.append(conn)

    event.listen(db.engine, "commit", committed)
    return commits, lambda: event.remove(db.engine, "commit", committed)


def test_what_one_fetch_brings_and_the_folders_progress_are_one_commit(server, imap_mailbox, monkeypatch):
    """The mail of one fetch and the folder's read-up-to mark are committed together: one
    commit per fetch (plus the poll's own), never the mail without the mark or the reverse."""
    server.append("INBOX", note("warm-up"))
    imap.poll(imap_mailbox)  # the folders' state rows exist from here on
    for subject in ("one", "two", "three"):
        server.append("INBOX", note(subject))
    server.append("INBOX", eml("34-malformed-no-from.eml"))
    commits, stop = count_commits()
    try:
        counts = imap.poll(db.session.get(Mailbox, imap_mailbox.id))
    finally:
        stop()
    assert counts == {"created": 3, "quarantined": 1}
    assert len(commits) == 1 + 1, len(commits)
    server.select_folder("INBOX", readonly=True)
    assert db.session.scalar(select(MailboxFolder.last_uid).where(MailboxFolder.name == "INBOX")) == max(
        server.search(["ALL"]))

    monkeypatch.setattr(imap, "FETCH_BATCH", 2)
    for subject in ("four", "five", "six"):
        server.append("INBOX", note(subject))
    commits, stop = count_commits()
    try:
        counts = imap.poll(db.session.get(Mailbox, imap_mailbox.id))
    finally:
        stop()
    assert counts == {"created": 3} and len(commits) == 2 + 1, len(commits)
    assert len(subjects()) == 7


def poisoned(monkeypatch, times=None):
    """Parsing raises, as a fault of ours would, for mail that says "poison" (``times``:
    only that often). Returns the calls seen."""
    import helpdesk.actions.email as email_actions

    real, calls = email_actions.parse, []

    def parse(raw, **kwargs):
        if b"poison" in raw:
            calls.append(raw)
            if times is None or len(calls) <= times:
                raise RuntimeError("out of memory")
        return real(raw, **kwargs)

    monkeypatch.setattr(email_actions, "parse", parse)
    return calls


def test_a_fetch_that_fails_is_imported_again_message_by_message(server, imap_mailbox, monkeypatch):
    """One message failing in the batch undoes the batch; then each message is its own
    transaction: the failing one is quarantined with the error, the others arrive once."""
    server.append("INBOX", note("before"))
    server.append("INBOX", note("poison pill"))
    server.append("INBOX", note("after"))
    calls = poisoned(monkeypatch)
    counts = imap.poll(imap_mailbox)
    assert counts == {"created": 2, "quarantined": 1} and len(calls) == 2
    assert subjects() == ["after", "before"]
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    (row,) = db.session.scalars(select(InboundEmail)).all()
    assert row.reason == "internal error: RuntimeError" and b"poison pill" in row.raw
    server.select_folder("INBOX", readonly=True)
    assert db.session.scalar(select(MailboxFolder.last_uid).where(MailboxFolder.name == "INBOX")) == max(
        server.search(["ALL"]))


def test_a_fetch_that_fails_once_loses_nothing(server, imap_mailbox, monkeypatch):
    server.append("INBOX", note("before"))
    server.append("INBOX", note("poison, but only once"))
    server.append("INBOX", note("after"))
    calls = poisoned(monkeypatch, times=1)
    assert imap.poll(imap_mailbox) == {"created": 3} and len(calls) == 2
    assert subjects() == ["after", "before", "poison, but only once"]
    assert db.session.scalar(select(func.count()).select_from(InboundEmail)) == 0


def test_a_uidvalidity_change_reads_the_folder_again_without_duplicates(server, imap_mailbox):
    server.append("Support", note("first"))
    imap.poll(imap_mailbox)
    before = db.session.scalar(select(MailboxFolder.uidvalidity).where(MailboxFolder.name == "Support"))
    # The folder is rebuilt (restored from a backup, migrated...): new UIDVALIDITY, same mail.
    server.delete_folder("Support")
    server.create_folder("Support")
    server.append("Support", note("first"))
    server.append("Support", note("second"))
    counts = imap.poll(db.session.get(Mailbox, imap_mailbox.id))
    assert counts == {"duplicate": 1, "created": 1}
    assert subjects() == ["first", "second"]
    assert db.session.scalar(select(MailboxFolder.uidvalidity).where(MailboxFolder.name == "Support")) != before


def test_one_bad_message_is_quarantined_and_the_rest_still_arrive(server, imap_mailbox):
    server.append("INBOX", note("before"))
    server.append("INBOX", eml("34-malformed-no-from.eml"))
    server.append("INBOX", eml("35-malformed-broken-base64.eml"))
    server.append("INBOX", note("after"))
    counts = imap.poll(imap_mailbox)
    assert counts == {"created": 3, "quarantined": 1}
    (row,) = db.session.scalars(select(InboundEmail)).all()
    assert row.status == "quarantined" and row.reason == "no sender address (From)" and row.raw
    server.select_folder("INBOX", readonly=True)
    newest = max(server.search(["ALL"]))
    assert db.session.scalar(select(MailboxFolder.last_uid).where(MailboxFolder.name == "INBOX")) == newest


def test_an_oversized_message_is_refused_with_a_logged_reason(server, imap_mailbox, monkeypatch, caplog):
    monkeypatch.setattr(imap, "MAX_EMAIL_BYTES", 400)
    server.append("INBOX", note("small"))
    server.append("INBOX", note("big " + "x" * 50) + b"y" * 1000)
    counts = imap.poll(imap_mailbox)
    assert counts == {"created": 1, "quarantined": 1}
    (row,) = db.session.scalars(select(InboundEmail)).all()
    assert "byte limit" in row.reason and row.raw is None
    assert any("too large" in r.getMessage() for r in caplog.records)


def test_the_polling_jobs_and_a_wrong_password(server, imap_mailbox):
    server.append("INBOX", note("via the job"))
    assert poll_all_mailboxes() == 1  # enqueues poll_mailbox, which runs at once in sync mode
    assert subjects() == ["via the job"]
    update_mailbox(imap_mailbox, imap_password="wrong")
    assert poll_mailbox(imap_mailbox.id) is None
    mailbox = db.session.get(Mailbox, imap_mailbox.id)
    assert mailbox.last_error and db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_idle_imports_new_mail_as_it_arrives(app, server, imap_mailbox):
    import threading

    stop = threading.Event()
    mailbox_id = imap_mailbox.id

    def run():
        with app.app_context():
            imap.watch(mailbox_id, stop, poll_seconds=30)

    watcher = threading.Thread(target=run, daemon=True)
    watcher.start()
    try:
        assert server.has_capability("IDLE")
        time.sleep(1.5)  # the watcher has polled and sits in IDLE now
        server.append("INBOX", note("arrived while idling"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.expire_all()
            if subjects() == ["arrived while idling"]:
                break
            time.sleep(0.2)
        assert subjects() == ["arrived while idling"]
    finally:
        stop.set()
        watcher.join(10)
    assert not watcher.is_alive()


@pytest.mark.parametrize("change", ["inactive", "password removed", "mailbox removed"])
def test_a_watch_ends_when_its_mailbox_is_no_longer_polled(app, server, imap_mailbox, monkeypatch, change):
    """An admin who makes the mailbox inactive, removes its password or removes it stops the
    watch within RECHECK_SECONDS, even while it sits in IDLE with no new mail; the polling
    job does not log in either."""
    import threading

    from helpdesk.actions.email import delete_mailbox

    monkeypatch.setattr(imap, "RECHECK_SECONDS", 1)
    stop = threading.Event()
    mailbox_id = imap_mailbox.id

    def run():
        with app.app_context():
            imap.watch(mailbox_id, stop, poll_seconds=30)

    server.append("INBOX", note("before the change"))
    watcher = threading.Thread(target=run, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while subjects() != ["before the change"] and time.monotonic() < deadline:
            time.sleep(0.2)
            db.session.expire_all()
        assert subjects() == ["before the change"]
        time.sleep(0.5)  # polled: now in IDLE
        mailbox = db.session.get(Mailbox, mailbox_id)
        if change == "inactive":
            update_mailbox(mailbox, active=False)
        elif change == "password removed":
            update_mailbox(mailbox, imap_password=None)
        else:
            delete_mailbox(mailbox)
        watcher.join(10)
        assert not watcher.is_alive()
    finally:
        stop.set()
        watcher.join(10)
    server.append("INBOX", note("after the change"))
    assert poll_mailbox(mailbox_id) is None
    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox_id)
    assert mailbox is None or mailbox.last_error is None  # it did not even try to log in
    assert subjects() == ["before the change"]


@contextmanager
def watching(app, mailbox_id, **kwargs):
    """``imap.watch`` of the mailbox in a thread of its own for the ``with`` block."""
    stop = threading.Event()

    def run():
        with app.app_context():
            imap.watch(mailbox_id, stop, **kwargs)

    watcher = threading.Thread(target=run, daemon=True)
    watcher.start()
    try:
        yield watcher
    finally:
        stop.set()
        watcher.join(10)
    assert not watcher.is_alive()


def arrived(expected, timeout=10):
    """The tickets' subjects once they are ``expected`` (or the timeout has passed)."""
    deadline = time.monotonic() + timeout
    while subjects() != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        db.session.expire_all()
    return subjects()


def test_a_watch_logs_in_again_when_the_mailbox_names_another_account(app, server, other_server, imap_mailbox):
    """An admin points the mailbox at another user (and its password) while the watch sits in
    IDLE on the first account: within the recheck interval it reads the new account, and
    idles there (new mail of the new account arrives at once, the old account's no more)."""
    update_mailbox(imap_mailbox, imap_folders=["INBOX"])
    mailbox_id = imap_mailbox.id
    server.append("INBOX", note("before the change"))
    with watching(app, mailbox_id, poll_seconds=30, recheck_seconds=1):
        assert arrived(["before the change"]) == ["before the change"]
        other_server.append("INBOX", note("waiting for orders"))
        time.sleep(1.5)  # idling on the old account, which has nothing new
        assert subjects() == ["before the change"]
        update_mailbox(db.session.get(Mailbox, mailbox_id), imap_username=OTHER_USER, imap_password=OTHER_PASSWORD)
        assert arrived(["before the change", "waiting for orders"]) == ["before the change", "waiting for orders"]
        time.sleep(0.5)  # polled the new account: now in IDLE there
        server.append("INBOX", note("to the old account"))
        other_server.append("INBOX", note("new for orders"))
        expected = ["before the change", "new for orders", "waiting for orders"]
        assert arrived(expected) == expected
    assert db.session.scalar(select(func.count()).select_from(Message)) == 3
    assert db.session.get(Mailbox, mailbox_id).last_error is None


def test_a_watch_reads_changed_folders_at_once(app, server, imap_mailbox):
    """Folders changed while the watch idles on INBOX: it polls the new list within the
    recheck interval and idles on the new first folder; the same connection serves."""
    update_mailbox(imap_mailbox, imap_folders=["INBOX"])
    mailbox_id = imap_mailbox.id
    server.append("INBOX", note("in the inbox"))
    with watching(app, mailbox_id, poll_seconds=30, recheck_seconds=1):
        assert arrived(["in the inbox"]) == ["in the inbox"]
        server.append("Support", note("filed under support"))
        time.sleep(1.5)
        assert subjects() == ["in the inbox"]  # not a folder of the mailbox yet
        update_mailbox(db.session.get(Mailbox, mailbox_id), imap_folders=["Support", "INBOX"])
        assert arrived(["filed under support", "in the inbox"]) == ["filed under support", "in the inbox"]
        time.sleep(0.5)  # now in IDLE on Support
        server.append("Support", note("support again"))
        expected = ["filed under support", "in the inbox", "support again"]
        assert arrived(expected) == expected
    assert db.session.scalar(select(func.count()).select_from(Message)) == 3


def test_a_watch_logs_in_with_a_changed_password(app, server, imap_mailbox):
    """A wrong new password shows on the mailbox within the recheck interval (the watch does
    not go on reading with the old login); the right one brings the mail again."""
    mailbox_id = imap_mailbox.id
    server.append("INBOX", note("before the change"))
    with watching(app, mailbox_id, poll_seconds=1, recheck_seconds=1):
        assert arrived(["before the change"]) == ["before the change"]
        update_mailbox(db.session.get(Mailbox, mailbox_id), imap_password="a typo")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.get(Mailbox, mailbox_id).last_error:
                break
            time.sleep(0.2)
        assert "AUTHENTICATIONFAILED" in (db.session.get(Mailbox, mailbox_id).last_error or "")
        server.append("INBOX", note("while the password was wrong"))
        update_mailbox(db.session.get(Mailbox, mailbox_id), imap_password=PASSWORD)
        expected = ["before the change", "while the password was wrong"]
        assert arrived(expected) == expected
    db.session.expire_all()
    assert db.session.get(Mailbox, mailbox_id).last_error is None


def test_another_account_is_read_from_its_start_and_nothing_twice(server, other_server, imap_mailbox):
    """Read marks are UIDs of one account's folders: naming another user drops them, even
    when its INBOX has the same UIDVALIDITY as the old one's (accounts made in the same
    second on Dovecot); a new password keeps them. Going back to the first account reads it
    again without storing anything twice."""
    for subject in ("first", "second", "third"):
        server.append("INBOX", note(subject))
    assert imap.poll(imap_mailbox) == {"created": 3}
    other_server.append("INBOX", note("for orders"))
    other_validity = other_server.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    inbox = db.session.scalar(select(MailboxFolder).where(MailboxFolder.name == "INBOX"))
    # As if both INBOXes had been made in the same second, and the first had had more mail.
    inbox.uidvalidity, inbox.last_uid = other_validity, 10_000
    db.session.commit()

    mailbox = update_mailbox(db.session.get(Mailbox, imap_mailbox.id), imap_password="rotated")
    inbox = db.session.scalar(select(MailboxFolder).where(MailboxFolder.name == "INBOX"))
    assert (inbox.uidvalidity, inbox.last_uid) == (other_validity, 10_000)  # the same account: kept

    update_mailbox(mailbox, imap_username=OTHER_USER, imap_password=OTHER_PASSWORD)
    assert imap.poll(db.session.get(Mailbox, imap_mailbox.id)) == {"created": 1}
    assert subjects() == ["first", "for orders", "second", "third"]

    update_mailbox(db.session.get(Mailbox, imap_mailbox.id), imap_username=USER, imap_password=PASSWORD)
    assert imap.poll(db.session.get(Mailbox, imap_mailbox.id)) == {"duplicate": 3}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 4
