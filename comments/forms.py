import re
import unicodedata
from functools import partial

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from blog.models import Insight

from .models import Comment
from .spam import duplicate_message, find_duplicate, sign_timestamp, timestamp_problem

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


def refuse_invisible_characters(value):
    if _INVISIBLE.search(value):
        raise ValidationError(
            "A web address cannot contain invisible or direction-changing characters.",
            code="invisible_characters",
        )


def _too_long(what):
    return f"Please shorten {what} to %(limit_value)d characters (it has %(show_value)d)."


# The hidden field that only scripts fill in (comments/spam.py); a name they like to fill.
HONEYPOT_FIELD = "homepage"


class NormalisedMixin:
    """Normalise text to NFC before validation, so that length limits hold for what is stored."""

    def to_python(self, value):
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        return super().to_python(value)


class NormalisedCharField(NormalisedMixin, forms.CharField):
    pass


class NormalisedEmailField(NormalisedMixin, forms.EmailField):
    pass


class NormalisedURLField(NormalisedMixin, forms.URLField):
    pass


class CommentForm(forms.ModelForm):
    """A reader's comment or reply; only these fields are ever taken from the POST."""

    author_url = NormalisedURLField(
        label="Website",
        max_length=200,
        required=False,
        assume_scheme="https",
        help_text="Optional. Your name will link to it.",
        error_messages={"max_length": _too_long("the web address")},
    )
    homepage = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    # When the form was served, signed: see comments.spam.timestamp_problem.
    timestamp = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Comment
        fields = [
            "author_name",
            "author_email",
            "author_url",
            "body",
            "notify_on_publish",
            "notify_on_reply",
            "parent",
            "insight",
        ]
        field_classes = {
            "author_name": NormalisedCharField,
            "author_email": NormalisedEmailField,
            "body": NormalisedCharField,
        }
        widgets = {
            "parent": forms.HiddenInput,
            "insight": forms.HiddenInput,
            "body": forms.Textarea(attrs={"rows": 8}),
        }
        help_texts = {
            "author_email": "Required, never shown.",
            # The notices' fieldset explains them once (templates/comments/_form.html).
            "notify_on_publish": "",
            "notify_on_reply": "",
            "body": "Plain text. *Emphasis*, [links](https://example.org), lists, "
            "> quotes and `code` work.",
        }
        error_messages = {
            "author_name": {
                "required": "Please enter your name.",
                "max_length": _too_long("your name"),
            },
            "author_email": {
                "required": "Please enter your email address; it is never shown.",
                "invalid": "Enter a valid email address, such as name@example.org.",
                "max_length": _too_long("the email address"),
            },
            "body": {
                "required": "Please write your comment.",
                "max_length": _too_long("your comment"),
            },
        }

    def __init__(self, *args, article, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.article = article
        # Signed only when an unbound form is rendered; a bound one shows what was posted.
        self.fields["timestamp"].initial = partial(sign_timestamp, article.pk)
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
        self.fields["author_url"].validators.append(refuse_invisible_characters)
        self.fields["body"].validators.append(refuse_control_characters_except_whitespace)
        self.fields["author_name"].widget.attrs["autocomplete"] = "name"
        self.fields["author_email"].widget.attrs["autocomplete"] = "email"
        self.fields["author_url"].widget.attrs["autocomplete"] = "url"

    def visible_fields(self):
        """Return the fields a reader fills in; the template renders the honeypot on its own."""
        return [field for field in super().visible_fields() if field.name != HONEYPOT_FIELD]

    def has_filled_honeypot(self):
        """Return whether the field hidden from people was filled in, as only a script does."""
        return bool(str(self.data.get(self.add_prefix(HONEYPOT_FIELD), "")).strip())

    def clean_author_name(self):
        name = _INVISIBLE.sub("", self.cleaned_data["author_name"]).strip()
        if not name:
            raise ValidationError("Please enter your name.", code="required")
        return name

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

    def clean(self):
        cleaned_data = super().clean()
        article_id = self.instance.article.pk
        if problem := timestamp_problem(cleaned_data.get("timestamp") or "", article_id):
            # Shown again with a fresh timestamp, so that sending it again can succeed.
            self.data = self.data.copy()
            self.data[self.add_prefix("timestamp")] = sign_timestamp(article_id)
            raise ValidationError(problem, code="timestamp")
        email, body = cleaned_data.get("author_email"), cleaned_data.get("body")
        if email and body and (duplicate := find_duplicate(article_id, email, body)):
            raise ValidationError(duplicate_message(duplicate), code="duplicate")
        return cleaned_data


class CommentEditForm(forms.ModelForm):
    """The text of a pending comment, as its author edits it from their private page."""

    class Meta:
        model = Comment
        fields = ["body"]
        field_classes = {"body": NormalisedCharField}
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}
        error_messages = {
            "body": {
                "required": "Please write your comment.",
                "max_length": _too_long("your comment"),
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].validators.append(refuse_control_characters_except_whitespace)


class CommenterLinkRequestForm(forms.Form):
    """The address to mail a fresh private link to."""

    email = NormalisedEmailField(
        label="Your email address",
        max_length=254,
        validators=[refuse_control_characters],
        help_text="The one you commented with. The link goes to that address only.",
        error_messages={
            "required": "Please enter your email address.",
            "invalid": "Enter a valid email address, such as name@example.org.",
        },
    )
