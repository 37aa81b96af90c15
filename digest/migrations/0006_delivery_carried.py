# What each email carried moves from DeliveryItem rows (about 13 per delivery) onto the Delivery
# row itself (digest/carried.py): the field is added, every delivery's items are copied into it
# in their order, then the item table is dropped.

from itertools import groupby

from django.db import migrations, models

BATCH = 2000
# digest.carried's format as of this migration, written out: a migration keeps its own copy.
SCORE_PLACES = 4
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def distinct(values):
    index = {}
    for value in values:
        index.setdefault(value, len(index))
    return list(index), "".join(DIGITS[index[value]] for value in values)


def expanded(values, of):
    return [values[DIGITS.index(digit)] for digit in of]


def items_to_carried(apps, schema_editor):
    Delivery = apps.get_model("digest", "Delivery")
    DeliveryItem = apps.get_model("digest", "DeliveryItem")
    ids = list(DeliveryItem.objects.order_by("delivery_id").values_list("delivery_id", flat=True).distinct())
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = (
            DeliveryItem.objects.filter(delivery_id__in=batch)
            .order_by("delivery_id", "position")
            .values_list("delivery_id", "paper_id", "score", "matched_interest", "why")
        )
        updated = []
        for delivery_id, items in groupby(rows, key=lambda row: row[0]):
            items = list(items)
            whys, why_of = distinct([i[4] for i in items])
            interests, interest_of = distinct([i[3] for i in items])
            carried = {
                "papers": [i[1] for i in items],
                "scores": [round(i[2], SCORE_PLACES) if i[2] else 0 for i in items],
                "whys": whys,
                "why_of": why_of,
                "interests": interests,
                "interest_of": interest_of,
            }
            updated.append(Delivery(pk=delivery_id, carried=carried))
        Delivery.objects.bulk_update(updated, ["carried"])


def carried_to_items(apps, schema_editor):
    Delivery = apps.get_model("digest", "Delivery")
    DeliveryItem = apps.get_model("digest", "DeliveryItem")
    items = []
    for delivery_id, carried in Delivery.objects.exclude(carried={}).values_list("pk", "carried").iterator():
        papers, scores = carried.get("papers", []), carried.get("scores", [])
        if "whys" in carried:
            interests = expanded(carried["interests"], carried["interest_of"])
            whys = expanded(carried["whys"], carried["why_of"])
        else:  # compacted: how many were matched is all that is left of the interests
            interests = ["(not kept)" if n < carried.get("matched", 0) else "" for n in range(len(papers))]
            whys = [""] * len(papers)
        for position, row in enumerate(zip(papers, scores, interests, whys, strict=True)):
            paper_id, score, interest, why = row
            items.append(
                DeliveryItem(
                    delivery_id=delivery_id,
                    paper_id=paper_id,
                    position=position,
                    score=score,
                    matched_interest=interest,
                    why=why,
                )
            )
        if len(items) >= BATCH:
            DeliveryItem.objects.bulk_create(items)
            items = []
    DeliveryItem.objects.bulk_create(items)


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0005_bounces"),
        ("subscriptions", "0008_status_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="carried",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The email's papers in order, with scores and why-lines (digest/carried.py)",
            ),
        ),
        migrations.RunPython(items_to_carried, carried_to_items),
        migrations.RemoveField(model_name="delivery", name="papers"),
        migrations.DeleteModel(name="DeliveryItem"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("carried__has_key", "whys")),
                fields=["edition_date"],
                name="delivery_detail_kept_idx",
            ),
        ),
    ]
