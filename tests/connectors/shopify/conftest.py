"""A shop connected to Shopify with a known app secret, for the webhook tests here and the
privacy jobs' (tests/workers/test_privacy_jobs.py imports these fixtures)."""
import pytest

from helpdesk.actions.commerce import connect_store
from tests.factories import make_store

SECRET = "shpss_4f1d7c0a9b2e"


@pytest.fixture
def store():
    return make_store("Jsmith Shop")


@pytest.fixture
def connector(store):
    return connect_store(store, "shopify", secret=SECRET)
