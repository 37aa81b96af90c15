"""What subscribers get: the day's papers, the edition, and one delivery per subscriber."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models.functions import Now
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.text import Truncator

from digest.readable import readable
from subscriptions.models import Subscriber


class Edition(models.Model):
    """One day's papers. Created by ingest; the digest run sends the newest one."""

    date = models.DateField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ingested_at = models.DateTimeField(null=True, blank=True, help_text="When papers first arrived for this day")
    source_report = models.JSONField(default=dict, blank=True, help_text="Per source: papers read or the error")

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"Edition of {self.date:%Y-%m-%d}"

    def papers(self) -> models.QuerySet[Paper]:
        return Paper.objects.filter(edition_date=self.date)

    def source_summaries(self) -> list[str]:
        """One line per source for staff: "hf: 49 papers, 1 item skipped (item 3 (2605.01234):
        paper.upvotes: ...)", "arxiv:cs.CL: FAILED (...)"."""
        lines = []
        for name, report in sorted(self.source_report.items()):
            if "papers" in report:
                skipped = report.get("items_skipped", 0)
                line = f"{name}: {report['papers']} papers"
                if skipped:
                    line += f", {skipped} item{pluralize(skipped)} skipped"
                if report.get("problems"):
                    line += f" ({'; '.join(report['problems'][:3])}{'; …' * (len(report['problems']) > 3)})"
                lines.append(line)
            elif "error" in report:
                lines.append(f"{name}: FAILED ({report['error']})")
            else:
                lines.append(f"{name}: skipped ({report.get('skipped', '')})")
        return lines


class Paper(models.Model):
    arxiv_id = models.CharField(max_length=32, unique=True, help_text="Without version, e.g. 2509.01234")
    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    github_url = models.URLField(max_length=500, blank=True)
    project_url = models.URLField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="On arXiv")
    edition_date = models.DateField(db_index=True, help_text="The first day it was listed")
    sources = models.JSONField(default=list, blank=True, help_text="Which sources listed it: hf, arxiv")
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    # The paper's vector for matching (float32 bytes), computed once and kept; vector_kind names
    # the model that made it, so a change of model recomputes it (digest/matching/semantic.py).
    vector = models.BinaryField(null=True, blank=True, editable=False)
    vector_kind = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-edition_date", "-upvotes", "arxiv_id"]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {Truncator(self.title).chars(80)}"

    # What people are shown: LaTeX made readable, whitespace normalised (digest/readable.py).
    # The stored fields keep the source's text, which search and matching read.
    @property
    def display_title(self) -> str:
        return readable(self.title)

    @property
    def display_abstract(self) -> str:
        return readable(self.abstract)

    @property
    def display_summary(self) -> str:
        """The HF machine summary when there is one, else the abstract."""
        return readable(self.ai_summary or self.abstract)

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.arxiv_id}" if "hf" in self.sources else None


class DeliveryQuerySet(models.QuerySet):
    def sendable(self) -> DeliveryQuerySet:
        return self.filter(status__in=Delivery.SENDABLE)

    def stale_sending(self, older_than: dt.timedelta) -> DeliveryQuerySet:
        """Rows claimed longer ago than any send task may live: their worker is gone."""
        return self.filter(status=Delivery.Status.SENDING, claimed_at__lt=Now() - older_than)

    def lost(self, older_than: dt.timedelta) -> DeliveryQuerySet:
        """Sendable rows whose send task should have run long ago (the broker lost it)."""
        return self.sendable().filter(retry_at__lt=Now() - older_than)


