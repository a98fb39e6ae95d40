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
