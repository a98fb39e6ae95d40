"""The agent profile: name, title and photo (sniffed, size-limited, resized), shown to
shoppers through the message author in the widget."""
import io
import os
import re

import pytest
from PIL import Image

from helpdesk.actions.messages import reply
from helpdesk.actions.profile import MAX_PHOTO_BYTES, PHOTO_SIZE
from helpdesk.extensions import db
from helpdesk.models import Agent
from helpdesk.schemas import PublicMessageSchema
from tests.factories import make_agent, make_store, make_ticket
from tests.inbox.test_views import sign_in


def image_bytes(fmt="PNG", size=(640, 480), color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def agent():
    return make_agent("Sam Carter")


def _form_token(client):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox/profile").get_data(as_text=True)).group(1)


def test_the_page_needs_sign_in(client):
    assert client.get("/inbox/profile").status_code == 302
    assert client.get("/inbox/api/profile").status_code == 401


def test_the_form_saves_name_title_and_a_resized_photo(app, client, agent, sent_events):
    sign_in(client, agent)
    page = client.get("/inbox/profile").get_data(as_text=True)
    assert 'value="Sam Carter"' in page and 'for="profile-title"' in page
    response = client.post("/inbox/profile", content_type="multipart/form-data", data={
        "csrf_token": _form_token(client), "name": "Sam C.", "title": "Stylist",
        "photo": (io.BytesIO(image_bytes()), "me.png", "image/png")})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Agent, agent.id)
    assert (saved.name, saved.title) == ("Sam C.", "Stylist")
    with Image.open(os.path.join(app.config["UPLOAD_FOLDER"], saved.avatar_path)) as img:
        assert (img.format, img.size) == ("JPEG", (PHOTO_SIZE, PHOTO_SIZE))
    # Served as a versioned URL: a new photo is a new URL (week-long caching never shows the old one).
    url = client.get("/inbox/api/profile").json["avatar_url"]
    assert re.fullmatch(rf"/media/avatars/{agent.id}\?v=[0-9a-f]{{12}}", url)
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert {(e["event"], e["room"]) for e in sent_events if e["event"] == "agent.updated"} >= {
        ("agent.updated", f"agent:{agent.id}")}

    first = saved.avatar_path
    client.post("/inbox/api/profile/photo", headers={"X-CSRFToken": _form_token(client)},
                data={"photo": (io.BytesIO(image_bytes("JPEG", color=(0, 90, 200))), "new.jpg", "image/jpeg")},
                content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).avatar_path != first
    assert not os.path.exists(os.path.join(app.config["UPLOAD_FOLDER"], first))  # the old file is gone
    assert client.get("/inbox/api/profile").json["avatar_url"] != url


def test_what_shoppers_see_is_the_profile(agent):
    from helpdesk.actions.profile import set_photo, update_profile

    update_profile(agent, name="Sam", title="Shoe expert")
    set_photo(agent, image_bytes())
    store = make_store()
    message = reply(make_ticket(store), agent, "Hello!")
    author = PublicMessageSchema().dump(message)["author"]
    assert author["name"] == "Sam" and author["title"] == "Shoe expert"
    assert author["avatar_url"].startswith(f"/media/avatars/{agent.id}?v=")


@pytest.mark.parametrize("data, filename, claimed, status, message", [
    (b"%PDF-1.4 not a photo" + b"\0" * 100, "cv.pdf", "application/pdf", 415, "Use a JPEG, PNG, GIF or WebP photo."),
    (b"GIF89a" + b"\0" * 10, "broken.gif", "image/gif", 415,
     "This image cannot be read. Use a JPEG, PNG, GIF or WebP photo."),
    (image_bytes(), "me.jpg", "image/jpeg", 415, "The file's contents do not match its type."),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_PHOTO_BYTES + 10), "huge.png", "image/png", 413, "Photos are limited to 5 MB."),
])
def test_bad_photos_are_refused_with_a_reason(client, agent, data, filename, claimed, status, message):
    headers = {"X-CSRFToken": sign_in(client, agent)}
    response = client.post("/inbox/api/profile/photo", headers=headers, content_type="multipart/form-data",
                           data={"photo": (io.BytesIO(data), filename, claimed)})
    assert response.status_code == status and response.json["errors"] == {"photo": [message]}
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).avatar_path is None