class Delivery(models.Model):
    """One email to one subscriber for one edition; the row is what makes sending idempotent.

    pending -> sending -> sent, or -> failed_temporary (retried with backoff: a refusal for now
    until retry_until, an unknown outcome until PAPERBOY_MAX_ATTEMPTS) or -> failed_permanent;
    skipped if the subscriber left meanwhile. A row left in `sending` by a crash is reconciled
    by the rule in digest/deliver.py.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED_TEMPORARY = "failed_temporary", "Failed, will retry"
        FAILED_PERMANENT = "failed_permanent", "Failed for good"
        SKIPPED = "skipped", "Skipped"

    SENDABLE = (Status.PENDING, Status.FAILED_TEMPORARY)

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    edition_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField(
        max_length=255, unique=True, help_text="The email's Message-ID; the same on every attempt"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last took it to send")
    retry_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, help_text="When its next send task is due"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField(
        null=True, blank=True, help_text="Refusals for now (4xx) are retried until then, then it fails for good"
    )
    uncertain_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts whose outcome is unknown: each may have delivered a copy"
    )
    attempt_log = models.JSONField(
        default=list, blank=True, help_text="Each attempt's time, result and SMTP reply, oldest first"
    )
    carried = models.JSONField(
        default=dict,
        blank=True,
        help_text="The email's papers in order, with scores and why-lines (digest/carried.py)",
    )

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "edition_date"], name="delivery_once_per_edition"),
        ]
        indexes = [
            models.Index(
                fields=["edition_date", "status"],
                name="delivery_sendable_idx",
                condition=models.Q(status__in=["pending", "failed_temporary"]),
            ),
            models.Index(fields=["claimed_at"], name="delivery_sending_idx", condition=models.Q(status="sending")),
            # The plans still to compact (digest/carried.py): only the last days' rows are in it.
            models.Index(
                fields=["edition_date"], name="delivery_detail_kept_idx", condition=models.Q(carried__has_key="whys")
            ),
        ]
        ordering = ["-edition_date", "id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.subscriber} / {self.edition_date:%Y-%m-%d} ({self.status})"

    @property
    def copies_delivered(self) -> str:
        """What staff can truthfully say about how many copies arrived: "1", "0", or a range
        when attempts with an unknown outcome may each have delivered one ("1 or 2")."""
        least = 1 if self.status == self.Status.SENT else 0
        most = least + self.uncertain_attempts
        if most == least:
            return str(least)
        return f"{least} or {most}" if most == least + 1 else f"{least} to {most}"

    def carried_items(self) -> list:
        """The papers the email carried, in order (digest.carried.CarriedPaper); read with
        digest.carried.prefetch for many deliveries at once."""
        from digest import carried

        return carried.items_of(self)


class Rating(models.Model):
    """A subscriber's 👍 or 👎 on a paper, from the links in their email; a second vote replaces
    the first. digest/matching/feedback.py learns their taste from these."""

    class Vote(models.TextChoices):
        UP = "up", "👍"
        DOWN = "down", "👎"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="ratings")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="ratings")
    vote = models.CharField(max_length=4, choices=Vote.choices)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscriber", "paper"], name="rating_once_per_paper")]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.subscriber} {self.get_vote_display()} {self.paper.arxiv_id}"


class ReturnedMessage(models.Model):
    """A message that came back to the bounce address (digest/bounces/): a bounce, a complaint,
    an auto-reply or something else, as received, with what it changed. Kept whatever it is:
    what Paperboy cannot place (needs_review) waits for staff."""

    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce"
        REFUSED = "refused", "Refused (the message, not the address)"
        DELAYED = "delayed", "Delay warning"
        COMPLAINT = "complaint", "Complaint"
        AUTO_REPLY = "auto_reply", "Auto-reply or notice"
        UNKNOWN = "unknown", "Not recognised"

    class Source(models.TextChoices):
        IMAP = "imap", "Bounce mailbox"
        SMTP = "smtp", "SMTP endpoint"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="returned_messages"
    )
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="returned_messages"
    )
    recipient = models.CharField(max_length=254, blank=True, help_text="The address the report names")
    status = models.CharField(max_length=32, blank=True, help_text="Enhanced status code, e.g. 5.1.1")
    reason = models.TextField(blank=True, help_text="The diagnostic or feedback type it gives")
    outcome = models.CharField(max_length=300, blank=True, help_text="What Paperboy did about it")
    needs_review = models.BooleanField(default=False, help_text="Not recognised, or tied to no delivery of ours")
    sender = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    raw = models.BinaryField(help_text="The message as received (at most 1 MB)")
    fingerprint = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the message: read twice, acted on once"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at"], name="returned_review_idx", condition=models.Q(needs_review=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.received_at:%Y-%m-%d %H:%M} {self.recipient or self.sender}"

    @property
    def text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")
