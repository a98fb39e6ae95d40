"""The parser's shortcuts read exactly what the standard library's full parse reads."""
import dataclasses
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage

import pytest

from connectors.email import parser
from connectors.email.parser import MalformedEmail, parse
from helpdesk.actions.email import ingest_email
from tests.connectors.email.conftest import MANIFEST, eml

NAMES = sorted(MANIFEST["messages"])

SIMPLE = [
    "Dana Fischer <dana@example.com>", '"Marie Dubois" <marie.dubois@orange.fr>', "payments@shop.test",
    " payments@shop.test ", "Linen & Co <orders@shop.test>", '"support@shop.test" <support@shop.test>',
    "<support@shop.test>", "A <B@Example.COM>", '"  spaced  name " <a@b.example>', '"" <a@b.example>',
    "O'Brien <o@b.example>", '"Name (x), Jr" <a@b.example>', "Name<a@b.example>", '"N"<a@b.example>',
    "N <a+tag@b-c.example>", "MAILER-DAEMON@mx.example", "x y  <a@b.example>", "Name <a@b.example>\t",
]
NOT_SIMPLE = [
    "John Q. Public <j@x.example>", "Name  Two <a@b.example>", '"Ab\\"c" <a@b.example>', "x <a..b@c.example>",
    '"tab\tname" <a@b.example>', '"=?utf-8?q?x?=" <a@b.example>', "=?utf-8?q?Zo=C3=AB?= <z@e.example>",
    "x <a@b.example.>", "a@b.example (comment)", "\u00dcn\u00ef <a@b.example>", '"a" "b" <a@b.example>',
    '"a" <a@b.example>, b@c.example', "group: a@b.example, d@e.example;", "x <" + "a" * 250 + "@b.example>",
]


@pytest.mark.parametrize("value", SIMPLE + NOT_SIMPLE)
def test_a_simple_sender_reads_as_the_header_registry_reads_it(value):
    header = HeaderRegistry()("from", value)
    full = [(a.display_name or "", (a.addr_spec or "").lower()) for a in header.addresses]
    full = [(n, a) for n, a in full if "@" in a and len(a) <= 254]
    simple = parser._simple_sender(value)
    if value in SIMPLE:
        assert simple == full and len(full) == 1
    else:
        assert simple is None  # left to the registry


WELL_FORMED_CONTENT_TYPES = [
    "text/plain", 'text/plain; charset="utf-8"', "multipart/alternative;\r\n\tboundary=\"abc\"",
    "text/plain;charset=utf-8;format=flowed", "TEXT/HTML; CHARSET=UTF-8", 'text/plain; name="a;b.txt"',
    "multipart/mixed; boundary=\"----=_Part_1\"", "image/png; name=x.png", 'text/plain; name=""',
    'multipart/related; type="text/html"; start="<a@b>"', 'application/pdf; name="O\'Brien 2024.pdf"',
    "multipart/report; report-type=delivery-status; boundary=B26",
]
OTHER_CONTENT_TYPES = [  # malformed, or needing the registry's decoding: left to it
    "text/plain ; charset = utf-8", "text/plain; charset=", "text/plain; =x", 'text/plain; charset="utf-8',
    'text/plain; charset="a"; charset=b', "text/plain; charset=utf-8 extra", "text/plain; charset=utf-8;",
    "text/plain; name='x.txt'", "text/plain;;charset=utf-8", "text/plain; name*=utf-8''%E2%82%AC.txt",
    'application/pdf; name="=?utf-8?B?w6k=?="', "text/plain (comment)", "text", "", "multipart/mixed; boundary=",
]


@pytest.mark.parametrize("value", WELL_FORMED_CONTENT_TYPES + OTHER_CONTENT_TYPES)
def test_a_well_formed_content_type_reads_as_the_header_registry_reads_it(value):
    def readings(msg):
        msg._headers = [("Content-Type", value)]
        calls = (msg.get_content_type, msg.get_params, msg.get_content_charset, msg.get_boundary, msg.get_filename,
                 lambda: msg.get_param("report-type"), lambda: msg.get_param("start"), msg.get_charsets)
        return [call() for call in calls]

    assert readings(parser._ParsedMessage(parser.POLICY)) == readings(EmailMessage(policy.default))
    assert (parser._simple_parameter_header("content-type", value) is not None) == (value in WELL_FORMED_CONTENT_TYPES)


WELL_FORMED_DISPOSITIONS = [
    "attachment", "inline", 'attachment; filename="invoice.pdf"', "ATTACHMENT; FILENAME=a.txt",
    'inline;\r\n\tfilename="photo 1.jpg"', "attachment; filename=x.png; size=1024",
    'attachment; filename="O\'Brien;notes.txt"', 'attachment; filename=""',
]
OTHER_DISPOSITIONS = [
    "attachment filename=x.txt", "attachment; filename=", 'attachment; filename="x.txt',
    "attachment; filename*=utf-8''%E2%82%AC.txt", 'attachment; filename="=?utf-8?B?w6k=?="',
    "attachment; filename=a; filename=b", "attachment;", "attachment (comment)", "", "; filename=x",
    "inline; filename='x.txt'",
]


@pytest.mark.parametrize("value", WELL_FORMED_DISPOSITIONS + OTHER_DISPOSITIONS)
def test_a_well_formed_disposition_reads_as_the_header_registry_reads_it(value):
    def readings(msg):
        msg._headers = [("Content-Type", "text/plain"), ("Content-Disposition", value)]
        calls = (msg.is_attachment, msg.get_content_disposition, msg.get_filename,
                 lambda: msg.get_params(header="content-disposition"), lambda: msg.get_param("size", header="content-disposition"))
        return [call() for call in calls]

    assert readings(parser._ParsedMessage(parser.POLICY)) == readings(EmailMessage(policy.default))
    assert (parser._simple_parameter_header("content-disposition", value) is not None) == (
        value in WELL_FORMED_DISPOSITIONS)


def test_bodies_read_later_are_the_bodies_read_at_once(subtests):
    for name in NAMES:
        with subtests.test(msg=name):
            raw = eml(name)
            try:
                whole = parse(raw)
            except MalformedEmail:
                continue
            later = parse(raw, bodies=False)
            assert later.text == "" and later.attachments == []
            assert dataclasses.asdict(later.read_bodies()) == dataclasses.asdict(whole)


def test_mail_that_is_dropped_has_its_bodies_left_unread(mailbox, monkeypatch):
    from tests.connectors.email.test_intake import mail

    read = []
    original = parser.InboundEmail.read_bodies
    monkeypatch.setattr(parser.InboundEmail, "read_bodies", lambda self: read.append(1) or original(self))
    raw = mail(msgid="<once@example.com>")
    assert ingest_email(mailbox, raw, source="raw").outcome == "created" and read == [1]
    assert ingest_email(mailbox, raw, source="raw").outcome == "duplicate"
    assert ingest_email(mailbox, mail(frm="support@shop.test"), source="raw").outcome == "quarantined"
    assert read == [1]
