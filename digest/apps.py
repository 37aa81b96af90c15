from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        # What a reader sees of their digests on subscriptions' pages (digest builds on
        # subscriptions, never the other way round).
        from digest.reader import pages
        from subscriptions import extensions

        extensions.add_to_page(extensions.SIGNUP_PAGE, pages.signup_context)
        extensions.add_to_page(extensions.MANAGE_PAGE, pages.manage_context)
