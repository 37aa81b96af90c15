"""The signup form and the preference center's form: the same preferences, the signup adds an
address. Bad input is rejected here, next to its field, before anything is stored."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.db import transaction
from django.forms.models import construct_instance

from subscriptions import addresses, extensions
from subscriptions.interests import parse_interest_line
from subscriptions.models import DEFAULT_MAX_PAPERS, MAX_PAPERS, TRENDING_PAPERS, Interest, Subscriber, known_timezones

MAX_INTERESTS_PER_KIND = 20
MAX_TICKS = 25  # "papers like these?" shows about a dozen
MAX_INTEREST_LENGTH = 100
# Enough for MAX_INTERESTS_PER_KIND long lines; a 10,000-character paste is refused whole.
MAX_LIST_LENGTH = MAX_INTERESTS_PER_KIND * (MAX_INTEREST_LENGTH + 2)
# Markup has no place in a topic, and control characters (NUL above all) none in the database.
MARKUP = re.compile(r"[<>{}\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InterestListField(forms.CharField):
    """A textarea of interests, one per line (and, where `commas` is set, comma-separated too).
    Cleans to a list without blanks or case-insensitive repeats, in the order typed."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def __init__(self, *, noun: str, commas: bool, **kwargs) -> None:
        self.noun = noun
        self.commas = commas
        super().__init__(required=False, max_length=MAX_LIST_LENGTH, strip=True, **kwargs)

    def to_python(self, value: str | None) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        pieces = re.split(r"[\n,]" if self.commas else r"\n", text)
        seen: dict[str, str] = {}
        for piece in pieces:
            item = " ".join(piece.split())
            if item and item.casefold() not in seen:
                seen[item.casefold()] = item
        return list(seen.values())

    def run_validators(self, value: list[str]) -> None:
        # The max_length check applies to the raw text, done in validate below.
        pass

    def validate(self, value: list[str]) -> None:
        if len(value) > MAX_INTERESTS_PER_KIND:
            raise forms.ValidationError(
                f"Please keep to {MAX_INTERESTS_PER_KIND} {self.noun}s at most (you gave {len(value)})."
            )
        for item in value:
            if len(item) > MAX_INTEREST_LENGTH:
                raise forms.ValidationError(
                    f"Each {self.noun} can be at most {MAX_INTEREST_LENGTH} characters; “{item[:40]}…” has {len(item)}."
                )
            if MARKUP.search(item):
                raise forms.ValidationError(
                    f"Please write each {self.noun} as plain words, without < > {{ }} or control characters."
                )

    def clean(self, value: str | None) -> list[str]:
        if value and len(value) > MAX_LIST_LENGTH:
            raise forms.ValidationError(
                f"That is {len(value):,} characters; please keep the list under {MAX_LIST_LENGTH:,}."
            )
        return super().clean(value)

    def prepare_value(self, value: list[str] | str | None) -> str:
        if isinstance(value, list):
            return "\n".join(value)
        return value or ""


