"""Posts (announcements) and the FAQ. Admins write both; agents read the posts meant for
them, mark them read, and search the FAQ of their stores."""
from marshmallow import Schema, fields, validate

from helpdesk.actions.faq import create_faq_entry, delete_faq_entry, faq_entry_or_404, search_faq, update_faq_entry
from helpdesk.actions.posts import (
    create_post,
    delete_post,
    list_posts,
    mark_post_read,
    post_or_404,
    unread_count,
    update_post,
)
from helpdesk.api import bp
from helpdesk.api.access import ID
from helpdesk.api.auth import current_agent
from helpdesk.api.errors import load_json, load_query
from helpdesk.api.openapi import operation
from helpdesk.schemas import (
    FaqEntryArgs,
    FaqEntrySchema,
    FaqEntryUpdateArgs,
    PostArgs,
    PostSchema,
    PostUpdateArgs,
    StrictSchema,
)


class PostListArgs(StrictSchema):
    unread = fields.Bool(load_default=False, metadata={"description": "Only posts I have not read."})
    manage = fields.Bool(load_default=False, metadata={"description": "Admins: every post, whoever it is for."})
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=100))


class PostListSchema(Schema):
    items = fields.List(fields.Nested(PostSchema))
    unread = fields.Int(metadata={"description": "How many posts meant for me I have not read."})


class PostReadArgs(StrictSchema):
    """Marking a post read takes no fields."""


class PostReadSchema(Schema):
    post_id = fields.Int()
    read_at = fields.AwareDateTime()
    unread = fields.Int()


class FaqListArgs(StrictSchema):
    q = fields.Str(validate=validate.Length(min=1, max=200))
    store = fields.Int(validate=validate.Range(min=1))
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


class FaqListSchema(Schema):
    items = fields.List(fields.Nested(FaqEntrySchema))


@bp.get("/posts")
@operation("Posts meant for me (admins with manage=true: all), pinned first, with my read marks and the "
           "unread count.", query=PostListArgs, response=PostListSchema, tag="posts")
def get_posts():
    args = load_query(PostListArgs())
    agent = current_agent()
    items = list_posts(agent, unread_only=args["unread"], limit=args["limit"], everything=args["manage"])
    return PostListSchema().dump({"items": items, "unread": unread_count(agent)})


@bp.post("/posts")
@operation("Publish a post to everyone, a team or a store (admins); the targeted agents get "
           "`post.published` live.", body=PostArgs, response=PostSchema, status=201, errors=(403, 404),
           tag="posts")
def post_posts():
    args = load_json(PostArgs())
    post = create_post(current_agent(), **args)
    post.read = True
    return PostSchema().dump(post), 201


@bp.patch(f"/posts/<{ID}:post_id>")
@operation("Edit a post (admins).", body=PostUpdateArgs, response=PostSchema, errors=(403,), tag="posts")
def patch_post(post_id):
    agent = current_agent()
    post = post_or_404(agent, post_id)
    args = load_json(PostUpdateArgs())
    return PostSchema().dump(update_post(agent, post, **args))


@bp.delete(f"/posts/<{ID}:post_id>")
@operation("Delete a post (admins).", status=204, errors=(403,), tag="posts")
def delete_post_view(post_id):
    agent = current_agent()
    delete_post(agent, post_or_404(agent, post_id))
    return "", 204


@bp.post(f"/posts/<{ID}:post_id>/read")
@operation("Mark a post read (idempotent); answers my new unread count.", body=PostReadArgs,
           response=PostReadSchema, tag="posts")
def read_post(post_id):
    agent = current_agent()
    post = post_or_404(agent, post_id)
    load_json(PostReadArgs())
    read = mark_post_read(agent, post)
    return PostReadSchema().dump({"post_id": post.id, "read_at": read.read_at, "unread": unread_count(agent)})


@bp.get("/faq")
@operation("Search the FAQ of my stores: words match the question or the answer, question matches first.",
           query=FaqListArgs, response=FaqListSchema, tag="faq")
def get_faq():
    args = load_query(FaqListArgs())
    rows = search_faq(current_agent(), args.get("q"), store_id=args.get("store"), limit=args["limit"])
    return FaqListSchema().dump({"items": rows})


@bp.post("/faq")
@operation("Add an FAQ entry (admins); without store_id it serves every store.", body=FaqEntryArgs,
           response=FaqEntrySchema, status=201, errors=(403, 404), tag="faq")
def post_faq():
    args = load_json(FaqEntryArgs())
    return FaqEntrySchema().dump(create_faq_entry(current_agent(), **args)), 201


@bp.patch(f"/faq/<{ID}:entry_id>")
@operation("Edit an FAQ entry (admins).", body=FaqEntryUpdateArgs, response=FaqEntrySchema, errors=(403,),
           tag="faq")
def patch_faq(entry_id):
    agent = current_agent()
    entry = faq_entry_or_404(agent, entry_id)
    args = load_json(FaqEntryUpdateArgs())
    return FaqEntrySchema().dump(update_faq_entry(agent, entry, **args))


@bp.delete(f"/faq/<{ID}:entry_id>")
@operation("Delete an FAQ entry (admins).", status=204, errors=(403,), tag="faq")
def delete_faq(entry_id):
    agent = current_agent()
    delete_faq_entry(agent, faq_entry_or_404(agent, entry_id))
    return "", 204
