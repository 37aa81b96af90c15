"""Existing addresses in the form signup now stores (subscriptions/addresses.py): the domain
lower case and in IDNA form, surrounding spaces dropped, so the unique constraint sees one row
per mailbox. A row whose new form another row already has is left as it is (both stay; staff
can merge them), and so is an address the rules refuse (sending then fails it for good)."""

from django.db import migrations
from django.db.models.functions import Lower

from subscriptions import addresses


def store_in_one_form(apps, schema_editor) -> None:
    Subscriber = apps.get_model("subscriptions", "Subscriber")  # noqa: N806
    for pk, email in Subscriber.objects.values_list("pk", "email").iterator():
        stored = addresses.stored_form(email)
        if stored == email:
            continue
        taken = Subscriber.objects.annotate(lower=Lower("email")).filter(lower=stored.lower()).exclude(pk=pk)
        if not taken.exists():
            Subscriber.objects.filter(pk=pk).update(email=stored)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0006_signup_requests_and_address_changes")]

    operations = [migrations.RunPython(store_in_one_form, migrations.RunPython.noop)]