class LikedPapersField(forms.MultipleChoiceField):
    """The ticks under "Papers like these?": arXiv ids among `tickable` (what the app offering
    papers could have shown lately), repeats dropped, at most MAX_TICKS."""

    default_error_messages = {
        "invalid_choice": "“%(value)s” is not one of the papers offered here. Nothing was saved: "
        "tick papers from the list below and send the form again.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, widget=forms.CheckboxSelectMultiple, **kwargs)
        self.tickable: frozenset[str] = frozenset()

    def to_python(self, value: object) -> list[str]:
        return list(dict.fromkeys(super().to_python(value)))  # a hand-made POST may repeat an id

    def valid_value(self, value: str) -> bool:
        return value in self.tickable

    def validate(self, value: list[str]) -> None:
        if len(value) > MAX_TICKS:
            raise forms.ValidationError(f"Please tick {MAX_TICKS} papers at most (you ticked {len(value)}).")
        super().validate(value)


class PreferencesForm(forms.ModelForm):
    """What a subscriber follows and when they hear from us."""

    topics = InterestListField(
        noun="topic",
        commas=True,
        label="Topics",
        help_text="One per line or separated by commas, e.g. “diffusion models”. Add papers you liked by "
        "arXiv id (“2509.01234”) and leave things out with “not: medical imaging”. "
        "Leave empty to get the day's most upvoted papers.",
    )
    categories = forms.MultipleChoiceField(
        required=False,
        label="arXiv categories",
        choices=[(code, f"{name} ({code})") for code, name in settings.PAPERBOY_CATEGORY_CHOICES],
        widget=forms.CheckboxSelectMultiple,
    )
    authors = InterestListField(
        noun="author",
        commas=False,
        label="Authors to follow",
        help_text="One name per line, as it appears on arXiv, e.g. “Yann LeCun”.",
    )

    liked_papers = LikedPapersField(label="Papers like these?")

    # Declared to give the model's check constraint a message next to the field. The cap keeps
    # the largest digest under Gmail's clipping size.
    max_papers = forms.IntegerField(
        min_value=1,
        max_value=MAX_PAPERS,
        initial=DEFAULT_MAX_PAPERS,
        label="Matched papers per email, at most",
        help_text=f"From 1 to {MAX_PAPERS}. Below them come up to {TRENDING_PAPERS} of the day's trending papers, "
        "labelled as not matched to you.",
    )

    class Meta:
        model = Subscriber
        fields = ["frequency", "weekly_day", "send_hour", "timezone", "max_papers"]
        labels = {
            "frequency": "How often",
            "weekly_day": "Day (weekly only)",
            "send_hour": "Send at (your local time)",
            "timezone": "Your time zone",
        }
        help_texts = {
            "weekly_day": "The weekly email comes on this day and covers the past seven days.",
            "send_hour": "",
            "timezone": "A city such as Berlin, or a name like Europe/Paris or America/New_York.",
        }
        widgets = {
            "frequency": forms.RadioSelect,
            "timezone": forms.TextInput(attrs={"list": "timezones", "autocomplete": "off", "spellcheck": "false"}),
        }

    INTEREST_FIELDS = {
        "categories": Interest.Kind.CATEGORY,
        "authors": Interest.Kind.AUTHOR,
    }
    # The topics box also takes seed papers and exclusions, written as subscriptions/interests.py
    # reads them, and shows them back the same way.
    TOPIC_BOX_KINDS = {
        Interest.Kind.TOPIC: "{}",
        Interest.Kind.PAPER: "arXiv:{}",
        Interest.Kind.EXCLUDE: "not: {}",
    }

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.is_bound:  # only a post is checked against what could have been offered
            self.fields["liked_papers"].tickable = extensions.paper_offer().tickable()
        if self.instance.pk and not self.is_bound:
            for name, kind in self.INTEREST_FIELDS.items():
                self.initial[name] = self.instance.interest_values(kind)
            self.initial["topics"] = [
                shown.format(value)
                for kind, shown in self.TOPIC_BOX_KINDS.items()
                for value in self.instance.interest_values(kind)
            ]

    def clean_topics(self) -> list[tuple[str, str]]:
        """(kind, value) for each line: a topic, a seed paper or an exclusion (interests.py)."""
        parsed, errors = [], []
        for line in self.cleaned_data["topics"]:
            try:
                parsed.append(parse_interest_line(line))
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return parsed

    def clean_timezone(self) -> str:
        """An IANA name, or a city that names exactly one zone ("Berlin" is Europe/Berlin)."""
        name = self.cleaned_data["timezone"].strip()
        if name in known_timezones():
            return name
        matches = zones_for_city(name)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise forms.ValidationError(f"“{name[:64]}” could be {' or '.join(matches)}: please pick one.")
        raise forms.ValidationError(f"“{name[:64]}” is not a time zone we know; use a name like Europe/Paris.")

    def full_clean(self) -> None:
        """After validation, the first invalid field gets autofocus: the reader lands on it,
        not on a banner far above it, with or without JavaScript."""
        super().full_clean()
        for name, field in self.fields.items():
            if name in self._errors:
                field.widget.attrs["autofocus"] = True
                break

    def topics_entered(self) -> list[str]:
        """The topics typed (valid ones, once posted) or saved: what "papers like these?" matches."""
        if self.is_bound:
            parsed = getattr(self, "cleaned_data", {}).get("topics") or []
            return [value for kind, value in parsed if kind == Interest.Kind.TOPIC]
        return self.instance.interest_values(Interest.Kind.TOPIC) if self.instance.pk else []

    def ticked(self) -> list[str]:
        """The arXiv ids ticked in the post, to show them ticked again when the form comes back."""
        return list(self["liked_papers"].value() or []) if self.is_bound else []

    def interests(self) -> dict[str, list[str]]:
        """Every kind's values (empty lists too, so a removed interest is deleted)."""
        values: dict[str, list[str]] = {kind: [] for kind in Interest.Kind.values}
        for name, kind in self.INTEREST_FIELDS.items():
            values[kind].extend(self.cleaned_data[name])
        for kind, value in self.cleaned_data["topics"]:  # "cat: cs.CL" or "author: …" typed there
            values[kind].append(value)
        # dict.fromkeys: a hand-made POST may repeat a checkbox value.
        return {kind: list(dict.fromkeys(found)) for kind, found in values.items()}

    def save(self, commit: bool = True) -> Subscriber:
        return self.apply_to(self.instance)

    def apply_to(self, subscriber: Subscriber, **fields: object) -> Subscriber:
        """Save these preferences (and `fields`) onto `subscriber` with its interests, together
        or not at all. Signup uses it for a row it finds only after the form is valid."""
        construct_instance(self, subscriber, fields=self._meta.fields)
        for name, value in fields.items():
            setattr(subscriber, name, value)
        with transaction.atomic():
            subscriber.save()
            subscriber.replace_interests(self.interests())
            extensions.paper_offer().keep(subscriber, self.cleaned_data["liked_papers"])
        self.instance = subscriber
        return subscriber

    def preferences(self) -> dict:
        """What the form asks for, as JSON, to apply later (Subscriber.apply_preferences): a
        signup for a known address takes effect only once that address confirms it."""
        return {
            "fields": {name: self.cleaned_data[name] for name in self._meta.fields},
            "interests": self.interests(),
            "liked_papers": self.cleaned_data["liked_papers"],
        }


class AddressField(forms.CharField):
    """An address as subscriptions/addresses.py accepts it, cleaned to its stored form."""

    widget = forms.EmailInput

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=addresses.MAX_LENGTH, strip=True, **kwargs)

    def clean(self, value: str | None) -> str:
        text = super().clean(value)  # required, and at most MAX_LENGTH, in Django's words
        try:
            return addresses.canonical(text)
        except addresses.UnsafeAddressError as error:
            raise forms.ValidationError(str(error)) from None


def zones_for_city(city: str) -> list[str]:
    """Zones whose full name or last part is `city`, ignoring case, spaces read as underscores."""
    wanted = "_".join(city.split()).lower()
    if not wanted:
        return []
    return sorted(
        zone for zone in known_timezones() if zone.lower() == wanted or zone.rsplit("/", 1)[-1].lower() == wanted
    )


class SignupForm(PreferencesForm):
    # Not a model field here on purpose: the model's unique check would tell a stranger that an
    # address is already subscribed. signup.sign_up handles a known address instead.
    email = AddressField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    field_order = ["email", "topics", "categories", "authors"]


class EmailForm(forms.Form):
    """One address: to resend a confirmation, or to move a subscription to."""

    email = AddressField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
