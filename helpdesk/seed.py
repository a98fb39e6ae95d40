"""The demo store: a few products, an admin agent, one saved reply."""
import secrets
from decimal import Decimal

from sqlalchemy import select

from helpdesk.actions.agents import create_agent
from helpdesk.actions.saved_replies import create_saved_reply
from helpdesk.extensions import db
from helpdesk.models import Agent, Product, Role, Store

DEMO_PRODUCTS = [
    ("linen-shirt", "Linen shirt", "Breathable summer shirt in washed linen.", "49.00", "/static/demo/shirt.svg"),
    ("merino-sweater", "Merino sweater", "Fine-knit merino wool, machine washable.", "89.00", "/static/demo/sweater.svg"),
    ("canvas-sneakers", "Canvas sneakers", "Low-top sneakers with a natural rubber sole.", "65.00", "/static/demo/sneakers.svg"),
    ("leather-belt", "Leather belt", "Vegetable-tanned leather, brass buckle.", "35.00", "/static/demo/belt.svg"),
]
DEMO_ADMIN_EMAIL = "admin@demo.store"


def seed_demo(password=None):
    """Create the demo store and admin if missing. Returns ``(store, admin, password or None)``;
    the password is only returned when the admin was created now."""
    store = db.session.scalar(select(Store).where(Store.slug == "demo"))
    if store is None:
        # Every language with a catalog: the widget follows the browser (or ?lang= / setLanguage).
        store = Store(name="Demo Store", slug="demo", domain="127.0.0.1",
                      settings={"languages": ["en", "de", "uk", "ar"]})
        db.session.add(store)
        db.session.flush()
        for sku, title, desc, price, image in DEMO_PRODUCTS:
            db.session.add(Product(store_id=store.id, platform="demo", platform_id=sku, title=title,
                                   description=desc, price=Decimal(price), currency="USD",
                                   image_url=image, url=f"/demo/products/{sku}"))
        db.session.commit()
    admin = db.session.scalar(select(Agent).where(Agent.email == DEMO_ADMIN_EMAIL))
    created_password = None
    if admin is None:
        created_password = password or secrets.token_urlsafe(12)
        admin = create_agent(DEMO_ADMIN_EMAIL, "Demo Admin", created_password, role=Role.ADMIN,
                             title="Store manager")
        # The demo admin answers the demo chats at once: no onboarding academy for them.
        from helpdesk.actions.academy import set_exempt

        set_exempt(admin, True)
        create_saved_reply(admin, shortcut="thanks", title="Thanks for waiting",
                           body="Hi {contact.first_name}, thanks for waiting! I'm {agent.name} and I'll help you.",
                           personal=False)
        _seed_posts_and_faq(admin)
    _seed_location(store)
    return store, admin, created_password


#: The demo shop's opening hours (local time): a lunch break on weekdays, short Saturdays.
DEMO_OPENING_HOURS = {
    **{day: [["09:30", "12:30"], ["13:30", "18:30"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [["10:00", "16:00"]],
}


def _seed_location(store):
    """One physical shop where visits can be booked (idempotent)."""
    from helpdesk.actions.appointments import create_location
    from helpdesk.models import StoreLocation

    if db.session.scalar(select(StoreLocation.id).where(StoreLocation.store_id == store.id)) is None:
        create_location(store, "Demo Store Flagship", address="12 Market Street, Springfield",
                        timezone="America/New_York", opening_hours=DEMO_OPENING_HOURS, appointment_minutes=30)


def _seed_posts_and_faq(admin):
    """A welcome post, a pinned one, and a few FAQ answers, so the inbox shows them at once."""
    from helpdesk.actions.faq import create_faq_entry
    from helpdesk.actions.posts import create_post

    create_post(admin, title="Welcome to the shared inbox",
                body="Chats, emails and contact-form messages all land in one queue. Claim a conversation "
                     "before you answer, and leave an internal note when you hand it over.")
    create_post(admin, title="Returns are free until the end of the month",
                body="Tell shoppers who ask: free return labels for every order, no questions asked.", pinned=True)
    for question, answer, tags in (
        ("How long does shipping take?", "Orders leave the warehouse within one working day; delivery takes "
         "two to four working days.", ["shipping"]),
        ("How do returns work?", "Shoppers have 30 days to return an item. The return label is in the parcel; "
         "the refund follows within five days of the return arriving.", ["returns", "refunds"]),
        ("Do the canvas sneakers run small?", "They run half a size small: recommend one size up.", ["sizing"]),
    ):
        create_faq_entry(admin, question=question, answer=answer, tags=tags)

