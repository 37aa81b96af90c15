from django.apps import AppConfig
from django.conf import settings


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        # What a reader sees of their digests on subscriptions' pages (digest builds on
        # subscriptions, never the other way round).
        from digest.reader import liked_papers, pages
        from subscriptions import extensions

        extensions.add_to_page(extensions.SIGNUP_PAGE, pages.signup_context)
        extensions.add_to_page(extensions.MANAGE_PAGE, pages.manage_context)
        extensions.offer_papers_with(liked_papers.WeekOffer())

        if settings.PAPERBOY_WARM_UP:
            # A web process loads the sentence model before it serves (Procfile.dev, gunicorn
            # --preload): otherwise the first preference center a reader opens waits for it.
            from digest.matching import semantic

            semantic.status(load=True)
            semantic.encode(["warm up"])  # the first inference is slow too
