"""An agent's profile: the name, title and photo shoppers see in the chat widget, and the
signature that ends the agent's email replies."""
import hashlib
import io
import os
import warnings

import filetype
from flask import current_app

from helpdesk import events, offload
from helpdesk.actions import ActionError, action
from helpdesk.actions.agents import visible_store_ids
from helpdesk.extensions import db
from helpdesk.signatures import MAX_SIGNATURE_LENGTH, clean_signature
from helpdesk.text import clean_text

#: Photos are checked by their bytes (never the claimed type or extension).
PHOTO_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: Larger than any pixel the widget or inbox shows it at (2x for high-density screens).
PHOTO_SIZE = 256
#: Refuse images that would decode into more pixels than this (a "decompression bomb").
MAX_PHOTO_PIXELS = 40_000_000


@action
def update_profile(agent, *, name, title="", signature=None):
    """Change the name and title shoppers see, and (``signature`` given) the email
    signature (``set_signature``). Emits ``agent.updated`` to the agent's devices and the
    agents of their stores."""
    name = clean_text(name, 120)
    if not name:
        raise ActionError("Enter your name.", "name")
    agent.name, agent.title = name, clean_text(title, 120)
    if signature is not None:
        set_signature(agent, signature)
    db.session.flush()
    events.agent_profile_changed(agent, visible_store_ids(agent))
    return agent


@action
def set_signature(agent, signature):
    """The plain text that ends the agent's email replies (helpdesk.signatures); empty or
    None removes it, and the store's signature is used instead. Longer than
    MAX_SIGNATURE_LENGTH (after line breaks are normalised) is refused, not cut. Emits
    ``signature.changed`` to the agent's own devices (their reply box shows it), when it
    changed."""
    raw = str(signature or "").replace("\r\n", "\n")
    if len(raw.strip()) > MAX_SIGNATURE_LENGTH:
        raise ActionError("A signature can be up to 1,000 characters.", "signature", status=422)
    signature = clean_signature(raw) or None
    if signature != agent.signature:
        agent.signature = signature
        db.session.flush()
        events.signature_changed(agent=agent)
    return agent


def _square_jpeg(data):
    """The photo centre-cropped to a square PHOTO_SIZE JPEG, upright (EXIF orientation).
    Touches nothing of the app (it may run on another thread)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PHOTO_PIXELS:
                    raise ActionError("This image is too large; use one under 40 megapixels.", "photo", status=413)
                img = ImageOps.exif_transpose(img)
                img = ImageOps.fit(img.convert("RGB"), (PHOTO_SIZE, PHOTO_SIZE), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                img.save(out, "JPEG", quality=85, optimize=True)
                return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            SyntaxError, ValueError):
        raise ActionError("This image cannot be read. Use a JPEG, PNG, GIF or WebP photo.", "photo",
                          status=415) from None


@action
def set_photo(agent, data, claimed_type=None):
    """Store a new profile photo (sniffed, size-limited, resized to a square JPEG) and drop
    the old file. ``data=None`` removes the photo. Emits ``agent.updated``."""
    old = agent.avatar_path
    if data is None:
        agent.avatar_path = None
    else:
        if not data:
            raise ActionError("The file is empty.", "photo")
        if len(data) > MAX_PHOTO_BYTES:
            raise ActionError("Photos are limited to 5 MB.", "photo", status=413)
        kind = filetype.guess(data)
        if kind is None or kind.mime not in PHOTO_TYPES:
            raise ActionError("Use a JPEG, PNG, GIF or WebP photo.", "photo", status=415)
        if claimed_type and claimed_type.split(";")[0].strip() not in (kind.mime, "application/octet-stream", ""):
            raise ActionError("The file's contents do not match its type.", "photo", status=415)
        jpeg = offload.run(_square_jpeg, data)  # a tenth of a second of Pillow: off the event loop
        folder = "avatars"
        os.makedirs(os.path.join(current_app.config["UPLOAD_FOLDER"], folder), exist_ok=True)
        # The name changes with the content: the served URL carries it (cache busting).
        rel = f"{folder}/{agent.id}-{hashlib.sha256(jpeg).hexdigest()[:12]}.jpg"
        with open(os.path.join(current_app.config["UPLOAD_FOLDER"], rel), "wb") as fh:
            fh.write(jpeg)
        agent.avatar_path = rel
    db.session.flush()
    if old and old != agent.avatar_path and old.startswith("avatars/"):
        try:
            os.remove(os.path.join(current_app.config["UPLOAD_FOLDER"], old))
        except OSError:  # already gone; the row is what counts
            pass
    events.agent_profile_changed(agent, visible_store_ids(agent))
    return agent


@action
def save_profile(agent, *, name, title="", signature=None, photo=None, claimed_type=None, remove_photo=False):
    """The profile form in one transaction: name, title, signature and a new photo (or its
    removal); a refused photo leaves the rest unchanged too. Emits ``agent.updated``."""
    update_profile(agent, name=name, title=title, signature=signature)
    if photo is not None:
        set_photo(agent, photo, claimed_type=claimed_type)
    elif remove_photo and agent.avatar_path:
        set_photo(agent, None)
    return agent