def test_the_form_shows_errors_in_place(client, agent):
    sign_in(client, agent)
    response = client.post("/inbox/profile", data={"csrf_token": _form_token(client), "name": "", "title": "x" * 200})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'id="profile-name-error"' in page and 'id="profile-title-error"' in page
    bad = client.post("/inbox/profile", content_type="multipart/form-data", data={
        "csrf_token": _form_token(client), "name": "Sam", "photo": (io.BytesIO(b"not an image"), "x.png", "image/png")})
    assert bad.status_code == 415 and "Use a JPEG, PNG, GIF or WebP photo." in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).name == "Sam Carter"  # the refused submit changed nothing


def test_json_profile_validation_and_csrf(client, agent):
    token = sign_in(client, agent)
    assert client.post("/inbox/api/profile", json={"name": "Sam"}).status_code == 400  # no CSRF token
    headers = {"X-CSRFToken": token}
    for bad in ({}, {"name": ""}, {"name": "x", "email": "evil@example.test"}, {"name": 5}, [1]):
        response = client.post("/inbox/api/profile", headers=headers, json=bad)
        assert response.status_code in (400, 422) and response.json["message"], bad
    ok = client.post("/inbox/api/profile", headers=headers, json={"name": "  Sam  ", "title": "Lead"})
    assert ok.status_code == 200 and (ok.json["name"], ok.json["title"]) == ("Sam", "Lead")


# ---- the email signature -------------------------------------------------------------------

def test_the_form_saves_the_signature_and_shows_it_back_as_text(client, agent):
    sign_in(client, agent)
    page = client.get("/inbox/profile").get_data(as_text=True)
    assert 'for="profile-signature"' in page and 'aria-describedby="profile-signature-help"' in page
    signature = 'Sam Carter\r\n<script>alert(1)</script><img src=x onerror="alert(2)">'
    response = client.post("/inbox/profile", data={"csrf_token": _form_token(client), "name": "Sam Carter",
                                                   "title": "", "signature": signature})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).signature == signature.replace("\r\n", "\n")
    page = client.get("/inbox/profile").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x" in page
    # Emptied, the store's is used again.
    client.post("/inbox/profile", data={"csrf_token": _form_token(client), "name": "Sam Carter", "signature": ""})
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).signature is None


def test_a_too_long_signature_is_refused_at_its_field_and_changes_nothing(client, agent):
    sign_in(client, agent)
    response = client.post("/inbox/profile", data={"csrf_token": _form_token(client), "name": "Sam C.",
                                                   "signature": "x" * 1001})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'<p id="profile-signature-error" class="error">Longer than maximum length 1000.</p>', page)
    assert re.search(r'aria-describedby="profile-signature-help profile-signature-error"\s+aria-invalid="true"', page)
    assert "x" * 1001 + "</textarea>" in page  # kept as typed
    # 1,000 characters on lines the browser sends with CRLF: within the limit.
    lines = "\r\n".join(["y" * 99] * 10)
    assert client.post("/inbox/profile", data={"csrf_token": _form_token(client), "name": "Sam C.",
                                               "signature": lines}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).signature == lines.replace("\r\n", "\n")


def test_the_signature_needs_the_csrf_token(client, agent):
    token = sign_in(client, agent)
    assert client.post("/inbox/profile", data={"name": "Sam", "signature": "Forged"}).status_code == 400
    assert client.post("/inbox/api/profile", json={"name": "Sam", "signature": "Forged"}).status_code == 400
    headers = {"X-CSRFToken": token}
    ok = client.post("/inbox/api/profile", headers=headers, json={"name": "Sam", "signature": "Sam\nLinen"})
    assert ok.status_code == 200 and ok.json["signature"] == "Sam\nLinen"
    kept = client.post("/inbox/api/profile", headers=headers, json={"name": "Sam"})
    assert kept.json["signature"] == "Sam\nLinen"  # left out: unchanged
    bad = client.post("/inbox/api/profile", headers=headers, json={"name": "Sam", "signature": ["x"]})
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["signature"]
    cleared = client.post("/inbox/api/profile", headers=headers, json={"name": "Sam", "signature": None})
    assert cleared.json["signature"] is None
