import re
import unicodedata

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from blog.models import Insight

from .models import Comment

CONTROL_CHARACTERS_MESSAGE = "Null characters are not allowed."
# The other C0 controls and DEL (Django's CharField already refuses NUL with this message);
# a comment body may still hold line breaks and tabs.
_CONTROL = re.compile(r"[\x01-\x1f\x7f]")
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bidi overrides, isolates and marks, zero-width characters and the BOM: in a name they
# can reverse or hide the text around it, or make it pass for someone else's.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def refuse_control_characters(value):
    if _CONTROL.search(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="null_characters_not_allowed")


def refuse_control_characters_except_whitespace(value):
    if _CONTROL_EXCEPT_WHITESPACE.search(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="null_characters_not_allowed")


class CommentForm(forms.ModelForm):
    """A reader's comment or reply; only these fields are ever taken from the POST."""

    author_url = forms.URLField(
        label="Website",
        max_length=200,
        required=False,
        assume_scheme="https",
        help_text="Optional. Your name will link to it.",
    )

    class Meta:
        model = Comment
        fields = ["author_name", "author_email", "author_url", "body", "parent", "insight"]
        widgets = {
            "parent": forms.HiddenInput,
            "insight": forms.HiddenInput,
            "body": forms.Textarea(attrs={"rows": 8}),
        }
        help_texts = {
            "author_email": "Required, never shown.",
            "body": "Plain text. *Emphasis*, [links](https://example.org), lists, "
            "> quotes and `code` work.",
        }
        error_messages = {
            "author_name": {"required": "Please enter your name."},
            "author_email": {
                "required": "Please enter your email address; it is never shown.",
                "invalid": "Enter a valid email address, such as name@example.org.",
            },
            "body": {"required": "Please write your comment."},
        }

    def __init__(self, *args, article, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.article = article
        self.fields["parent"].queryset = Comment.objects.approved().filter(article=article)
        self.fields["parent"].error_messages["invalid_choice"] = (
            "You can only reply to a published comment on this article."
        )
        self.fields["insight"].queryset = Insight.objects.filter(section__article=article)
        self.fields["insight"].error_messages["invalid_choice"] = (
            "That insight is not part of this article."
        )
        self.fields["author_url"].error_messages["invalid"] = (
            "Enter a web address starting with http:// or https://."
        )
        for name in ["author_name", "author_email", "author_url"]:
            self.fields[name].validators.append(refuse_control_characters)
        self.fields["body"].validators.append(refuse_control_characters_except_whitespace)
        self.fields["author_name"].widget.attrs["autocomplete"] = "name"
        self.fields["author_email"].widget.attrs["autocomplete"] = "email"
        self.fields["author_url"].widget.attrs["autocomplete"] = "url"

    def clean_author_name(self):
        name = _INVISIBLE.sub("", unicodedata.normalize("NFC", self.cleaned_data["author_name"]))
        name = name.strip()
        if not name:
            raise ValidationError("Please enter your name.", code="required")
        return name

    def clean_author_email(self):
        return unicodedata.normalize("NFC", self.cleaned_data["author_email"])

    def clean_author_url(self):
        return unicodedata.normalize("NFC", self.cleaned_data["author_url"])

    def clean_body(self):
        return unicodedata.normalize("NFC", self.cleaned_data["body"])

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        # COMMENTS_MAX_DEPTH counts levels: 3 allows a comment, a reply and a reply to that.
        if parent and parent.depth + 1 >= settings.COMMENTS_MAX_DEPTH:
            raise ValidationError(
                "This conversation is nested as deep as it can go; "
                "reply to an earlier comment instead.",
                code="too_deep",
            )
        return parent
