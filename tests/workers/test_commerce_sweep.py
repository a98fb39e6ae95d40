"""A webhook delivery whose job was lost (Redis down at enqueue time) is picked up by the sweep."""
from datetime import timedelta

from sqlalchemy import select

from helpdesk.actions.commerce import connect_store
from helpdesk.extensions import db
from helpdesk.models import Order, WebhookDelivery, utcnow
from tests.conftest import free_port
from tests.connectors.commerce import count, fixture_bytes, hmac_b64
from tests.factories import make_store
from tests.sql import big_table_stats, query_plans, scans
from workers.commerce_jobs import STALE_AFTER_SECONDS, sweep_deliveries

SECRET = "shpss_sweep_secret"


def test_lost_delivery_job_is_swept_and_processed_once(app, client):
    connector = connect_store(make_store("Sweep shop"), "shopify", secret=SECRET)
    body = fixture_bytes("shopify", "orders_create.json")
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
               "X-Shopify-Webhook-Id": "sweep-1", "X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body)}
    runner = app.extensions["helpdesk_jobs"]
    app.config.update(JOBS_MODE="rq", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens
    try:
        response = client.post(f"/webhooks/shopify/{connector.key}", data=body, headers=headers)
    finally:
        app.config.update(JOBS_MODE="sync", REDIS_URL=None)
        runner._rq_queue = None
    assert response.status_code == 200  # accepted: the delivery row is committed
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == WebhookDelivery.RECEIVED and count(Order) == 0

    assert sweep_deliveries() == 0  # too fresh: its job may still be on its way
    delivery.received_at = utcnow() - timedelta(seconds=STALE_AFTER_SECONDS + 1)
    db.session.commit()
    assert sweep_deliveries() == 1
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, delivery.id).status == WebhookDelivery.PROCESSED
    assert count(Order) == 1
    assert sweep_deliveries() == 0


def test_the_sweep_finds_lost_deliveries_by_index_not_a_scan_of_all(app):
    """Every beat looks for deliveries still "received": by index, not by reading each of the
    (many, processed) deliveries ever recorded."""
    # 200,000 deliveries; the status index's statistics as ANALYZE writes them: few statuses.
    many = [("webhook_deliveries", "uq_webhook_deliveries_connector_delivery", "200000 200000 1"),
            ("webhook_deliveries", "ix_webhook_deliveries_status", "200000 66667 9524")]
    with big_table_stats(*many), query_plans() as plans:
        sweep_deliveries()
    assert plans or db.engine.dialect.name != "sqlite"
    assert not scans(plans, "webhook_deliveries"), plans
