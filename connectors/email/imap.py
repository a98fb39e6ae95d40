"""The IMAP poller: reads every folder of a mailbox by UID, never by \\Seen.

Per folder we keep UIDVALIDITY and the last UID imported. Mail read in another client is
still imported (the folder is opened read-only and fetched with BODY.PEEK, so we change
no flags either); a UIDVALIDITY change re-reads the folder and deduplication (Message-ID +
sender + date) keeps anything from being stored twice. What one fetch brings is imported
in one transaction with the folder's mark; when that fails, message by message, so one bad
message is quarantined and the next one goes on.
"""
import logging
import socket
import time

from imapclient import IMAPClient
from sqlalchemy import bindparam, select, update

from connectors.email.parser import MAX_EMAIL_BYTES
from helpdesk.extensions import db
from helpdesk.models import MailboxFolder, utcnow
from helpdesk.prepared import prepare

log = logging.getLogger(__name__)

#: Messages fetched per round trip.
FETCH_BATCH = 25
TIMEOUT = 30


def connect(mailbox):
    client = IMAPClient(mailbox.imap_host, port=mailbox.imap_port or (993 if mailbox.imap_ssl else 143),
                        ssl=bool(mailbox.imap_ssl), timeout=TIMEOUT)
    client.login(mailbox.imap_username, mailbox.imap_password or "")
    return client


_FOLDERS = MailboxFolder.__table__
_READ_UP_TO = prepare(update(_FOLDERS).where(_FOLDERS.c.id == bindparam("folder_id"))
                      .values(last_uid=bindparam("uid"), last_synced_at=bindparam("at")))


def read_up_to(folder_id, uid):
    """Mark the folder read up to ``uid`` in the current transaction: the one that imports
    the mail up to ``uid``, so the mail and the mark land together (a crash between two
    commits can never leave one without the other). One UPDATE by key: through the ORM the
    folder's row, expired by the previous message's commit, would be read back first."""
    db.session.execute(_READ_UP_TO, {"folder_id": folder_id, "uid": uid, "at": utcnow()})


def _folder_state(mailbox, name):
    state = db.session.scalar(select(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox.id,
                                                         MailboxFolder.name == name))
    if state is None:
        state = MailboxFolder(mailbox_id=mailbox.id, name=name, last_uid=0)
        db.session.add(state)
        db.session.commit()
    return state


def poll(mailbox, client=None):
    """Import what is new in every folder of ``mailbox``. Returns counts by outcome."""
    from helpdesk.actions.email import mailbox_session

    counts = {}
    own = client is None
    try:
        client = client or connect(mailbox)
        with mailbox_session(mailbox):
            _poll_folders(mailbox, client, counts)
        mailbox.last_polled_at, mailbox.last_error = utcnow(), None
        db.session.commit()
    except (OSError, socket.timeout, IMAPClient.Error) as exc:
        _record_error(mailbox, exc)
        raise
    finally:
        if own and client is not None:
            try:
                client.logout()
            except Exception:  # noqa: BLE001
                pass
    return counts


def _record_error(mailbox, exc):
    """Show the admin why the server cannot be read (cleared by the next good poll)."""
    db.session.rollback()
    mailbox.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    db.session.commit()


def _poll_folders(mailbox, client, counts):
    from helpdesk.actions.email import Fetched

    for folder in mailbox.imap_folders or ["INBOX"]:
        info = client.select_folder(folder, readonly=True)
        uidvalidity = int(info.get(b"UIDVALIDITY") or 0)
        state = _folder_state(mailbox, folder)
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                log.warning("UIDVALIDITY changed; reading the folder again",
                            extra={"mailbox_id": mailbox.id, "folder": folder})
            state.uidvalidity, state.last_uid = uidvalidity, 0
            db.session.commit()
        last, folder_id = int(state.last_uid or 0), state.id
        # "n:*" always matches the highest UID, even when it is below n: filter.
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            small = [u for u in batch if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= MAX_EMAIL_BYTES]
            bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            fetched = []
            for uid in batch:
                item = Fetched(delivery_key=f"imap:{folder}:{uidvalidity}:{uid}")
                if uid in small:
                    item.raw = (bodies.get(uid) or {}).get(b"BODY[]") or b""
                else:
                    size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                    log.warning("inbound email refused: too large",
                                extra={"mailbox_id": mailbox.id, "uid": uid, "size": size})
                    item.refused = (f"message of {size} bytes is over the {MAX_EMAIL_BYTES} byte limit "
                                    "(left on the server)")
                fetched.append((uid, item))
            for intake in import_fetched(mailbox, folder_id, fetched):
                counts[intake.outcome] = counts.get(intake.outcome, 0) + 1


