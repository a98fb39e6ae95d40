"""Attachments: uploads stored on local disk, checked by their bytes, thumbnailed."""
import hashlib
import io
import os
import threading

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from helpdesk import offload
from helpdesk.actions import ActionError, action
from helpdesk.extensions import db
from helpdesk.models import Attachment, utcnow
from helpdesk.text import clean_text
from workers import outbox
from workers.outbox import handler

#: What shoppers and agents may upload, by the type sniffed from the bytes (never the
#: claimed Content-Type or extension).
ALLOWED_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/webm", "video/quicktime",
    "application/pdf",
}
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Email brings documents of every kind (invoices, spreadsheets, .eml forwards): anything
#: is kept except executable code, and what the bytes do not reveal is served as a download.
EMAIL_BLOCKED_TYPES = {
    "application/x-msdownload", "application/vnd.microsoft.portable-executable", "application/x-executable",
    "application/x-elf", "application/x-mach-binary", "application/x-sharedlib", "application/x-dosexec",
    "application/java-archive", "application/x-shockwave-flash",
}
EMAIL_MAX_BYTES = 25 * 1024 * 1024
THUMBNAIL_SIZE = (320, 320)


def _thumbnail(data, folder, digest):
    rel = os.path.join(folder, f"{digest}.thumb.jpg")
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], rel)
    if os.path.exists(path):
        return rel  # named by the bytes' digest: these bytes were drawn before (a resent logo)
    # Decoding a phone's photo takes a tenth of a second: off the server's event loop, where
    # it would hold every live chat back (Pillow lets go of the GIL while it decodes).
    return rel if offload.run(_draw_thumbnail, data, path) else None


def _draw_thumbnail(data, path):
    """Write the thumbnail of image ``data`` to ``path``; False if the bytes cannot be drawn.
    Touches nothing of the app (it may run on another thread)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail(THUMBNAIL_SIZE)
            if img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            # Written aside, then renamed: an existing file is always a whole thumbnail.
            partial = f"{path}.{os.getpid()}.{threading.get_ident()}.part"
            try:
                img.save(partial, "JPEG", quality=80)
                os.replace(partial, path)
            finally:
                if os.path.exists(partial):  # the save failed half-way: leave no debris
                    os.remove(partial)
            return True
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return False


@action
def store_upload(store_id, uploaded_by, filename, data, claimed_type=None, *, source="upload"):
    """Store uploaded bytes for a later message. Refuses oversize files and files whose
    bytes are not an allowed type or do not match the claimed type.

    ``source="email"``: an email attachment; any type but executables (EMAIL_BLOCKED_TYPES),
    up to EMAIL_MAX_BYTES; bytes of no recognisable type are stored as octet-stream."""
    if not data:
        raise ActionError("The file is empty.", "file")
    limit = EMAIL_MAX_BYTES if source == "email" else MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise ActionError(_("Files are limited to %(size)s MB.", size=limit // (1024 * 1024)), "file", status=413)
    kind = filetype.guess(data)
    sniffed = kind.mime if kind else None
    if source == "email":
        if sniffed in EMAIL_BLOCKED_TYPES:
            raise ActionError("Executable files are not accepted.", "file", status=415)
        sniffed = sniffed or "application/octet-stream"
    elif sniffed not in ALLOWED_TYPES:
        raise ActionError("This file type is not allowed (images, videos and PDF only).", "file", status=415)
    elif claimed_type and claimed_type.split(";")[0].strip() not in (sniffed, "application/octet-stream", ""):
        raise ActionError("The file's contents do not match its type.", "file", status=415)
    digest = hashlib.sha256(data).hexdigest()
    folder = utcnow().strftime("%Y/%m")
    os.makedirs(os.path.join(current_app.config["UPLOAD_FOLDER"], folder), exist_ok=True)
    rel = os.path.join(folder, f"{digest}.{kind.extension if kind else 'bin'}")
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], rel)
    if not os.path.exists(path):
        with open(path, "wb") as fh:
            fh.write(data)
    thumb = _thumbnail(data, folder, digest) if sniffed.startswith("image/") else None
    att = Attachment(store_id=store_id, filename=clean_text(os.path.basename(filename or "file"), 255) or "file",
                     content_type=sniffed, size=len(data), sha256=digest, storage_path=rel,
                     thumbnail_path=thumb, uploaded_by=uploaded_by)
    db.session.add(att)
    db.session.flush()
    return att


# ---- removing stored files ------------------------------------------------------------

def forget_files(paths):
    """Delete these stored files (relative to UPLOAD_FOLDER) once the caller's transaction has
    removed the rows that named them. Call inside that transaction: the list is an outbox row
    written with it, so a crash after the commit still deletes them, and a rollback deletes
    nothing (the rows are back, and their files with them)."""
    paths = sorted({p for p in paths if p})
    if paths:
        outbox.add("forget_files", {"paths": paths})


def _in_upload_folder(rel):
    folder = os.path.realpath(current_app.config["UPLOAD_FOLDER"])
    path = os.path.realpath(os.path.join(folder, rel))
    return path if path.startswith(folder + os.sep) else None


@handler("forget_files")
def _forget(item):
    """Outbox handler of ``forget_files``. Files are named by their bytes' digest, so one file
    may serve several attachments (the same photo sent twice, by two people): a file is only
    deleted while no attachment row names it, checked now, when it is deleted."""
    for rel in item.payload.get("paths") or ():
        still_used = db.session.scalar(select(Attachment.id).where(
            or_(Attachment.storage_path == rel, Attachment.thumbnail_path == rel)).limit(1))
        path = _in_upload_folder(rel)
        if still_used is None and path is not None:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass  # deleted by an earlier attempt of this job
