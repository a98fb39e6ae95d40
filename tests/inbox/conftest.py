"""The admins' settings pages' shared setup: a store, an admin and their signed-in client
(modules with fixtures of these names keep their own)."""
import pytest

from tests.factories import make_agent, make_store
from tests.inbox.test_views import sign_in


@pytest.fixture
def store():
    return make_store("Linen Lane")


@pytest.fixture
def admin():
    return make_agent("Ada Admin", role="admin")


@pytest.fixture
def admin_client(client, admin):
    client.csrf = sign_in(client, admin)
    return client
