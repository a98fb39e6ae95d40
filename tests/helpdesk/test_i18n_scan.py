"""No hard-coded English where people read it: template text and labels go through
``_()``/``{% trans %}``, and the inbox and widget scripts take every string from the
translated JSON the templates render (templates/inbox/_strings.html, the widget frame)."""
import glob
import os
import re
from html.parser import HTMLParser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Text that is not English prose, or is meant to stay as it is. Keep it short and say why.
ALLOWED_TEXT = {
    "★",  # the rating star (the label next to it is translated)
    "#",  # ticket number prefix
}
#: (template, text): names and samples that are data, not interface language.
ALLOWED_IN = {
    ("email/reply.txt", "--"),  # the standard signature separator
}
_WORD = re.compile(r"[A-Za-z]{2,}")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_CLASS_NAME = re.compile(r"\b[a-z]+(?:-[a-z0-9]+)+\b")
_LABEL_ATTRS = {"title", "placeholder", "aria-label", "alt", "label"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in _LABEL_ATTRS and value and _WORD.search(value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        text = " ".join(data.replace("\x00", " ").split())
        # CSS class names filled into a parent's attribute ({% block body_class %}page-inbox).
        words = _CLASS_NAME.sub("", text)
        if not self._skip and text and _WORD.search(words) and text not in ALLOWED_TEXT:
            self.found.append(text)


def _templates():
    base = os.path.join(ROOT, "templates")
    for path in sorted(glob.glob(os.path.join(base, "**", "*.*"), recursive=True)):
        if path.endswith((".html", ".txt")):
            yield os.path.relpath(path, base), path


def test_templates_have_no_english_outside_gettext():
    # Jinja code is replaced by a neutral token: what is left is literal text and markup.
    problems = []
    for name, path in _templates():
        with open(path, encoding="utf-8") as fh:
            source = _JINJA.sub("\x00", fh.read())
        parser = _Text()
        parser.feed(source)
        for text in parser.found:
            if (name, text) not in ALLOWED_IN:
                problems.append(f"{name}: {text}")
    assert not problems, "\n".join(problems)


#: Assignments and attributes that put words on the screen or in the accessibility tree.
_JS_SINKS = [
    re.compile(r"\.(?:textContent|innerText|placeholder|title|ariaLabel|alt)\s*=\s*(['\"`])([^'\"`]*)\1"),
    re.compile(r"setAttribute\(\s*['\"](?:aria-label|title|placeholder|alt)['\"]\s*,\s*(['\"`])([^'\"`]*)\1"),
    re.compile(r"\b(?:text|title|placeholder|'aria-label'|label)\s*:\s*(['\"`])([^'\"`$]*)\1"),
    re.compile(r"\b(?:alert|confirm|prompt)\(\s*(['\"`])([^'\"`]*)\1"),
]


def _scripts():
    for pattern in ("static/inbox/*.js", "static/widget/*.js"):
        yield from sorted(glob.glob(os.path.join(ROOT, pattern)))


def test_scripts_take_their_words_from_the_translated_strings():
    problems = []
    for path in _scripts():
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if line.lstrip().startswith(("//", "*", "/*")):
                    continue
                for sink in _JS_SINKS:
                    for match in sink.finditer(line):
                        if _WORD.search(match.group(2)):
                            problems.append(f"{os.path.relpath(path, ROOT)}:{number}: {match.group(0)}")
    assert not problems, "\n".join(problems)


def test_the_scanner_catches_english(tmp_path):
    # The scanner itself must be able to fail.
    parser = _Text()
    parser.feed(_JINJA.sub("\x00", '<p>{{ _("Fine") }}</p><p>Hello there</p><input placeholder="Type here">'))
    assert parser.found == ["input[placeholder]='Type here'", "Hello there"] or \
        sorted(parser.found) == sorted(["input[placeholder]='Type here'", "Hello there"])
    line = "el.textContent = 'Saved';"
    assert any(_WORD.search(m.group(2)) for s in _JS_SINKS for m in s.finditer(line))


# ---- Python: messages people read --------------------------------------------------------

import ast  # noqa: E402 -- the Python half of the scan

#: Calls whose first argument is shown to a person: the action refusals (extracted as msgids
#: by the babel keywords in helpdesk.i18n.KEYWORDS and translated when rendered), the socket
#: acknowledgement ``error(...)``, the inbox's ``_json_error``, the API's ``error_response``,
#: ``flash`` and marshmallow's ValidationError (field messages in a 422).
_MESSAGE_CALLS = {name: 0 for name in ("ActionError", "NotFound", "Forbidden", "Conflict", "error", "_json_error",
                                        "error_response", "flash", "ValidationError", "BadRequest")}
_MESSAGE_CALLS["handler_factory"] = 2  # the socket's "session has ended" answer
#: Of those, the ones whose literal is itself a msgid (``helpdesk i18n extract`` collects it,
#: ActionError.message translates it): a plain literal is fine, a formatted one is not.
_EXTRACTED = {"ActionError", "NotFound", "Forbidden", "Conflict"}
#: Keys of a JSON body that carry a sentence for a person.
_MESSAGE_KEYS = {"message", "error", "detail", "description"}
_TRANSLATORS = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "N_", "pgettext", "npgettext"}
#: (file, text) left in English on purpose; say why.
ALLOWED_PY = {
    # An inbound platform webhook's payload refused: logged and answered to the platform, not a person.
    ("connectors/generic/__init__.py", "exc.messages untranslated"),
}


def _name(func):
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _english(node):
    """The literal English in ``node`` ("" if none): a string, an f-string, or a string
    formatted with % or .format -- text no catalog can hold as it is."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _WORD.search(node.value) else ""
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return "f" + repr(text) if _WORD.search(text) else ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _english(node.left) or _english(node.right)
    if isinstance(node, ast.Call) and _name(node.func) == "format" and isinstance(node.func, ast.Attribute):
        return _english(node.func.value)
    if isinstance(node, ast.IfExp):
        return _english(node.body) or _english(node.orelse)
    return ""


def python_problems(source, filename="<source>"):
    """Literal English handed to people, not passed through gettext."""
    problems = []
    tree = ast.parse(source, filename)
    # marshmallow's messages are English: where a ValidationError is caught, its messages
    # reach people only through helpdesk.i18n.translate_errors (or helpdesk.schemas.field_messages,
    # which calls it).
    translated = {id(n) for call in ast.walk(tree) if isinstance(call, ast.Call)
                  and _name(call.func) in ("translate_errors", "field_messages")
                  for arg in call.args for n in ast.walk(arg)}
    for handler in ast.walk(tree):
        if isinstance(handler, ast.ExceptHandler) and handler.name and "ValidationError" in ast.dump(handler.type or ast.Pass()):
            for n in (n for stmt in handler.body for n in ast.walk(stmt)):
                if (isinstance(n, ast.Attribute) and n.attr == "messages" and isinstance(n.value, ast.Name)
                        and n.value.id == handler.name and id(n) not in translated):
                    problems.append((n.lineno, f"{handler.name}.messages untranslated"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        # A validator's own message (validate.Regexp(..., error="...")) is shown in a 422.
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == "validate":
            for kw in node.keywords:
                if kw.arg == "error" and _english(kw.value):
                    problems.append((node.lineno, f"validate.{name}(error={_english(kw.value)!r})"))
        if name in _TRANSLATORS:
            continue
        if name in _MESSAGE_CALLS and len(node.args) > _MESSAGE_CALLS[name]:
            first = node.args[_MESSAGE_CALLS[name]]
            plain = isinstance(first, ast.Constant)
            text = _english(first)
            if text and not (name in _EXTRACTED and plain):
                problems.append((node.lineno, f"{name}({text!r})"))
        if name == "abort":
            for kw in node.keywords:
                if kw.arg == "description" and _english(kw.value):
                    problems.append((node.lineno, f"abort(description={_english(kw.value)!r})"))
        if name == "jsonify":
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    for key, value in zip(arg.keys, arg.values):
                        if isinstance(key, ast.Constant) and key.value in _MESSAGE_KEYS and _english(value):
                            problems.append((node.lineno, f"jsonify({key.value}={_english(value)!r})"))
    return problems


def _python_files():
    for package in ("helpdesk", "inbox", "widgets", "connectors", "workers"):
        yield from sorted(glob.glob(os.path.join(ROOT, package, "**", "*.py"), recursive=True))


def test_python_hands_people_no_english_outside_gettext():
    problems = []
    for path in _python_files():
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as fh:
            for line, text in python_problems(fh.read(), rel):
                if (rel, text) not in ALLOWED_PY:
                    problems.append(f"{rel}:{line}: {text}")
    assert not problems, f"{len(problems)} found:\n" + "\n".join(problems)


def test_the_python_scanner_catches_english():
    source = '''
raise NotFound("No such ticket.")              # a msgid: extracted, translated when shown
raise Forbidden(f"Not yours: {x}")             # formatted: no catalog holds it
return error("Malformed request.")
return error(_("Malformed request."))
flash("Saved.")
return jsonify({"message": "Some fields are not valid.", "status": 422})
return jsonify({"message": _("Fine."), "status": 422})
raise ValidationError("Nothing to update.", "_schema")
abort(400, description="Bad dates.")
handler = handler_factory(NS, _agent, "Sign in again.")
shortcut = fields.Str(validate=validate.Regexp(r"^[a-z]+$", error="Letters only."))
code = fields.Str(validate=validate.Regexp(r"^[a-z]+$", error=N_("Letters only.")))
try:
    schema.load(data)
except ValidationError as exc:
    return jsonify({"errors": exc.messages})
except ValidationError as exc:
    return jsonify({"errors": translate_errors(exc.messages)})
'''
    found = sorted(text for _line, text in python_problems(source))
    assert found == sorted(["Forbidden(\"f'Not yours: '\")", "error('Malformed request.')", "flash('Saved.')",
                     "jsonify(message='Some fields are not valid.')", "ValidationError('Nothing to update.')",
                     "abort(description='Bad dates.')", "handler_factory('Sign in again.')",
                     "validate.Regexp(error='Letters only.')", "exc.messages untranslated"])
