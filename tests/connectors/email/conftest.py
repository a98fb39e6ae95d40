"""Email test fixtures: a store with a mailbox, the .eml corpus and its manifest."""
import json
from pathlib import Path

import pytest

from helpdesk.actions.email import create_mailbox
from tests.factories import make_store

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


def eml(name):
    return (CORPUS / name).read_bytes()


@pytest.fixture
def store():
    return make_store("Linen & Co")


@pytest.fixture
def mailbox(store):
    return create_mailbox(store, MANIFEST["mailbox"], name="Support")