def import_fetched(mailbox, folder_id, fetched):
    """Import ``[(uid, Fetched)]`` of one folder, in UID order, and mark the folder read up
    to the last: all in one transaction (``ingest_batch``), or, when anything fails in it,
    one transaction per message, each with its own mark, so that a message failing on its
    own is quarantined with the error and the rest still arrive. Returns their ``Intake``."""
    from helpdesk.actions.email import ingest_batch, ingest_email, quarantine

    if not fetched:
        return []
    last_uid = fetched[-1][0]
    try:
        return ingest_batch(mailbox, [item for _uid, item in fetched], source="imap",
                            with_intake=lambda: read_up_to(folder_id, last_uid))
    except Exception:  # noqa: BLE001 -- rolled back; each message again on its own
        db.session.rollback()
        log.info("inbound batch failed; importing its messages one by one",
                 extra={"mailbox_id": mailbox.id, "messages": len(fetched)}, exc_info=True)
    intakes = []
    for uid, item in fetched:
        def mark(uid=uid):
            read_up_to(folder_id, uid)

        if item.refused:
            mark()
            intakes.append(quarantine(mailbox, None, source="imap", delivery_key=item.delivery_key,
                                      reason=item.refused))
            continue
        try:
            intakes.append(ingest_email(mailbox, item.raw, source="imap", with_intake=mark))
        except Exception as exc:  # noqa: BLE001 -- never block the mailbox
            db.session.rollback()
            log.exception("inbound email failed", extra={"mailbox_id": mailbox.id, "uid": uid})
            mark()  # the rollback undid it
            intakes.append(quarantine(mailbox, item.raw, source="imap", delivery_key=item.delivery_key,
                                      reason=f"internal error: {type(exc).__name__}"))
    return intakes


#: How long one IDLE lasts before we poll anyway (RFC 2177 asks to re-issue within 29 minutes).
IDLE_SECONDS = 20 * 60
#: Between polls of a server without IDLE.
POLL_SECONDS = 60


#: How often a watch sitting in IDLE checks that its mailbox is still to be polled, with
#: the same settings.
RECHECK_SECONDS = 60


def _still_polled(mailbox_id):
    """The mailbox as it is in the database now (an admin may have changed it since it was
    last read), or None when it is no longer polled: removed, inactive, no server, user or
    password."""
    from helpdesk.models import Mailbox

    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None or not mailbox.polls_imap:
        db.session.rollback()  # no transaction left open while the watch ends or idles
        return None
    return mailbox


def _login(mailbox):
    """What a connection was opened with (``connect``): when an admin changes any of it, the
    watch logs in again rather than reading the old server or account until it fails."""
    return (mailbox.imap_host, mailbox.imap_port, bool(mailbox.imap_ssl), mailbox.imap_username,
            mailbox.imap_password)


def _folders(mailbox):
    return tuple(mailbox.imap_folders or ["INBOX"])


def _changed(mailbox_id, login, folders):
    """True when the mailbox is no longer polled, or its login or folders are no longer
    ``login`` and ``folders``. Leaves no transaction open (the watch goes on idling)."""
    mailbox = _still_polled(mailbox_id)
    changed = mailbox is None or _login(mailbox) != login or _folders(mailbox) != folders
    db.session.rollback()
    return changed


def watch(mailbox_id, stop, idle_seconds=IDLE_SECONDS, poll_seconds=POLL_SECONDS, recheck_seconds=None):
    """Import new mail as it arrives until ``stop`` (a threading.Event) is set: poll every
    folder, then wait in IDLE on the first one when the server offers it (new mail there
    ends the wait at once; other folders are read on the next round), else sleep
    ``poll_seconds``. Connection errors are recorded on the mailbox and retried. The watch
    ends when the mailbox is removed or no longer polled (``Mailbox.polls_imap``).

    Every ``recheck_seconds`` (default RECHECK_SECONDS) in IDLE, and before every poll, it
    reads the mailbox again: changed server, port, TLS, user or password log in again with
    the new ones; changed folders are polled (and the first one idled on) at once. Nothing
    is read twice: what was imported is marked per folder (``MailboxFolder``), and another
    account's marks are dropped when the admin names it (``update_mailbox``)."""
    recheck_seconds = recheck_seconds or RECHECK_SECONDS
    while not stop.is_set():
        mailbox = _still_polled(mailbox_id)
        if mailbox is None:
            return
        client = None
        try:
            login = _login(mailbox)
            try:
                client = connect(mailbox)
            except (OSError, IMAPClient.Error) as exc:
                _record_error(mailbox, exc)  # a password just changed may be a wrong one
                raise
            while not stop.is_set():
                # Read again before every poll: an admin may have removed the mailbox, made
                # it inactive or removed its password since (the watch ends), or changed how
                # to log in (logged in again, below).
                mailbox = _still_polled(mailbox_id)
                if mailbox is None:
                    return
                if _login(mailbox) != login:
                    log.info("IMAP settings changed; logging in again", extra={"mailbox_id": mailbox_id})
                    break
                folders = _folders(mailbox)
                poll(mailbox, client)
                if b"IDLE" not in client.capabilities():
                    stop.wait(poll_seconds)
                    continue
                client.select_folder(folders[0], readonly=True)
                client.idle()
                try:
                    now = time.monotonic()
                    ends, recheck_at = now + idle_seconds, now + recheck_seconds
                    while not stop.is_set() and time.monotonic() < ends:
                        if client.idle_check(timeout=min(1, recheck_seconds)):
                            break  # EXISTS/RECENT: something arrived
                        if time.monotonic() >= recheck_at:
                            if _changed(mailbox_id, login, folders):
                                break  # the checks before the next poll say what to do
                            recheck_at = time.monotonic() + recheck_seconds
                finally:
                    client.idle_done()
        except Exception as exc:  # noqa: BLE001 -- a dropped connection: wait, then reconnect
            log.warning("IMAP watch interrupted", extra={"mailbox_id": mailbox_id, "error": type(exc).__name__})
            db.session.rollback()
            stop.wait(poll_seconds)
        finally:
            if client is not None:
                try:
                    client.logout()
                except Exception:  # noqa: BLE001
                    pass
            db.session.remove()
